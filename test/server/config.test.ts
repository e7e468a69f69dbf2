/** Unit tests of server/config.ts (environment → options) and the small helpers auth and rate-limiter. */
import { bearerToken, secretMatches } from '../../packages/server/src/auth'
import { startReferenceServer } from '../../server/app'
import { loadConfig } from '../../server/config'
import { deadlineSweepMs, expirySweepMs, resolveSettings } from '../../packages/server/src/settings'
import { allowFrame } from '../../packages/server/src/rate-limiter'

describe('loadConfig', () => {
  it('uses the development tokens with a warning when they are unset', () => {
    const { options, warnings } = loadConfig({})
    expect(options).toEqual({ token: 'dev-token', adminToken: 'dev-admin' })
    expect(warnings).toHaveLength(2)
    expect(warnings.join('\n')).toMatch(/SOCKET_TOKEN[\s\S]*ADMIN_TOKEN/)
  })

  it('refuses to start in production without SOCKET_TOKEN or ADMIN_TOKEN', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a' })).toThrow(expect.objectContaining({ code: 'missing_secret' }))
    expect(() => loadConfig({ NODE_ENV: 'production', SOCKET_TOKEN: 's' })).toThrow(expect.objectContaining({ code: 'missing_secret' }))
    expect(loadConfig({ NODE_ENV: 'production', SOCKET_TOKEN: 's', ADMIN_TOKEN: 'a' }).warnings).toEqual([])
  })

  it('reads every setting', () => {
    const { options } = loadConfig({
      HOST: '0.0.0.0',
      PORT: '9000',
      SOCKET_TOKEN: 's',
      ADMIN_TOKEN: 'a',
      DATA_DIR: '/var/lib/ws',
      HEARTBEAT_MS: '15000',
      HELLO_TIMEOUT_MS: '3000',
      SESSION_TTL_MS: '600000',
      MAX_FRAME_BYTES: '1024',
      PUSH_LOG_LIMIT: '2000',
      PUSH_LOG_BYTES: '4096',
      ANSWERED_LIMIT: '3000',
      ANSWERED_BYTES: '8192',
      RATE_LIMIT_FRAMES: '10',
      RATE_LIMIT_BYTES: '100000',
      RATE_LIMIT_PER_MS: '500',
      SIMULATE_ORDERS_MS: '8000',
      SEED_ORDERS: 'false',
      REDIS_URL: 'redis://10.0.0.9:6379',
      REDIS_PREFIX: 'app1:',
      TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2,',
      SHUTDOWN_RETRY_MS: '5000',
      ANSWER_TTL_MS: '3600000',
    })
    expect(options).toEqual({
      host: '0.0.0.0',
      port: 9000,
      token: 's',
      adminToken: 'a',
      dataDir: '/var/lib/ws',
      heartbeatMs: 15000,
      helloTimeoutMs: 3000,
      sessionTtlMs: 600000,
      maxFrameBytes: 1024,
      pushLogLimit: 2000,
      pushLogBytes: 4096,
      answeredLimit: 3000,
      answeredBytes: 8192,
      rateLimit: { frames: 10, bytes: 100000, perMs: 500 },
      simulateOrdersMs: 8000,
      seedOrders: false,
      redisUrl: 'redis://10.0.0.9:6379',
      redisPrefix: 'app1:',
      trustedProxies: ['10.0.0.1', '10.0.0.2'],
      shutdownRetryMs: 5000,
      answerTtlMs: 3600000,
    })
  })

  it('maps DATA_DIR=:memory: to the in-memory database and treats empty values as unset', () => {
    expect(loadConfig({ DATA_DIR: ':memory:', PORT: '', SIMULATE_ORDERS_MS: '0' }).options).toMatchObject({ dataDir: null, simulateOrdersMs: 0 })
    expect(loadConfig({ PORT: '' }).options.port).toBeUndefined()
  })

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['HEARTBEAT_MS', '0'],
    ['HEARTBEAT_MS', '1.5'],
    ['SIMULATE_ORDERS_MS', '1e3'],
  ])('refuses %s=%s with invalid_setting', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(expect.objectContaining({ code: 'invalid_setting', message: expect.stringContaining(name) }))
  })
})

