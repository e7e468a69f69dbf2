/** Messages between bench/server-main.ts and its two children (server target, client load). */

/**
 * `bare-ws` answers hello with a fixed welcome and nothing else: the floor of any ws server.
 * `cluster` is the reference server in cluster mode, one instance of several on one Redis (its
 * target takes the REDIS_URL and REDIS_PREFIX as arguments); clients speak to it as to `reference`.
 */
export type ServerKind = 'reference' | 'socketio' | 'bare-ws' | 'cluster'

export type TargetCommand = { type: 'memory' } | { type: 'cpu' } | { type: 'fanout'; count: number } | { type: 'stop' }
export type TargetReply =
  | { type: 'ready'; port: number }
  | { type: 'memory'; rss: number; heapUsed: number; external: number }
  /** CPU time the process used so far (user + system), in ms. */
  | { type: 'cpu'; ms: number }
  /** `ms` until every frame was handed to the kernel (server-side fan-out time). */
  | { type: 'fanout-written'; ms: number }
  | { type: 'stopped' }

export type LoadCommand =
  /** New clients go to `ports` round-robin, continuing from the clients already open. */
  | { type: 'connect'; kind: ServerKind; ports: number[]; count: number }
  | { type: 'expect-fanout'; count: number }
  | { type: 'round-trips'; durationMs: number }
  /** Every open client sends one request at once and waits for its answer. */
  | { type: 'request-once' }
  | { type: 'close' }
export type LoadReply =
  | { type: 'connected'; open: number; failed: number; ms: number }
  | { type: 'fanout-armed' }
  | { type: 'fanout-done'; received: number; errors: number }
  | { type: 'round-trips-done'; completed: number; errors: number; p50Ms: number; p99Ms: number; cpuMs: number }
  /** `errors` counts every client error so far (failed answers, drops, error frames). */
  | { type: 'requested'; clients: number; errors: number; ms: number }
  | { type: 'closed'; errors: number }

export const FANOUT_TOPIC = 'notify'

/** The payload of every fan-out message: an order like the demo's, about 150 bytes of JSON. */
export function fanoutPayload(n: number): { order: Record<string, unknown> } {
  return {
    order: { id: `bench-${n}`, title: '机动车年检代办', amount: '120.00', kind: 'jdc', status: 'new', createdAt: 1_700_000_000_000 + n },
  }
}
