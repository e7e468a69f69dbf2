/**
 * Settings from the environment (PROTOCOL.md "The reference server's surface"):
 * HOST, PORT, SOCKET_TOKEN or AUTH_SECRET (signed tokens), ADMIN_TOKEN, DATA_DIR (":memory:" for no file), HEARTBEAT_MS,
 * SIMULATE_ORDERS_MS (0 = off), and the tuning knobs HELLO_TIMEOUT_MS, SESSION_TTL_MS,
 * MAX_FRAME_BYTES, PUSH_LOG_LIMIT, PUSH_LOG_BYTES, ANSWERED_LIMIT, ANSWERED_BYTES, RATE_LIMIT_FRAMES,
 * RATE_LIMIT_BYTES, RATE_LIMIT_PER_MS,
 * SEED_ORDERS ("false" or "0" to skip the sample orders), REDIS_URL (cluster mode), REDIS_PREFIX and TRUSTED_PROXIES
 * (comma-separated addresses of load balancers whose X-Forwarded-For is believed).
 * An empty variable counts as unset.
 */
import type { ReferenceServerOptions } from './app'
import { DEFAULT_RATE_LIMIT, DEV_ADMIN_TOKEN, DEV_SOCKET_TOKEN } from 'reliable-socket-server'
import { CodedError } from 'reliable-socket-server'

export interface LoadedConfig {
  /** Options for startReferenceServer (without `log`). */
  options: ReferenceServerOptions
  /** Things the operator should hear about (development tokens in use). */
  warnings: string[]
}

type Env = Record<string, string | undefined>

/**
 * Reads the settings. Throws CodedError `invalid_setting` for a malformed number, and
 * `missing_secret` when NODE_ENV=production and ADMIN_TOKEN is unset, or neither AUTH_SECRET
 * nor SOCKET_TOKEN is.
 */
export function loadConfig(env: Env): LoadedConfig {
  const warnings: string[] = []
  const production = env.NODE_ENV === 'production'
  const secret = (name: string, devValue: string): string => {
    const value = read(env, name)
    if (value !== undefined) return value
    if (production) throw new CodedError('missing_secret', `${name} must be set when NODE_ENV=production`)
    warnings.push(`${name} is not set: using the development value "${devValue}"`)
    return devValue
  }
  const authSecret = read(env, 'AUTH_SECRET')
  if (authSecret !== undefined && authSecret.length < 32) {
    throw new CodedError('invalid_setting', 'AUTH_SECRET must be at least 32 characters (an HS256 key)')
  }
  const options: ReferenceServerOptions = {
    host: read(env, 'HOST'),
    port: integer(env, 'PORT', 0, 65535),
    // With signed tokens, the shared development token is not accepted at all.
    token: authSecret === undefined ? secret('SOCKET_TOKEN', DEV_SOCKET_TOKEN) : undefined,
    authSecret,
    redisUrl: read(env, 'REDIS_URL'),
    redisPrefix: read(env, 'REDIS_PREFIX'),
    trustedProxies: read(env, 'TRUSTED_PROXIES')?.split(',').map((address) => address.trim()).filter((address) => address !== ''),
    devLogin: authSecret !== undefined && !production ? true : undefined,
    answerTtlMs: integer(env, 'ANSWER_TTL_MS', 1),
    shutdownRetryMs: integer(env, 'SHUTDOWN_RETRY_MS', 0),
    adminToken: secret('ADMIN_TOKEN', DEV_ADMIN_TOKEN),
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 1),
    helloTimeoutMs: integer(env, 'HELLO_TIMEOUT_MS', 1),
    sessionTtlMs: integer(env, 'SESSION_TTL_MS', 1),
    maxFrameBytes: integer(env, 'MAX_FRAME_BYTES', 1),
    pushLogLimit: integer(env, 'PUSH_LOG_LIMIT', 1),
    pushLogBytes: integer(env, 'PUSH_LOG_BYTES', 1),
    answeredLimit: integer(env, 'ANSWERED_LIMIT', 1),
    answeredBytes: integer(env, 'ANSWERED_BYTES', 1),
    simulateOrdersMs: integer(env, 'SIMULATE_ORDERS_MS', 0),
  }
  const dataDir = read(env, 'DATA_DIR')
  if (dataDir !== undefined) options.dataDir = dataDir === ':memory:' ? null : dataDir
  const frames = integer(env, 'RATE_LIMIT_FRAMES', 1)
  const bytes = integer(env, 'RATE_LIMIT_BYTES', 1)
  const perMs = integer(env, 'RATE_LIMIT_PER_MS', 1)
  if (frames !== undefined || bytes !== undefined || perMs !== undefined) {
    options.rateLimit = {
      frames: frames ?? DEFAULT_RATE_LIMIT.frames,
      bytes: bytes ?? DEFAULT_RATE_LIMIT.bytes,
      perMs: perMs ?? DEFAULT_RATE_LIMIT.perMs,
    }
  }
  const limits: Record<string, number | undefined> = {
    maxConnections: integer(env, 'MAX_CONNECTIONS', 1),
    maxConnectionsPerAddress: integer(env, 'MAX_CONNECTIONS_PER_ADDRESS', 1),
    maxPendingPerAddress: integer(env, 'MAX_PENDING_PER_ADDRESS', 1),
    hellosPerSecondPerAddress: integer(env, 'HELLOS_PER_SECOND_PER_ADDRESS', 1),
    maxSessionsPerIdentity: integer(env, 'MAX_SESSIONS_PER_IDENTITY', 1),
    maxSessions: integer(env, 'MAX_SESSIONS', 1),
    requestsPerSecondPerIdentity: integer(env, 'REQUESTS_PER_SECOND_PER_IDENTITY', 1),
    upgradeTimeoutMs: integer(env, 'UPGRADE_TIMEOUT_MS', 1),
  }
  for (const key of Object.keys(limits)) if (limits[key] === undefined) delete limits[key]
  if (Object.keys(limits).length > 0) options.limits = limits
  const seed = read(env, 'SEED_ORDERS')
  if (seed !== undefined) options.seedOrders = !['0', 'false', 'no', 'off'].includes(seed.toLowerCase())
  for (const key of Object.keys(options) as Array<keyof ReferenceServerOptions>) {
    if (options[key] === undefined) delete options[key]
  }
  return { options, warnings }
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function integer(env: Env, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = read(env, name)
  if (text === undefined) return undefined
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CodedError('invalid_setting', `${name} must be an integer in ${min}..${max}, got "${text}"`)
  }
  return value
}