describe('resolveSettings', () => {
  it('fills in the documented defaults', () => {
    expect(resolveSettings({})).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      token: 'dev-token',
      adminToken: 'dev-admin',
      heartbeatMs: 20_000,
      dataDir: './data',
      helloTimeoutMs: 5_000,
      sessionTtlMs: 5 * 60_000,
      maxFrameBytes: 64 * 1024,
      pushLogLimit: 1_000,
      answeredLimit: 1_000,
      seed: null,
      server: null,
    })
    expect(resolveSettings({ dataDir: null }).dataDir).toBeNull()
    expect(resolveSettings({ methods: { a: () => 1 } }).methods.map(([name]) => name)).toEqual(['a'])
  })

  it.each([
    [{ port: -1 }, 'port'],
    [{ port: 70_000 }, 'port'],
    [{ heartbeatMs: 0 }, 'heartbeatMs'],
    [{ maxFrameBytes: 1.5 }, 'maxFrameBytes'],
    [{ rateLimit: { frames: 0, perMs: 1 } }, 'rateLimit.frames'],
  ])('refuses %j', (options, name) => {
    expect(() => resolveSettings(options)).toThrow(name)
  })

  it('refuses a negative order simulator period before it listens', async () => {
    await expect(startReferenceServer({ port: 0, dataDir: null, simulateOrdersMs: -5 })).rejects.toThrow('simulateOrdersMs')
  })

  it('checks deadlines at a quarter of the shorter timeout, within 10 ms..1 s, and sweeps sessions at a quarter of the TTL', () => {
    expect(deadlineSweepMs(resolveSettings({}))).toBe(1_000)
    expect(deadlineSweepMs(resolveSettings({ heartbeatMs: 200 }))).toBe(50)
    expect(deadlineSweepMs(resolveSettings({ heartbeatMs: 8 }))).toBe(10)
    expect(expirySweepMs(resolveSettings({}))).toBe(30_000)
    expect(expirySweepMs(resolveSettings({ sessionTtlMs: 400 }))).toBe(100)
  })
})

describe('secretMatches and bearerToken', () => {
  it('matches only the exact secret', () => {
    expect(secretMatches('s3cret', 's3cret')).toBe(true)
    expect(secretMatches('s3cret', 's3cre')).toBe(false)
    expect(secretMatches('s3cret', 's3cret ')).toBe(false)
    expect(secretMatches('s3cret', undefined)).toBe(false)
  })

  it('reads Bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc')
    expect(bearerToken('bearer abc')).toBe('abc')
    expect(bearerToken('Basic abc')).toBeUndefined()
    expect(bearerToken('Bearer')).toBeUndefined()
    expect(bearerToken(undefined)).toBeUndefined()
  })
})

describe('allowFrame', () => {
  it('allows `frames` per window and resets in the next window', () => {
    const window = { windowStartMs: -Infinity, frameCount: 0, byteCount: 0 }
    const limit = { frames: 3, bytes: 1000, perMs: 100 }
    const at = (nowMs: number): boolean[] => [0, 1, 2, 3].map(() => allowFrame(window, limit, 10, nowMs))
    expect(at(0)).toEqual([true, true, true, false])
    expect(allowFrame(window, limit, 10, 99)).toBe(false)
    expect(at(100)).toEqual([true, true, true, false])
  })

  it('allows `bytes` per window whatever the frame count', () => {
    const window = { windowStartMs: -Infinity, frameCount: 0, byteCount: 0 }
    const limit = { frames: 100, bytes: 1000, perMs: 100 }
    expect(allowFrame(window, limit, 600, 0)).toBe(true)
    expect(allowFrame(window, limit, 400, 1)).toBe(true)
    expect(allowFrame(window, limit, 1, 2)).toBe(false)
    expect(allowFrame(window, limit, 1000, 100)).toBe(true)
  })
})
