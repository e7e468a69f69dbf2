/**
 * The mini-program's local storage, kept outside any one launch so a test can read it,
 * pre-fill it, make writes fail, and hand it to the next launch after a kill.
 * Values are stored as JSON, as WeChat does, so the app never shares objects with the test.
 */

/** WeChat's limits: 1 MB per key, 10 MB in all. */
export const STORAGE_KEY_LIMIT_BYTES = 1024 * 1024
export const STORAGE_TOTAL_LIMIT_BYTES = 10 * 1024 * 1024
/** Alipay's limit per key: "单个 key 允许存储的最大数据长度为 200KB", on the value as a string (my.setStorageSync docs). */
export const ALIPAY_KEY_LIMIT_CHARS = 200 * 1024

export type StorageFailure = 'quota' | null

/** Which limit refused a write: per key, in all, or the test's `failWrites` switch. */
export type QuotaLimit = 'key' | 'total' | 'forced'

export interface StorageOptions {
  /** Total size allowed, in bytes of key + JSON value. Default 10 MB. */
  totalLimitBytes?: number
  /**
   * Size allowed per key. Default 1 MB of key + JSON value, in UTF-8 bytes (WeChat); with
   * `keyLimitCounts: 'value-chars'`, characters of the value as a string (Alipay).
   */
  keyLimitBytes?: number
  keyLimitCounts?: 'entry-bytes' | 'value-chars'
}

/** The storage each host gives a mini-program (ByteDance documents WeChat's API; its limits are taken as WeChat's). */
export function storageOptionsFor(host: 'weapp' | 'alipay' | 'tt'): StorageOptions {
  return host === 'alipay' ? { keyLimitBytes: ALIPAY_KEY_LIMIT_CHARS, keyLimitCounts: 'value-chars' } : {}
}

/** A storage write refused like WeChat refuses it; `code` is stable for tests. */
export class StorageQuotaError extends Error {
  readonly code = 'storage_quota'
  constructor(readonly api: string, readonly key: string, readonly limit: QuotaLimit = 'forced') {
    super(`${api}:fail exceed storage ${limit === 'key' ? 'item max length' : 'max size 10MB'} (key "${key}")`)
    this.name = 'StorageQuotaError'
  }
}

export class WeappStorage {
  private readonly entries = new Map<string, string>()
  private readonly totalLimitBytes: number
  private readonly keyLimitBytes: number
  private readonly keyLimitCounts: 'entry-bytes' | 'value-chars'
  /** When 'quota', every write fails as if storage were full (a test switch). */
  failWrites: StorageFailure = null
  /** Writes attempted by the app (successful or not), newest last. */
  readonly writes: Array<{ key: string; ok: boolean }> = []

  constructor(options: StorageOptions = {}) {
    this.totalLimitBytes = options.totalLimitBytes ?? STORAGE_TOTAL_LIMIT_BYTES
    this.keyLimitBytes = options.keyLimitBytes ?? STORAGE_KEY_LIMIT_BYTES
    this.keyLimitCounts = options.keyLimitCounts ?? 'entry-bytes'
  }

  /** The value stored under `key` (a fresh copy), or undefined. */
  get(key: string): unknown {
    const raw = this.entries.get(key)
    return raw === undefined ? undefined : JSON.parse(raw)
  }

  /** The raw JSON stored under `key`, or undefined. */
  getRaw(key: string): string | undefined {
    return this.entries.get(key)
  }

  /** Stores `value` (from the test side; no quota check, no write record). */
  set(key: string, value: unknown): void {
    this.entries.set(key, JSON.stringify(value === undefined ? '' : value))
  }

  remove(key: string): void {
    this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  keys(): string[] {
    return [...this.entries.keys()]
  }

  /** Bytes used: keys plus JSON values, counted as UTF-8. */
  get sizeBytes(): number {
    let size = 0
    for (const [key, raw] of this.entries) size += Buffer.byteLength(key) + Buffer.byteLength(raw)
    return size
  }

  /**
   * The app's write: throws StorageQuotaError when `failWrites` is set or a limit would be
   * passed, leaving the old value in place.
   */
  write(api: string, key: string, value: unknown): void {
    const raw = JSON.stringify(value === undefined ? '' : value)
    const entryBytes = Buffer.byteLength(key) + Buffer.byteLength(raw)
    const old = this.entries.get(key)
    const oldBytes = old === undefined ? 0 : Buffer.byteLength(key) + Buffer.byteLength(old)
    const keySize = this.keyLimitCounts === 'value-chars' ? (typeof value === 'string' ? value.length : raw.length) : entryBytes
    let refused: QuotaLimit | null = null
    if (this.failWrites === 'quota') refused = 'forced'
    else if (keySize > this.keyLimitBytes) refused = 'key'
    else if (this.sizeBytes - oldBytes + entryBytes > this.totalLimitBytes) refused = 'total'
    this.writes.push({ key, ok: refused === null })
    if (refused !== null) throw new StorageQuotaError(api, key, refused)
    this.entries.set(key, raw)
  }

  /** The app's read: the raw JSON, or undefined when absent. */
  read(key: string): string | undefined {
    return this.entries.get(key)
  }
}
