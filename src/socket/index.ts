// The connection engine (core/: plain TypeScript, no React, no Taro), plain mode, the Taro
// adapter and the React hooks.
export { createSocketEngine } from './core/engine'
export type { SocketEngine } from './core/socket-engine'
export { ENGINE_DEFAULTS, CLOSE_CODES, READY_STATE, DEFAULT_STORAGE_KEY_PREFIX, type EngineTunables } from './core/constants'
export { SocketError, type SocketErrorCode, type EngineErrorCode } from './core/errors'
export type { SocketPlatform, SocketTaskLike } from './core/platform'
export type {
  EngineOptions, ErrorSummary, OutboxEntry, PushMessage, ReadyState, RequestOptions, ResponseMessage, SocketCounters, SocketEvents,
  SocketState, SocketStatus,
} from './core/types'
export { storageKeys } from './core/persistence'
export { utf8ByteLength } from './core/protocol'

export { createPlainEngine, type PlainEngineOptions, type PlainKeepalive } from './plain/engine'
export type { PlainMapping } from './plain/mapping'

export { createTaroPlatform } from './taro/platform'
export { getAppSocket, setAppSocket, appSocketOptions } from './taro/app-socket'
export { useSocket, useSocketState, pageRouterOf, type UseSocketResult } from './react/use-socket'
export { PageRouter, type PageMessage, type PageMessageHandler } from './react/page-router'
