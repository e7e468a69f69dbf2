/**
 * Answers `req` frames exactly once per request id: a repeated id gets the remembered `res`
 * and the method does not run again. A method's effect and its remembered answer commit in one
 * transaction before the `res` is written.
 */
import type { Database, FrameWriter } from './database'
import { describeError, isCodedError } from './errors'
import type { ServerMetrics } from './metrics'
import { failureFrame, isMethodName, resultFrame } from './protocol'
import type { ReqFrame } from './protocol'
import type { SessionState, SessionStore } from './session-store'

/** What a method sees besides its params. */
export interface MethodContext {
  /** The calling session's id. */
  readonly sid: string
  /** Wall-clock time of the call (ms since epoch). */
  readonly nowMs: number
  /**
   * Appends a push to every session inside the method's transaction; it is sent only if the
   * method succeeds. Returns the number of sessions reached.
   */
  publish(topic: string, data?: unknown): number
}

/**
 * A method: synchronous, so its database writes share the request's transaction. Throw a
 * CodedError for a method-specific failure; any other throw answers `internal`.
 */
export type MethodHandler = (params: unknown, context: MethodContext) => unknown

export interface DispatcherDeps {
  db: Database
  store: SessionStore
  methods: ReadonlyMap<string, MethodHandler>
  metrics: ServerMetrics
  publish(topic: string, data?: unknown): number
  log(line: string): void
}

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
  dispatch(session: SessionState, frame: ReqFrame, replyTo: FrameWriter): void {
    const { db, store, metrics } = this.deps
    db.joinBatch()
    const remembered = store.findAnswer(session, frame.id)
    if (remembered !== undefined) {
      metrics.dedupeHits.inc()
      db.writeAfterCommit(replyTo, remembered)
      return
    }
    const handler = isMethodName(frame.method) ? this.deps.methods.get(frame.method) : undefined
    const methodLabel = handler ? frame.method : '(unknown)'
    if (!handler) {
      this.answerFailure(session, frame.id, 'unknown_method', `unknown method "${frame.method.slice(0, 64)}"`, replyTo)
      metrics.requests.inc({ method: methodLabel, outcome: 'unknown_method' })
      return
    }
    const context: MethodContext = {
      sid: session.sid,
      nowMs: Date.now(),
      publish: (topic, data) => this.deps.publish(topic, data),
    }
    try {
      let resText = ''
      db.transaction(() => {
        // Queued before the method runs, so the res goes out before any push it publishes.
        db.afterCommit(() => replyTo.write(resText))
        resText = resultFrame(frame.id, handler(frame.params, context))
        store.rememberAnswer(session, frame.id, resText)
      })
      metrics.requests.inc({ method: methodLabel, outcome: 'ok' })
    } catch (error) {
      if (isCodedError(error)) {
        this.answerFailure(session, frame.id, error.code, error.message, replyTo)
        metrics.requests.inc({ method: methodLabel, outcome: 'error' })
      } else {
        // Not remembered: the effects were rolled back, so a re-sent id may safely run again.
        this.deps.log(`method ${frame.method} failed for request ${frame.id}: ${describeError(error)}`)
        db.writeAfterCommit(replyTo, failureFrame(frame.id, 'internal', 'internal error'))
        metrics.requests.inc({ method: methodLabel, outcome: 'internal' })
      }
    }
  }

  private answerFailure(session: SessionState, id: string, code: string, message: string, replyTo: FrameWriter): void {
    const resText = failureFrame(id, code, message)
    this.deps.db.transaction(() => {
      this.deps.store.rememberAnswer(session, id, resText)
      this.deps.db.writeAfterCommit(replyTo, resText)
    })
  }
}
