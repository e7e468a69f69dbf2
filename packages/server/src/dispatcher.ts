/**
 * Answers every `req` with a usable id exactly once, whatever else is wrong with it
 * (PROTOCOL.md "Nothing a message carries can wedge a connection"), and effectful requests
 * exactly once per id across instances: a repeated id gets the remembered `res` and the method
 * does not run again.
 *
 * An effectful request is claimed in the store, its method runs with its data writes and pushes
 * held back, and one commit stores them with the answer, or nothing: a write whose precondition
 * no longer holds (another request changed the data meanwhile) runs the method again. Safe
 * methods (no effect) run again on a repeated id and are never remembered, so an answer
 * computed before a drop cannot undo the pushes replayed after it.
 */
import { MAX_TOPIC_LENGTH } from './constants'
import { CodedError, describeError, isCodedError } from './errors'
import type { RateTable } from './limits'
import type { ServerMetrics } from './metrics'
import { answerKey, failureFrame, fittedAnswer, isMethodName, isStorableName, METHOD_MAX_LENGTH, resultFrame } from './protocol'
import type { ReqFrame } from './protocol'
import type { ReplySlot } from './reply-queue'
import type { ActiveSession } from './session-hub'
import type { CommitOutcome, DataWrite, PushSpec, PushTarget, RecordReader, Store } from './store/types'
import { CLAIM_LEASE_MS } from './store/types'

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
  /** The app's data as it is now (records of the store, read by collection). */
  readonly records: RecordReader
  /**
   * A push to every session (or those of one identity, or of one topic), appended with the
   * method's answer: only if it succeeds. Throws CodedError for a bad topic or an oversized push.
   */
  publish(topic: string, data?: unknown, to?: PushAddress): void
  /** A change of the app's data, committed with the answer if its precondition still holds then (else the method runs again). */
  change(write: DataWrite): void
}

/** Most topics one session may subscribe to. */
export const MAX_TOPICS_PER_SESSION = 100

/**
 * A method. Throw a CodedError for a method-specific failure; any other throw answers `internal`.
 * Its effects on the app's data go through `context.change`, so they commit with its answer.
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

export interface DispatcherDeps {
  store: Store
  methods: ReadonlyMap<string, MethodDefinition>
  metrics: ServerMetrics
  /** A checked push (throws CodedError like SessionHub.pushSpec). */
  pushSpec(target: PushTarget, topic: string, data: unknown): PushSpec
  /** What a push stores besides itself (the demo's `notify` stores its order): the data to push and the writes. */
  announce(topic: string, data: unknown, nowMs: number): { data: unknown; writes: DataWrite[] }
  /** Requests per identity across its connections. */
  requestRate: RateTable
  log(line: string): void
}

type Outcome = 'ok' | 'error' | 'unknown_method' | 'bad_request' | 'internal' | 'too_large' | 'limit'

/** Runs of a method whose writes met a changed precondition, before giving up with `internal`. */
const MAX_CONFLICT_RUNS = 8
/** Waits between looks at a request another instance is running. */
const BUSY_WAIT_MS = [10, 25, 50, 100, 200]

/** The requests of one connection: effectful ones take effect in the order they came. */
export interface RequestLane {
  /** Settles once every effectful request so far is done. */
  effects: Promise<void>
}

/** A lane with nothing running. */
export function newLane(): RequestLane {
  return { effects: Promise.resolve() }
}

function noop(): void {}

/**
 * The store could not claim or commit a request: its work is lost, and its connection must go
 * so that the client re-sends it (an `internal` answer would end the request for good).
 */
class StoreFailed extends Error {
  constructor(readonly reason: unknown) {
    super('the store could not record the request')
  }
}

export class Dispatcher {
  private readonly deps: DispatcherDeps
  /** Requests running on this instance, by identity and id: a repeat waits for the first. */
  private readonly running = new Map<string, Promise<string>>()

  constructor(deps: DispatcherDeps) {
    this.deps = deps
  }

