/**
 * The cluster store: everything in one Redis (redis-scripts.ts has the layout), so
 * any number of instances serve the same clients. Each instance listens on its own pub/sub
 * channel for the pushes of the sessions attached to it and for takeovers of them.
 *
 * The epoch rule: a session can only be resumed in the epoch it was made in. An instance that
 * finds Redis's commit clock behind what it saw before (a failover to a replica that had not
 * caught up, a restart that lost its last writes) starts a new epoch, so a client is told
 * `resumed: false` rather than resumed over a log with a hole or reused seqs.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { checkDataWrite, COUNT_TOTAL } from './data-writes'
import { SCRIPTS, type ScriptName } from './redis-scripts'
import {
  CLAIM_LEASE_MS,
  type AttachOutcome, type AttachRequest, type ClaimOutcome, type CommitOutcome, type CommitSpec, type DataWrite, type DeliveryBatch,
  type RecordPage, type RecordReader, type PushTarget, type SessionPosition, type Store, type StoreEvents, type StoredPush,
} from './types'

export interface RedisStoreOptions {
  url: string
  /** Prefix of every key and channel (several deployments can share one Redis). */
  keyPrefix: string
  pushLogLimit: number
  pushLogBytes: number
  answeredLimit: number
  answeredBytes: number
  answerTtlMs: number
  sessionTtlMs: number
  maxSessionsPerIdentity: number
  maxSessions: number
  /** How often this instance marks its sessions used (its sweep): a session unmarked for 3 of these counts as idle. */
  touchIntervalMs: number
  log(line: string): void
}

/** Sessions touched per script call in a sweep. */
const TOUCH_BATCH = 1000

type Reply = unknown[]

export class RedisStore implements Store {
  readonly kind = 'redis'
  readonly records: RecordReader
  /** This process, as the owner of the sessions attached to it. */
  readonly instance = `i-${randomUUID()}`
  private readonly redis: Redis
  private readonly bus: Redis
  private events: StoreEvents | null = null
  /** Acks waiting for the next flush: sid → [gen, seq]. */
  private readonly acks = new Map<string, [number, number]>()
  private sessions = 0
  /** The highest commit clock this instance saw: Redis behind it lost writes. */
  private clock = 0
  private connectedOnce = false

