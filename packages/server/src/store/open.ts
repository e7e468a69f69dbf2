/** The store the settings ask for: the embedded SQLite file by default, Redis when a URL is given. */
import { Database } from '../database'
import { describeError } from '../errors'
import { expirySweepMs, type Settings } from '../settings'
import { RedisStore } from './redis-store'
import { SqliteStore } from './sqlite-store'
import type { Store } from './types'

export async function openStore(settings: Settings): Promise<Store> {
  if (settings.redisUrl !== null) {
    return RedisStore.open({
      url: settings.redisUrl,
      keyPrefix: settings.redisPrefix,
      pushLogLimit: settings.pushLogLimit,
      pushLogBytes: settings.pushLogBytes,
      answeredLimit: settings.answeredLimit,
      answeredBytes: settings.answeredBytes,
      answerTtlMs: settings.answerTtlMs,
      sessionTtlMs: settings.sessionTtlMs,
      maxSessionsPerIdentity: settings.limits.maxSessionsPerIdentity,
      maxSessions: settings.limits.maxSessions,
      touchIntervalMs: expirySweepMs(settings),
      log: settings.log,
    })
  }
  const db = Database.open(settings.dataDir, (error) => settings.log(`group commit failed: ${describeError(error)}`))
  return new SqliteStore(db, {
    pushLogLimit: settings.pushLogLimit,
    pushLogBytes: settings.pushLogBytes,
    answeredLimit: settings.answeredLimit,
    answeredBytes: settings.answeredBytes,
    answerTtlMs: settings.answerTtlMs,
    sessionTtlMs: settings.sessionTtlMs,
    maxSessionsPerIdentity: settings.limits.maxSessionsPerIdentity,
    maxSessions: settings.limits.maxSessions,
  })
}
