/**
 * Runs a compiled WeChat mini-program (`taro build --type weapp` output) in Node.
 * See README.md in this folder.
 */
export { launchWeapp, WeappHarness, SUSPEND_AFTER_HIDDEN_MS } from './harness'
export type { LaunchWeappOptions, AppState, AppError, LifecycleEntry, HarnessNetwork } from './harness'
export { WeappStorage, StorageQuotaError, STORAGE_KEY_LIMIT_BYTES, STORAGE_TOTAL_LIMIT_BYTES, ALIPAY_KEY_LIMIT_CHARS, storageOptionsFor } from './storage'
export { HOST_GLOBAL, type MiniHost } from './host-apis'
export { PageView, ElementNotFoundError } from './page-view'
export { WeappSocketTask } from './socket-task'
export type { CutMode, SocketPhase } from './socket-task'
export { SocketPool, MAX_SOCKETS } from './socket-pool'
export type { ConnectCall } from './socket-pool'
export { MAX_PAGE_STACK, NavigationError } from './page-stack'
export { waitFor, WaitTimeoutError } from './wait'
export type { NetworkType, NetworkStatus } from './network'
export type { DeviceProfile, LaunchOptions } from './wx-api'
