/**
 * The server's limits per address, per identity and in all (PROTOCOL.md: "Each identity,
 * address and server has limits"). Every table here is bounded: a flood of new addresses or
 * identities evicts the least recently used entries instead of growing memory.
 */

export interface ServerLimits {
  /** Open WebSocket connections in all. */
  maxConnections: number
  /** Open WebSocket connections from one address. */
  maxConnectionsPerAddress: number
  /** TCP connections from one address that have not become WebSockets yet (slow or idle upgrades). */
  maxPendingPerAddress: number
  /** Hellos one address may send per second (bursts up to twice that). */
  hellosPerSecondPerAddress: number
  /** Sessions one identity may hold; beyond, its least recently used idle session is dropped. */
  maxSessionsPerIdentity: number
  /** Sessions in all; beyond, the least recently used idle session is dropped. */
  maxSessions: number
  /** Requests one identity may make per second across all its connections (bursts up to twice that). */
  requestsPerSecondPerIdentity: number
  /** How long a TCP connection may take to send its upgrade request before it is cut (ms). */
  upgradeTimeoutMs: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 100,
  maxPendingPerAddress: 50,
  hellosPerSecondPerAddress: 20,
  maxSessionsPerIdentity: 50,
  maxSessions: 100_000,
  requestsPerSecondPerIdentity: 200,
  upgradeTimeoutMs: 10_000,
}

/** Most keys a rate table holds; the least recently used go first. */
const MAX_TRACKED_KEYS = 50_000

/** Token buckets per key: `ratePerSecond` refill, `ratePerSecond * 2` capacity. */
export class RateTable {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()

  constructor(private readonly ratePerSecond: number, private readonly maxKeys = MAX_TRACKED_KEYS) {}

  /** Takes one token for `key` at `nowMs`; false when its bucket is empty. */
  take(key: string, nowMs: number): boolean {
    const capacity = this.ratePerSecond * 2
    let bucket = this.buckets.get(key)
    if (bucket) {
      this.buckets.delete(key)
      bucket.tokens = Math.min(capacity, bucket.tokens + ((nowMs - bucket.atMs) * this.ratePerSecond) / 1000)
      bucket.atMs = nowMs
    } else {
      bucket = { tokens: capacity, atMs: nowMs }
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
    }
    // Re-inserted: the map's order is the least recently used first.
    this.buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  get size(): number {
    return this.buckets.size
  }
}

/** Counts per key that go back to zero (connections per address); zero counts take no memory. */
export class Counts {
  private readonly counts = new Map<string, number>()
  private sum = 0

  get total(): number {
    return this.sum
  }

  of(key: string): number {
    return this.counts.get(key) ?? 0
  }

  add(key: string): void {
    this.counts.set(key, this.of(key) + 1)
    this.sum += 1
  }

  remove(key: string): void {
    const left = this.of(key) - 1
    if (left < 0) return
    this.sum -= 1
    if (left === 0) this.counts.delete(key)
    else this.counts.set(key, left)
  }

  get keys(): number {
    return this.counts.size
  }
}