  private constructor(private readonly options: RedisStoreOptions) {
    // ioredis re-sends commands a lost connection cut off; a commit carrying an answer is
    // guarded by its claim, but an admin push cut off this way may be appended twice.
    // (autoResendUnfulfilledCommands: false left a push's commit unsettled after a Redis
    // crash in the cluster soak, so it stays on until that is understood.)
    const retry = { maxRetriesPerRequest: 20, enableAutoPipelining: true, lazyConnect: true }
    this.redis = new Redis(options.url, retry)
    this.bus = new Redis(options.url, { ...retry, enableAutoPipelining: false })
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 0, lua })
    this.redis.on('error', (error: Error) => options.log(`redis: ${error.message}`))
    this.bus.on('error', (error: Error) => options.log(`redis bus: ${error.message}`))
    this.records = {
      get: async (collection, id) => {
        const [doc, rank] = await this.redis.hmget(this.recordKey(collection, id), 'doc', 'rank')
        return doc === null ? undefined : { id, doc, rank: Number(rank) }
      },
      page: (collection, page) => this.pageRecords(collection, page),
      count: async (collection) => Number((await this.redis.hget(this.key(`rt:${lengthPrefixed(collection)}`), COUNT_TOTAL)) ?? 0),
    }
  }

  /** Connects both connections and subscribes this instance's channel. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options)
    try {
      await Promise.all([store.redis.connect(), store.bus.connect()])
      store.bus.on('messageBuffer', (_channel: Buffer, message: Buffer) => store.onBusMessage(message))
      await store.bus.subscribe(store.channel)
      store.redis.on('ready', () => store.afterReconnect())
      store.bus.on('ready', () => store.events?.resync())
      store.sessions = await store.redis.zcard(store.key('sessions'))
      store.connectedOnce = true
    } catch (error) {
      store.redis.disconnect()
      store.bus.disconnect()
      throw error
    }
    return store
  }

  describe(): string {
    return `redis: ${redactUrl(this.options.url)}, prefix "${this.options.keyPrefix}", instance ${this.instance}`
  }

  listen(events: StoreEvents): void {
    this.events = events
  }

  async attach(request: AttachRequest): Promise<AttachOutcome> {
    const o = this.options
    const reply = (await this.script('rsAttach', [
      request.identity, request.sid ?? '', request.ack, request.nowMs, o.sessionTtlMs, o.maxSessionsPerIdentity, o.maxSessions,
      randomUUID(), this.instance, 3 * o.touchIntervalMs, randomUUID(),
    ])) as Reply
    if (reply[0] === 'limit') return { ok: false, message: String(reply[1]) }
    // Counted exactly by the next sweep; until then the gauge does not lag behind a new session.
    if (reply[0] === 'new') this.sessions += 1
    return {
      ok: true,
      resumed: reply[0] === 'resumed',
      lease: { sid: String(reply[1]), identity: request.identity, gen: Number(reply[2]), lastSeq: Number(reply[3]), topics: parseTopics(String(reply[4])) },
    }
  }

  async position(sid: string): Promise<SessionPosition | undefined> {
    const [next, gen] = await this.redis.hmget(this.sessionKey(sid), 'next', 'gen')
    if (next === null || gen === null) return undefined
    return { lastSeq: Number(next) - 1, gen: Number(gen) }
  }

  detach(sid: string, gen: number, nowMs: number): void {
    const pending = this.acks.get(sid)
    const ack = pending && pending[0] === gen ? pending[1] : -1
    if (pending && pending[0] === gen) this.acks.delete(sid)
    this.script('rsDetach', [sid, gen, nowMs, this.options.sessionTtlMs, ack]).catch((error: unknown) => this.report('detach', error))
  }

  ack(sid: string, gen: number, seq: number): void {
    const pending = this.acks.get(sid)
    if (!pending || pending[0] !== gen || pending[1] < seq) this.acks.set(sid, [gen, seq])
  }

  async setTopics(sid: string, gen: number, topics: readonly string[], subscribe: boolean): Promise<string[] | null> {
    const reply = await this.script('rsSetTopics', [sid, gen, subscribe ? '1' : '0', JSON.stringify(topics)])
    return reply === null ? null : parseTopics(String(reply))
  }

  async pushesFrom(sid: string, fromSeq: number, limit: number): Promise<StoredPush[]> {
    const entries = await this.redis.xrange(this.key(`l:{${sid}}`), `${fromSeq}-1`, '+', 'COUNT', limit)
    return entries.map(([id, fields]) => {
      let topic = ''
      let data: string | null = null
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i] === 't') topic = fields[i + 1]
        else if (fields[i] === 'd') data = fields[i + 1]
      }
      return { seq: Number.parseInt(id, 10), topic, data }
    })
  }

  async findAnswer(identity: string, id: string): Promise<string | undefined> {
    const reply = await this.script('rsFindAnswer', [identity, id])
    return reply === null ? undefined : String(reply)
  }

  async claim(identity: string, id: string): Promise<ClaimOutcome> {
    const claim = randomUUID()
    const reply = (await this.script('rsClaim', [identity, id, claim, CLAIM_LEASE_MS])) as Reply
    if (reply[0] === 'answered') return { kind: 'answered', resText: String(reply[1]) }
    if (reply[0] === 'busy') return { kind: 'busy' }
    return { kind: 'claimed', claim }
  }

  async release(identity: string, id: string, claim: string): Promise<void> {
    await this.script('rsRelease', [identity, id, claim])
  }

  async commit(spec: CommitSpec, onCommitted?: (outcome: CommitOutcome) => void): Promise<CommitOutcome> {
    for (const write of spec.writes ?? []) checkDataWrite(write)
    const o = this.options
    const body = {
      now: spec.nowMs,
      logLimit: o.pushLogLimit,
      logBytes: o.pushLogBytes,
      answerTtl: o.answerTtlMs,
      answeredLimit: o.answeredLimit,
      answeredBytes: o.answeredBytes,
      answer: spec.answer && { identity: spec.answer.identity, id: spec.answer.id, claim: spec.answer.claim, res: spec.answer.resText },
      writes: (spec.writes ?? []).map(scriptWrite),
      pushes: (spec.pushes ?? []).map((push) => ({ ...targetArgs(push.target), topic: push.topic, ...(push.dataJson === null ? {} : { data: push.dataJson }) })),
    }
    const reply = (await this.script('rsCommit', [JSON.stringify(body)])) as Reply
    let outcome: CommitOutcome
    if (reply[0] === 'ok') {
      this.clock = Math.max(this.clock, Number(reply[1]))
      outcome = { ok: true, reached: reply.slice(2).map(Number) }
    } else if (reply[0] === 'answered') {
      outcome = { ok: false, reason: 'answered', resText: String(reply[1]) }
    } else {
      outcome = { ok: false, reason: reply[0] === 'conflict' ? 'conflict' : 'claimed' }
    }
    // Deliveries come by the bus, after the script's reply more often than not.
    onCommitted?.(outcome)
    return outcome
  }

  async seedOnce(flag: string, collection: string, writes: readonly DataWrite[], nowMs: number): Promise<number> {
    for (const write of writes) checkDataWrite(write)
    const first = await this.redis.hsetnx(this.key('meta'), `seeded:${flag}`, String(nowMs))
    if (first !== 1 || (await this.records.count(collection)) > 0) return 0
    await this.commit({ nowMs, writes })
    return writes.length
  }

  async flush(): Promise<void> {
    if (this.acks.size === 0) return
    const triples: Array<string | number> = []
    for (const [sid, [gen, seq]] of this.acks) triples.push(sid, gen, seq)
    this.acks.clear()
    await this.script('rsTouch', [Date.now(), this.options.sessionTtlMs, ...triples])
  }

  async sweep(nowMs: number, attached: ReadonlyArray<readonly [string, number]>): Promise<void> {
    for (let start = 0; start < attached.length; start += TOUCH_BATCH) {
      const triples: Array<string | number> = []
      for (const [sid, gen] of attached.slice(start, start + TOUCH_BATCH)) {
        const pending = this.acks.get(sid)
        const ack = pending && pending[0] === gen ? pending[1] : -1
        this.acks.delete(sid)
        triples.push(sid, gen, ack)
      }
      await this.script('rsTouch', [nowMs, this.options.sessionTtlMs, ...triples])
    }
    await this.flush()
    const sessions = this.key('sessions')
    await this.redis.zremrangebyscore(sessions, '-inf', nowMs - this.options.sessionTtlMs)
    this.sessions = await this.redis.zcard(sessions)
  }

  sessionCount(): number {
    return this.sessions
  }

  async close(): Promise<void> {
    try {
      await this.flush()
    } catch (error) {
      this.report('the last flush', error)
    }
    await Promise.allSettled([this.bus.quit(), this.redis.quit()])
  }

  // ---- internals ----------------------------------------------------------------------------

  private get channel(): string {
    return this.key(`i:${this.instance}`)
  }

  private key(name: string): string {
    return `${this.options.keyPrefix}${name}`
  }

  private sessionKey(sid: string): string {
    return this.key(`s:{${sid}}`)
  }

  private script(name: ScriptName, args: Array<string | number>): Promise<unknown> {
    const command = (this.redis as unknown as Record<ScriptName, (...values: Array<string | number>) => Promise<unknown>>)[name]
    return command.call(this.redis, this.options.keyPrefix, ...args)
  }

  private onBusMessage(message: Buffer): void {
    const kind = message[0]
    if (kind === 0x52 /* R */) {
      const [sid, gen] = message.subarray(1).toString('utf8').split(' ')
      this.events?.replaced(sid, Number(gen))
      return
    }
    if (kind !== 0x44 /* D */) return
    const newline = message.indexOf(0x0a)
    if (newline < 0) return
    const header = JSON.parse(message.subarray(1, newline).toString('utf8')) as { t: string; d: 0 | 1; s: Array<string | number> }
    const to: Array<[string, number, number]> = []
    for (let i = 0; i + 2 < header.s.length; i += 3) to.push([String(header.s[i]), Number(header.s[i + 1]), Number(header.s[i + 2])])
    const batch: DeliveryBatch = { topic: header.t, dataJson: header.d === 1 ? message.subarray(newline + 1).toString('utf8') : null, to }
    this.events?.delivered(batch)
  }

  /** Back after a drop: if Redis lost commits this instance saw, a new epoch begins (see the header). */
  private afterReconnect(): void {
    if (!this.connectedOnce) return
    const meta = this.key('meta')
    this.redis
      .hget(meta, 'clock')
      .then(async (value) => {
        const clock = Number(value ?? 0)
        if (clock >= this.clock) return
        this.options.log(`redis is behind (commit ${clock} < ${this.clock} seen here): a new epoch begins, sessions start over`)
        await this.redis.hset(meta, 'epoch', randomUUID(), 'clock', String(this.clock))
      })
      .catch((error: unknown) => this.report('the epoch check', error))
  }

  private recordKey(collection: string, id: string): string {
    return this.key(`r:${lengthPrefixed(collection)}:${id}`)
  }

  private async pageRecords(collection: string, page: { limit: number; before?: string }): Promise<RecordPage | null> {
    const reply = (await this.script('rsPageRecords', [collection, page.limit, page.before ?? ''])) as Reply | null
    if (reply === null) return null
    const [totals, rows] = reply as [string[], Array<string | null>]
    let count = 0
    const sums: Record<string, number> = {}
    for (let i = 0; i + 1 < totals.length; i += 2) {
      if (totals[i] === COUNT_TOTAL) count = Number(totals[i + 1])
      else sums[totals[i]] = Number(totals[i + 1])
    }
    const records: RecordPage['records'] = []
    for (let i = 0; i + 2 < rows.length; i += 3) records.push({ id: String(rows[i]), doc: String(rows[i + 1]), rank: Number(rows[i + 2]) })
    const hasMore = records.length > page.limit
    return { records: hasMore ? records.slice(0, page.limit) : records, hasMore, count, sums }
  }

  private report(what: string, error: unknown): void {
    this.options.log(`redis ${what} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function scriptWrite(write: DataWrite): Record<string, unknown> {
  return {
    c: write.collection,
    id: write.id,
    doc: write.doc,
    rank: write.rank,
    s: Object.entries(write.sums ?? {}).flat(),
    ...(write.ifDoc === undefined ? {} : { ifDoc: write.ifDoc }),
  }
}

/** As the scripts' idkey: the length in bytes first, so no two names make one key. */
function lengthPrefixed(name: string): string {
  return `${Buffer.byteLength(name, 'utf8')}:${name}`
}

function targetArgs(target: PushTarget): { k: string; to?: string } {
  if (target.kind === 'all') return { k: 'all' }
  if (target.kind === 'user') return { k: 'user', to: target.user }
  return { k: 'topic', to: target.topic }
}

function parseTopics(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown
    return Array.isArray(value) ? value.filter((topic): topic is string => typeof topic === 'string') : []
  } catch {
    return []
  }
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'redis'
  }
}
