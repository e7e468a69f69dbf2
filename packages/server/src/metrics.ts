/**
 * Prometheus metrics (prom-client), in a Registry of their own per server instance so several
 * servers in one process (tests) never share or clash.
 */
import { Counter, Gauge, Registry } from 'prom-client'

export interface MetricSources {
  /** Open WebSocket connections (before and after hello). */
  connections(): number
  /** Sessions held, connected or not. */
  sessions(): number
}

export interface ServerMetrics {
  readonly registry: Registry
  readonly hellos: Counter<'resumed'>
  readonly requests: Counter<'method' | 'outcome'>
  readonly pushes: Counter
  readonly replays: Counter
  readonly dedupeHits: Counter
  readonly closes: Counter<'code'>
  readonly badFrames: Counter
  readonly limited: Counter<'limit'>
}

/** Creates the metrics; gauges read `sources` when scraped. */
export function createMetrics(sources: MetricSources): ServerMetrics {
  const registry = new Registry()
  const registers = [registry]
  new Gauge({
    name: 'ws_connections',
    help: 'Open WebSocket connections',
    registers,
    collect() {
      this.set(sources.connections())
    },
  })
  new Gauge({
    name: 'ws_sessions',
    help: 'Sessions held, connected or not',
    registers,
    collect() {
      this.set(sources.sessions())
    },
  })
  return {
    registry,
    hellos: new Counter({
      name: 'ws_hellos_total',
      help: 'Hellos answered, by whether the session was resumed',
      labelNames: ['resumed'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'ws_requests_total',
      help: 'Requests answered by running a method (outcome ok, error, unknown_method or internal); dedupe hits are counted apart',
      labelNames: ['method', 'outcome'] as const,
      registers,
    }),
    pushes: new Counter({ name: 'ws_pushes_total', help: 'Pushes appended to session logs (one per session reached)', registers }),
    replays: new Counter({ name: 'ws_replayed_pushes_total', help: 'Pushes re-sent on resume', registers }),
    dedupeHits: new Counter({ name: 'ws_dedupe_hits_total', help: 'Repeated request ids answered from memory without running the method', registers }),
    closes: new Counter({ name: 'ws_closes_total', help: 'Closed connections by close code', labelNames: ['code'] as const, registers }),
    badFrames: new Counter({ name: 'ws_bad_frames_total', help: 'Malformed client frames (answered with bad_request and 4400)', registers }),
    limited: new Counter({
      name: 'ws_limited_total',
      help: 'Refusals by a limit: connections, connections_per_address, pending_per_address, hellos_per_address, sessions_per_identity, requests_per_identity, frames_per_connection',
      labelNames: ['limit'] as const,
      registers,
    }),
  }
}
