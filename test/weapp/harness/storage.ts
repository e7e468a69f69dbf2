/**
 * The mini-program's local storage, kept outside any one launch so a test can read it,
 * pre-fill it, make writes fail, and hand it to the next launch after a kill.
 * Values are stored as JSON, as WeChat does, so the app never shares objects with the test.
 */

/** WeChat's limits: 1 MB per key, 10 MB in all. */
export const STORAGE_KEY_LIMIT_BYTES = 1024 * 1024
export const STORAGE_TOTAL_LIMIT_BYTES = 10 * 1024 * 1024

export type StorageFailure = 'quota' | null

export interface StorageOptions {
  /** Total size allowed, in bytes of key + JSON value. Default 10 MB. */
  totalLimitBytes?: number
  /** Size allowed per key. Default 1 MB. */
  keyLimitBytes?: number
}

/** A storage write refused like WeChat refuses it; `code` is stable for tests. */
export class StorageQuotaError extends Error {
  readonly code = 'storage_quota'
  constructor(readonly api: string, readonly key: string) {
    super(`${api}:fail exceed storage max size 10MB (key "${key}")`)
    this.name = 'StorageQuotaError'
  }
}

export class WeappStorage {
  private readonly entries = new Map<string, string>()
  private readonly totalLimitBytes: number
  private readonly keyLimitBytes: number
  /** When 'quota', every write fails as if storage were full (a test switch). */
  failWrites: StorageFailure = null
  /** Writes attempted by the app (successful or not), newest last. */
  readonly writes: Array<{ key: string; ok: boolean }> = []

  constructor(options: StorageOptions = {}) {
    this.totalLimitBytes = options.totalLimitBytes ?? STORAGE_TOTAL_LIMIT_BYTES
    this.keyLimitBytes = options.keyLimitBytes ?? STORAGE_KEY_LIMIT_BYTES
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
    const refused = this.failWrites === 'quota'
      || entryBytes > this.keyLimitBytes
      || this.sizeBytes - oldBytes + entryBytes > this.totalLimitBytes
    this.writes.push({ key, ok: !refused })
    if (refused) throw new StorageQuotaError(api, key)
    this.entries.set(key, raw)
  }

  /** The app's read: the raw JSON, or undefined when absent. */
  read(key: string): string | undefined {
    return this.entries.get(key)
  }
}
