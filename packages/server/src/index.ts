// The wire protocol v1 as a Node library: createSocketServer with your authenticate function,
// your methods (each safe or effectful) and a store (SQLite file, in memory, or Redis).
export { createSocketServer, type SocketServer, type SocketServerOptions } from './server'
export type { MethodContext, MethodEntry, MethodHandler, PushAddress } from './dispatcher'
export { AuthRefused, jwtAuth, signToken, staticTokenAuth, type Authenticate } from './auth'
export type { ServerLimits } from './limits'
export { CodedError } from './errors'
export type { DataWrite, RecordPage, RecordReader, StoredRecord } from './store/types'
export { DEFAULT_PORT, DEFAULT_RATE_LIMIT, DEV_ADMIN_TOKEN, DEV_SOCKET_TOKEN, WS_PATH } from './constants'