  /**
   * Answers one request of `session` into its reply slot (in the order requests came). A
   * request starts once the effectful requests before it on `lane` (its connection) are done,
   * so it sees their effects; safe requests hold nothing up.
   */
  dispatch(session: ActiveSession, frame: ReqFrame, reply: ReplySlot, lane: RequestLane): void {
    const { metrics } = this.deps
    const nowMs = Date.now()
    // One identity's flood, on any number of connections, cannot slow the others: it is refused.
    if (!this.deps.requestRate.take(session.identity, nowMs)) {
      reply.send(failureFrame(frame.id, 'limit', 'too many requests from this identity: slow down'))
      metrics.requests.inc({ method: '(limited)', outcome: 'limit' })
      metrics.limited.inc({ limit: 'requests_per_identity' })
      return
    }
    const before = lane.effects
    if (frame.method === '$subscribe' || frame.method === '$unsubscribe') {
      lane.effects = before.then(() => this.subscriptions(session, frame, reply))
      return
    }
    const safe = frame.problem === undefined && isMethodName(frame.method) && this.deps.methods.get(frame.method)?.safe === true
    const key = `${session.identity.length}:${session.identity}:${frame.id}`
    const earlier = this.running.get(key)
    if (earlier) {
      // The same id again while it runs here (a re-send on a new connection): one run, two answers.
      earlier.then(
        (resText) => reply.send(resText),
        () => reply.lost(),
      )
      return
    }
    let sent = false
    const send = (resText: string): void => {
      if (sent) return
      sent = true
      reply.send(resText)
    }
    const job = before.then(() => this.answer(session, frame, nowMs, reply.maxFrameBytes, send))
    if (!safe) lane.effects = job.then(noop, noop)
    this.running.set(key, job)
    job.then(
      (resText) => {
        this.running.delete(key)
        send(resText)
      },
      (error: unknown) => {
        this.running.delete(key)
        if (error instanceof StoreFailed) {
          this.deps.log(`request ${frame.id} lost: ${describeError(error.reason)}`)
          reply.lost()
          return
        }
        this.deps.log(`method ${frame.method} failed for request ${frame.id}: ${describeError(error)}`)
        metrics.requests.inc({ method: this.label(frame), outcome: 'internal' })
        send(failureFrame(frame.id, 'internal', 'internal error'))
      },
    )
  }

  /** The answer of a request; `early` may send it as soon as it is committed (before its pushes are delivered). */
  private async answer(session: ActiveSession, frame: ReqFrame, nowMs: number, maxFrameBytes: number, early: (resText: string) => void): Promise<string> {
    const { store } = this.deps
    const method = frame.problem === undefined && isMethodName(frame.method) ? this.deps.methods.get(frame.method) : undefined
    // A safe method runs again on a repeated id (PROTOCOL.md): no remembered answer to look up.
    if (method?.safe) return this.runSafe(session, frame, method, nowMs)
    for (let wait = 0; ; wait += 1) {
      const claim = await store.claim(session.identity, answerKey(frame.id), nowMs).catch((error: unknown) => {
        throw new StoreFailed(error)
      })
      if (claim.kind === 'answered') return this.remembered(claim.resText)
      if (claim.kind === 'busy') {
        await delay(BUSY_WAIT_MS[Math.min(wait, BUSY_WAIT_MS.length - 1)])
        continue
      }
      const outcome = await this.runOnce(session, frame, method, claim.claim, nowMs, maxFrameBytes, early)
      if (outcome.kind === 'done') return outcome.resText
      if (outcome.kind === 'answered') return this.remembered(outcome.resText)
      // Our claim lapsed and another instance holds it now: look again.
    }
  }

  /** Runs an effectful method (or refuses the request) under `claim` and commits its answer with its effects. */
  private async runOnce(
    session: ActiveSession,
    frame: ReqFrame,
    method: MethodDefinition | undefined,
    claim: string,
    nowMs: number,
    maxFrameBytes: number,
    early: (resText: string) => void,
  ): Promise<{ kind: 'done'; resText: string } | { kind: 'answered'; resText: string } | { kind: 'claimed' }> {
    const { store, metrics } = this.deps
    for (let run = 1; ; run += 1) {
      const writes: DataWrite[] = []
      const pushes: PushSpec[] = []
      let resText: string
      let outcome: Outcome = 'ok'
      if (frame.problem !== undefined) {
        resText = failureFrame(frame.id, 'bad_request', frame.problem)
        outcome = 'bad_request'
      } else if (!method) {
        resText = failureFrame(frame.id, 'unknown_method', `unknown method ${JSON.stringify(frame.method)}`)
        outcome = 'unknown_method'
      } else {
        try {
          resText = resultFrame(frame.id, await method.run(frame.params, this.context(session, nowMs, writes, pushes)))
        } catch (error) {
          if (!isCodedError(error)) {
            // Not remembered: nothing was committed, so a re-sent id may run again.
            await store.release(session.identity, answerKey(frame.id), claim).catch(() => undefined)
            throw error
          }
          outcome = 'error'
          resText = failureFrame(frame.id, error.code, error.message)
          // A method that fails has no effect.
          writes.length = 0
          pushes.length = 0
        }
      }
      const sized = fittedAnswer(frame.id, resText, maxFrameBytes)
      if (sized !== resText) outcome = 'too_large'
      // What the client is told is what a re-sent id gets: the too_large answer included.
      resText = sized
      let committed: CommitOutcome
      try {
        committed = await store.commit(
          { nowMs, answer: { identity: session.identity, id: answerKey(frame.id), claim, resText }, writes, pushes },
          (result) => {
            if (result.ok) early(resText)
          },
        )
      } catch (error) {
        throw new StoreFailed(error)
      }
      if (committed.ok) {
        metrics.requests.inc({ method: this.label(frame), outcome })
        metrics.pushes.inc(committed.reached.reduce((sum, n) => sum + n, 0))
        return { kind: 'done', resText }
      }
      if (committed.reason === 'answered') return { kind: 'answered', resText: committed.resText }
      if (committed.reason === 'claimed') return { kind: 'claimed' }
      if (run >= MAX_CONFLICT_RUNS) {
        await store.release(session.identity, answerKey(frame.id), claim).catch(() => undefined)
        throw new Error(`its writes met changed data ${run} times in a row`)
      }
    }
  }

