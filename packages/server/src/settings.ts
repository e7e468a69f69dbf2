/** SocketServerOptions with their defaults filled in and checked, and the sweep periods they imply. */
import type { SocketServerOptions } from './server'
import {
  DEFAULT_ANSWER_TTL_MS,
  DEFAULT_SHUTDOWN_RETRY_MS,
  DEFAULT_ANSWERED_BYTES,
  DEFAULT_ANSWERED_LIMIT,
  DEFAULT_DATA_DIR,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PORT,
  DEFAULT_PUSH_LOG_BYTES,
  DEFAULT_PUSH_LOG_LIMIT,
  DEFAULT_RATE_LIMIT,
  DEFAULT_SESSION_TTL_MS,
  DEV_ADMIN_TOKEN,
  DEV_SOCKET_TOKEN,
  MAX_DEADLINE_SWEEP_MS,
  MAX_SWEEP_INTERVAL_MS,
  MIN_DEADLINE_SWEEP_MS,
} from './constants'
import type { Authenticate } from './auth'
import type { MethodEntry } from './dispatcher'
import { DEFAULT_LIMITS, type ServerLimits } from './limits'
import type { RateLimit } from './rate-limiter'

/** Every option, resolved. */
export type Settings = Required<Omit<SocketServerOptions, 'dataDir' | 'methods' | 'rateLimit' | 'authSecret' | 'authenticate' | 'limits' | 'redisUrl' | 'seed' | 'server'>> & {
  dataDir: string | null
  server: NonNullable<SocketServerOptions['server']> | null
  seed: SocketServerOptions['seed'] | null
  redisUrl: string | null
  methods: ReadonlyArray<[string, MethodEntry]>
  rateLimit: RateLimit
  authSecret: string | null
  authenticate: Authenticate | null
  limits: ServerLimits
}

/** Fills in the defaults and validates the numbers; throws RangeError naming a bad option. */
export function resolveSettings(options: SocketServerOptions): Settings {
  const settings: Settings = {
    host: options.host ?? DEFAULT_HOST,
    port: options.port ?? DEFAULT_PORT,
    token: options.token ?? DEV_SOCKET_TOKEN,
    authSecret: options.authSecret ?? null,
    authenticate: options.authenticate ?? null,
    devLogin: options.devLogin ?? false,
    answerTtlMs: options.answerTtlMs ?? DEFAULT_ANSWER_TTL_MS,
    shutdownRetryMs: options.shutdownRetryMs ?? DEFAULT_SHUTDOWN_RETRY_MS,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    adminToken: options.adminToken ?? DEV_ADMIN_TOKEN,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    dataDir: options.dataDir === undefined ? DEFAULT_DATA_DIR : options.dataDir,
    redisUrl: options.redisUrl ?? null,
    redisPrefix: options.redisPrefix ?? 'rs:',
    trustedProxies: options.trustedProxies ?? [],
    helloTimeoutMs: options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
    sessionTtlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    pushLogLimit: options.pushLogLimit ?? DEFAULT_PUSH_LOG_LIMIT,
    pushLogBytes: options.pushLogBytes ?? DEFAULT_PUSH_LOG_BYTES,
    answeredLimit: options.answeredLimit ?? DEFAULT_ANSWERED_LIMIT,
    answeredBytes: options.answeredBytes ?? DEFAULT_ANSWERED_BYTES,
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...options.rateLimit },
    beforePush: options.beforePush ?? ((_topic, data) => ({ data, writes: [] })),
    seed: options.seed ?? null,
    server: options.server ?? null,
    log: options.log ?? (() => undefined),
    methods: methodEntries(options.methods),
  }
  const positive: Array<[string, number]> = [
    ['heartbeatMs', settings.heartbeatMs],
    ['helloTimeoutMs', settings.helloTimeoutMs],
    ['sessionTtlMs', settings.sessionTtlMs],
    ['maxFrameBytes', settings.maxFrameBytes],
    ['pushLogLimit', settings.pushLogLimit],
    ['pushLogBytes', settings.pushLogBytes],
    ['answeredLimit', settings.answeredLimit],
    ['answeredBytes', settings.answeredBytes],
    ['answerTtlMs', settings.answerTtlMs],
    ...Object.entries(settings.limits).map(([name, value]): [string, number] => [`limits.${name}`, value]),
    ['rateLimit.frames', settings.rateLimit.frames],
    ['rateLimit.bytes', settings.rateLimit.bytes],
    ['rateLimit.perMs', settings.rateLimit.perMs],
  ]
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  }
  if (!Number.isSafeInteger(settings.port) || settings.port < 0 || settings.port > 65535) {
    throw new RangeError(`port must be 0..65535, got ${settings.port}`)
  }
  return settings
}

function methodEntries(methods: SocketServerOptions['methods']): ReadonlyArray<[string, MethodEntry]> {
  if (!methods) return []
  return methods instanceof Map ? [...methods] : Object.entries(methods)
}

/** How often hello and idle deadlines are checked: a quarter of the shorter one, within 10 ms..1 s. */
export function deadlineSweepMs(settings: Settings): number {
  const quarter = Math.floor(Math.min(settings.helloTimeoutMs, settings.heartbeatMs) / 4)
  return Math.max(MIN_DEADLINE_SWEEP_MS, Math.min(MAX_DEADLINE_SWEEP_MS, quarter))
}

/** How often expired sessions are swept: a quarter of the TTL, within 10 ms..30 s. */
export function expirySweepMs(settings: Settings): number {
  return Math.max(MIN_DEADLINE_SWEEP_MS, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(settings.sessionTtlMs / 4)))
}
