/** Starts the redis-server the suites of jest.redis.config.js share, and tells the workers its URL. */
import { startRedis, type RedisProcess } from '../helpers/redis-server'

declare global {
  var redisForTests: RedisProcess | undefined
}

export default async function globalSetup(): Promise<void> {
  const redis = await startRedis()
  globalThis.redisForTests = redis
  process.env.TEST_REDIS_URL = redis.url
}
