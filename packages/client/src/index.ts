// The engine alone: plain TypeScript over a SocketPlatform, no React, no Taro.
// Entry points: 'taro-reliable-socket' (this), '/taro' (the Taro platform), '/react' (hooks), '/plain'.
export { createSocketEngine } from './core/engine'
export type { SocketEngine, AnySocketEngine } from './core/socket-engine'
export type { SocketApi, UntypedApi, MethodOf, TopicOf, ParamsOf, ResultOf, DataOf, TypedPush, RequestFn, SendFn, SubscribeFn } from './core/api'
export { ENGINE_DEFAULTS, CLOSE_CODES, READY_STATE, DEFAULT_STORAGE_KEY_PREFIX, type EngineTunables } from './core/constants'
export { SocketError, type SocketErrorCode, type EngineErrorCode } from './core/errors'
export type { SocketPlatform, SocketTaskLike } from './core/platform'
export type {
  EngineOptions, ErrorSummary, OutboxEntry, PushMessage, ReadyState, RequestOptions, ResponseMessage, SocketCounters, SocketEvents,
  SocketState, SocketStatus,
} from './core/types'
export { storageKeys } from './core/persistence'
export { utf8ByteLength } from './core/protocol'
