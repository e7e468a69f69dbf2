// The connection engine: plain TypeScript, no React, no Taro.
export { createSocketEngine, type SocketEngine } from './engine'
export { ENGINE_DEFAULTS, CLOSE_CODES, READY_STATE, DEFAULT_STORAGE_KEY_PREFIX, type EngineTunables } from './constants'
export { SocketError, type SocketErrorCode, type EngineErrorCode } from './errors'
export type { SocketPlatform, SocketTaskLike } from './platform'
export type {
  EngineOptions, OutboxEntry, PushMessage, ReadyState, ResponseMessage, SocketCounters, SocketState, SocketStatus,
} from './types'
export { storageKeys } from './persistence'
export { utf8ByteLength } from './protocol'

// ---- React layer and Taro adapter (use-socket.ts, page-handler.ts, taro-platform.ts) ----
export { useSocket, useSocketState, pageRouterOf, type UseSocketResult } from './use-socket'
export { PageHandlerRouter, type PageMessage, type PageMessageHandler } from './page-handler'
export { getAppSocket, setAppSocket, appSocketOptions } from './app-socket'
export { createTaroPlatform } from './taro-platform'
