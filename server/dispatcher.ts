/**
 * Answers every `req` with a usable id exactly once, whatever else is wrong with it
 * (PROTOCOL.md "Nothing a message carries can wedge a connection"), and effectful requests
 * exactly once per id: a repeated id gets the remembered `res` and the method does not run
 * again. A method's effect and its remembered answer commit in one transaction before the `res`
 * is written. Safe methods (no effect) run again on a repeated id and are never remembered, so
 * an answer computed before a drop cannot undo the pushes replayed after it.
 */
import { MAX_TOPIC_LENGTH } from './constants'
import type { Database, FrameWriter } from './database'
import { CodedError, describeError, isCodedError } from './errors'
import type { RateTable } from './limits'
import type { ServerMetrics } from './metrics'
import { failureFrame, isMethodName, METHOD_MAX_LENGTH, resultFrame } from './protocol'
import type { ReqFrame } from './protocol'
import type { PushTarget, SessionState, SessionStore } from './session-store'

/** Who a push made by a method or the admin route is for: everyone when absent. */
export type PushAddress = { user: string } | { topic: string } | undefined

/** What a method sees besides its params. */
export interface MethodContext {
  /** The calling session's id. */
  readonly sid: string
  /** Who is calling (the identity its token gave). */
  readonly identity: string
  /** Wall-clock time of the call (ms since epoch). */
  readonly nowMs: number
  /**
   * Appends a push to every session (or those of one identity, or of one topic) inside the
   * method's transaction; it is sent only if the method succeeds. Returns the number of
   * sessions reached.
   */
  publish(topic: string, data?: unknown, to?: PushAddress): number
}

/** Most topics one session may subscribe to. */
export const MAX_TOPICS_PER_SESSION = 100

/**
 * A method: synchronous, so its database writes share the request's transaction. Throw a
 * CodedError for a method-specific failure; any other throw answers `internal`.
 */
export type MethodHandler = (params: unknown, context: MethodContext) => unknown

/** A method and whether it is safe (read-only: run again on a repeated id, never remembered). */
export interface MethodDefinition {
  run: MethodHandler
  safe: boolean
}

/** A bare handler is effectful; `{ run, safe }` says otherwise. */
export type MethodEntry = MethodHandler | { run: MethodHandler; safe?: boolean }

/** The method table with every entry in the long form. */
export function methodTable(entries: Iterable<[string, MethodEntry]>): Map<string, MethodDefinition> {
  const table = new Map<string, MethodDefinition>()
  for (const [name, entry] of entries) {
    if (!isMethodName(name)) throw new RangeError(`"${name}" cannot name a method: use letters, digits and _.:- (1..${METHOD_MAX_LENGTH})`)
    table.set(name, typeof entry === 'function' ? { run: entry, safe: false } : { run: entry.run, safe: entry.safe === true })
  }
  return table
}

/** Where an answer goes: the connection, and the largest frame its client accepts. */
export interface ReplyTarget extends FrameWriter {
  readonly maxFrameBytes: number
}

export interface DispatcherDeps {
  db: Database
  store: SessionStore
  methods: ReadonlyMap<string, MethodDefinition>
  metrics: ServerMetrics
  publish(topic: string, data: unknown, to: PushAddress): number
  /** Requests per identity across its connections. */
  requestRate: RateTable
  log(line: string): void
}

type Outcome = 'ok' | 'error' | 'unknown_method' | 'bad_request' | 'internal' | 'too_large' | 'limit'

export class Dispatcher {
  private readonly deps: DispatcherDeps

  constructor(deps: DispatcherDeps) {
    this.deps = deps
  }