  private async runSafe(session: ActiveSession, frame: ReqFrame, method: MethodDefinition, nowMs: number): Promise<string> {
    const writes: DataWrite[] = []
    const pushes: PushSpec[] = []
    let resText: string
    let outcome: Outcome = 'ok'
    try {
      resText = resultFrame(frame.id, await method.run(frame.params, this.context(session, nowMs, writes, pushes)))
    } catch (error) {
      if (!isCodedError(error)) throw error
      outcome = 'error'
      resText = failureFrame(frame.id, error.code, error.message)
    }
    if (writes.length > 0 || pushes.length > 0) {
      this.deps.log(`safe method ${frame.method} asked for writes or pushes: ignored (declare it effectful)`)
    }
    this.deps.metrics.requests.inc({ method: frame.method, outcome })
    return resText
  }

  /** The metrics label of a request's method: only names of the table, so a client cannot grow the label set. */
  private label(frame: ReqFrame): string {
    if (frame.problem !== undefined) return '(invalid)'
    return isMethodName(frame.method) && this.deps.methods.has(frame.method) ? frame.method : '(unknown)'
  }

  /** A remembered answer; its slot sizes it to this client's limit, which may be smaller now. */
  private remembered(resText: string): string {
    this.deps.metrics.dedupeHits.inc()
    return resText
  }

  private context(session: ActiveSession, nowMs: number, writes: DataWrite[], pushes: PushSpec[]): MethodContext {
    return {
      sid: session.sid,
      identity: session.identity,
      nowMs,
      records: this.deps.store.records,
      publish: (topic, data, to) => {
        const announced = this.deps.announce(topic, data, nowMs)
        pushes.push(this.deps.pushSpec(targetOf(to), topic, announced.data))
        writes.push(...announced.writes)
      },
      change: (write) => {
        writes.push(write)
      },
    }
  }

  /**
   * `$subscribe` / `$unsubscribe` with `{ topics: string[] }`: the session's topics after the
   * change. Safe: a repeated id just answers the current topics again.
   */
  private async subscriptions(session: ActiveSession, frame: ReqFrame, reply: ReplySlot): Promise<void> {
    const subscribe = frame.method === '$subscribe'
    let resText: string
    let outcome: Outcome = 'ok'
    try {
      const topics = topicsParam(frame.params)
      const after = new Set([...session.topics, ...(subscribe ? topics : [])])
      if (subscribe && after.size > MAX_TOPICS_PER_SESSION) {
        throw new CodedError('limit', `a session may subscribe to at most ${MAX_TOPICS_PER_SESSION} topics`)
      }
      const now = await this.deps.store.setTopics(session.sid, session.gen, topics, subscribe, Date.now())
      if (now === null) throw new CodedError('replaced', 'the session was resumed by a newer connection')
      session.topics = new Set(now)
      resText = resultFrame(frame.id, { topics: now })
    } catch (error) {
      if (!isCodedError(error)) {
        this.deps.log(`${frame.method} failed: ${describeError(error)}`)
        reply.lost()
        return
      }
      outcome = error.code === 'limit' ? 'limit' : 'bad_request'
      resText = failureFrame(frame.id, error.code, error.message)
    }
    reply.send(resText)
    this.deps.metrics.requests.inc({ method: frame.method, outcome })
  }
}

function topicsParam(params: unknown): string[] {
  const topics = params !== null && typeof params === 'object' && !Array.isArray(params) && Object.prototype.hasOwnProperty.call(params, 'topics')
    ? (params as { topics: unknown }).topics
    : undefined
  if (!Array.isArray(topics) || topics.length > MAX_TOPICS_PER_SESSION || !topics.every((topic) => isStorableName(topic, MAX_TOPIC_LENGTH))) {
    throw new CodedError('bad_request', `params must be { topics: string[] } with at most ${MAX_TOPICS_PER_SESSION} topics of 1..${MAX_TOPIC_LENGTH} characters (well-formed UTF-16)`)
  }
  return topics as string[]
}

/** The push target of an address. */
export function targetOf(to: PushAddress): PushTarget {
  if (to === undefined) return { kind: 'all' }
  if ('user' in to) return { kind: 'user', user: to.user }
  return { kind: 'topic', topic: to.topic }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, CLAIM_LEASE_MS)))
}
