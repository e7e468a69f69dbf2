/**
 * The only things the engine needs from its host: Taro on weapp, Alipay, ByteDance and H5
 * (taro/platform.ts), the `ws` package in Node (test/helpers/ws-platform.ts).
 */

/** A WeChat / Taro SocketTask, or anything shaped like one. */
export interface SocketTaskLike {
  /** WeChat documents none; Taro's H5 task has one. The engine reads it only as a hint. */
  readonly readyState?: number
  send(options: { data: string; success?: () => void; fail?: (err: { errMsg?: string }) => void }): void
  close(options: { code?: number; reason?: string; success?: () => void; fail?: (err: unknown) => void }): void
  onOpen(listener: () => void): void
  /** ByteDance reports `code` as a string: the engine reads either (close-codes.ts, closeCodeOf). */
  onClose(listener: (res: { code: number | string; reason: string }) => void): void
  onError(listener: (err: { errMsg?: string }) => void): void
  onMessage(listener: (res: { data: string | ArrayBuffer }) => void): void
}

/** The engine's host: sockets, key-value storage and network signals. */
export interface SocketPlatform {
  /** Starts a socket; resolves with its task as soon as one exists (it may still be connecting). */
  connectSocket(options: { url: string }): Promise<SocketTaskLike>
  /** The stored value, or null when absent. May throw: reported, not fatal. */
  getStorage(key: string): string | null
  /** May throw (quota): reported, not fatal. */
  setStorage(key: string, value: string): void
  removeStorage(key: string): void
  /**
   * Most bytes one stored value may hold, when the host allows less than the engine's
   * `storageSegmentBytes` (Alipay: 200 KB a key). The outbox is stored in segments of at most this.
   */
  readonly storageValueLimitBytes?: number
  /** Whether the host believes it has a network right now. */
  getNetworkConnected(): Promise<boolean>
  /** Calls `listener` on every network change; returns the function that stops it. */
  onNetworkChange(listener: (connected: boolean) => void): () => void
  /**
   * Cryptographically random bytes, when the host has a synchronous source (`crypto.getRandomValues`
   * in browsers); absent or null otherwise. Request-id prefixes use it; without it, Math.random.
   */
  randomBytes?(length: number): Uint8Array | null
}