  /**
   * Answers one request of `session` inside the current group commit: the `res` is written to
   * `replyTo` once the method's effects and the remembered answer are committed, before the
   * pushes the method caused.
   */
  dispatch(session: SessionState, frame: ReqFrame, replyTo: ReplyTarget): void {
    const { db, store, metrics } = this.deps
    const nowMs = Date.now()
    db.joinBatch()
    // One identity's flood, on any number of connections, cannot slow the others: it is refused.
    if (!this.deps.requestRate.take(session.identity, nowMs)) {
      db.writeAfterCommit(replyTo, failureFrame(frame.id, 'limit', 'too many requests from this identity: slow down'))
      metrics.requests.inc({ method: '(limited)', outcome: 'limit' })
      metrics.limited.inc({ limit: 'requests_per_identity' })
      return
    }
    if (frame.method === '$subscribe' || frame.method === '$unsubscribe') {
      this.subscriptions(session, frame, replyTo)
      return
    }
    const remembered = store.findAnswer(session.identity, frame.id, nowMs)
    if (remembered !== undefined) {
      metrics.dedupeHits.inc()
      db.writeAfterCommit(replyTo, fitted(frame.id, remembered, replyTo.maxFrameBytes))
      return
    }
    if (frame.problem !== undefined) {
      this.refuse(session, replyTo, failureFrame(frame.id, 'bad_request', frame.problem), '(invalid)', 'bad_request')
      return
    }
    const method = isMethodName(frame.method) ? this.deps.methods.get(frame.method) : undefined
    if (!method) {
      const name = JSON.stringify(frame.method)
      this.refuse(session, replyTo, failureFrame(frame.id, 'unknown_method', `unknown method ${name}`), '(unknown)', 'unknown_method')
      return
    }
    const context: MethodContext = {
      sid: session.sid,
      identity: session.identity,
      nowMs,
      publish: (topic, data, to) => this.deps.publish(topic, data, to),
    }
    let outcome: Outcome = 'ok'
    try {
      let resText = ''
      db.transaction(() => {
        // Queued before the method runs, so the res goes out before any push it publishes.
        db.afterCommit(() => replyTo.write(resText))
        try {
          // A savepoint of its own: a method that fails rolls back what it did, then its failure is remembered.
          const result = db.transaction(() => method.run(frame.params, context))
          resText = resultFrame(frame.id, result)
        } catch (error) {
          if (!isCodedError(error)) throw error
          outcome = 'error'
          resText = failureFrame(frame.id, error.code, error.message)
        }
        const sized = fitted(frame.id, resText, replyTo.maxFrameBytes)
        if (sized !== resText) outcome = 'too_large'
        resText = sized
        // What the client is told is what a re-sent id gets: the too_large answer included.
        if (!method.safe) store.rememberAnswer(session.identity, frame.id, resText, nowMs)
      })
    } catch (error) {
      // Not remembered: the effects were rolled back, so a re-sent id may safely run again.
      outcome = 'internal'
      this.deps.log(`method ${frame.method} failed for request ${frame.id}: ${describeError(error)}`)
      db.writeAfterCommit(replyTo, failureFrame(frame.id, 'internal', 'internal error'))
    }
    metrics.requests.inc({ method: frame.method, outcome })
  }

  /** Answers a request that names no method; remembered, so its id keeps that answer. */
  private refuse(session: SessionState, replyTo: ReplyTarget, resText: string, methodLabel: string, outcome: Outcome): void {
    this.deps.db.transaction(() => {
      this.deps.store.rememberAnswer(session.identity, JSON.parse(resText).id as string, resText, Date.now())
      this.deps.db.writeAfterCommit(replyTo, resText)
    })
    this.deps.metrics.requests.inc({ method: methodLabel, outcome })
  }

  /**
   * `$subscribe` / `$unsubscribe` with `{ topics: string[] }`: the session's topics after the
   * change. Safe: a repeated id just answers the current topics again.
   */
  private subscriptions(session: SessionState, frame: ReqFrame, replyTo: ReplyTarget): void {
    const subscribe = frame.method === '$subscribe'
    let resText: string
    let outcome: Outcome = 'ok'
    try {
      const topics = topicsParam(frame.params)
      const after = new Set([...session.topics, ...(subscribe ? topics : [])])
      if (subscribe && after.size > MAX_TOPICS_PER_SESSION) {
        throw new CodedError('limit', `a session may subscribe to at most ${MAX_TOPICS_PER_SESSION} topics`)
      }
      resText = resultFrame(frame.id, { topics: this.deps.store.setTopics(session, topics, subscribe) })
    } catch (error) {
      if (!isCodedError(error)) throw error
      outcome = error.code === 'limit' ? 'limit' : 'bad_request'
      resText = failureFrame(frame.id, error.code, error.message)
    }
    this.deps.db.writeAfterCommit(replyTo, resText)
    this.deps.metrics.requests.inc({ method: frame.method, outcome })
  }
}

function topicsParam(params: unknown): string[] {
  const topics = params !== null && typeof params === 'object' && !Array.isArray(params) && Object.prototype.hasOwnProperty.call(params, 'topics')
    ? (params as { topics: unknown }).topics
    : undefined
  if (!Array.isArray(topics) || topics.length > MAX_TOPICS_PER_SESSION || !topics.every((topic) => typeof topic === 'string' && topic.length >= 1 && topic.length <= MAX_TOPIC_LENGTH)) {
    throw new CodedError('bad_request', `params must be { topics: string[] } with at most ${MAX_TOPICS_PER_SESSION} topics of 1..${MAX_TOPIC_LENGTH} characters`)
  }
  return topics as string[]
}

/** The push target of an address. */
export function targetOf(to: PushAddress): PushTarget {
  if (to === undefined) return { kind: 'all' }
  if ('user' in to) return { kind: 'user', user: to.user }
  return { kind: 'topic', topic: to.topic }
}

/** `resText`, or a `too_large` failure when it is over the client's limit. */
function fitted(id: string, resText: string, maxFrameBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most answers are decided without counting.
  if (resText.length * 3 <= maxFrameBytes) return resText
  const bytes = Buffer.byteLength(resText)
  if (bytes <= maxFrameBytes) return resText
  return failureFrame(id, 'too_large', `the answer is ${bytes} bytes, over this connection's ${maxFrameBytes}-byte limit`)
}
