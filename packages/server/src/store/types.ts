/**
 * Everything the protocol keeps, behind one interface with two implementations: the embedded
 * SQLite store (one instance, the default) and the Redis store (any number of instances).
 *
 * The rules both keep (test/server/store-contract.test.ts runs the same suite on each):
 * - A session belongs to one identity and numbers its pushes 1, 2, 3 …; a push to many
 *   sessions is appended to each log once, atomically with the commit that made it.
 * - Attaching a session raises its generation. Deliveries and writes carry the generation they
 *   were made for, so a connection that lost its session (4410) is fenced off wherever it is.
 * - A commit is all or nothing: the answer of a request, the data writes of its method (whose
 *   preconditions are checked at commit time) and the pushes it made.
 * - Pushes reach the instance their session is attached to through `StoreEvents.delivered`, in
 *   seq order per session; a lost delivery is noticed (`resync`) and filled from the log.
 */
/** Who a push is for (PROTOCOL.md "Identity, topics and targeted pushes"). */
export type PushTarget = { kind: 'all' } | { kind: 'user'; user: string } | { kind: 'topic'; topic: string }

/** A push of one session: `data` is its JSON text, null when the push had none. */
export interface StoredPush {
  seq: number
  topic: string
  data: string | null
}

/** A session as the connection that attached it holds it. */
export interface SessionLease {
  readonly sid: string
  readonly identity: string
  /** Grows with every attach of the session; what carries an older one is fenced off. */
  readonly gen: number
  /** The seq of the session's last push when it was attached (0 before its first). */
  readonly lastSeq: number
  readonly topics: readonly string[]
}

export interface AttachRequest {
  identity: string
  /** The session asked to resume (hello.sid). */
  sid?: string
  /** hello.ack: pushes after it are replayed when the session resumes. */
  ack: number
  nowMs: number
}

export type AttachOutcome = { ok: true; lease: SessionLease; resumed: boolean } | { ok: false; message: string }

/** A push to append: its target, topic and data as JSON text (null: no data). */
export interface PushSpec {
  target: PushTarget
  topic: string
  dataJson: string | null
}

/**
 * A change of the app's data made by a method or a push, committed with the request's answer
 * and its pushes. Stores `doc` (JSON text) as record `id` of `collection`, replacing one with
 * that id, ranked by `rank` (pages list the highest first, then the latest stored). `sums`
 * (safe integers) are added to the collection's totals, and a replaced record's leave them.
 * `ifDoc`: only if the record's text is this at commit (null: only if there is none); when it
 * is not, nothing of the commit is done (`conflict`) and the method runs again.
 */
export interface DataWrite {
  collection: string
  id: string
  doc: string
  rank: number
  sums?: Readonly<Record<string, number>>
  ifDoc?: string | null
}

/** A record of the app's data as stored. */
export interface StoredRecord {
  id: string
  doc: string
  rank: number
}

/** One page of a collection, newest first, with the totals of all of it. */
export interface RecordPage {
  records: StoredRecord[]
  /** Older records exist beyond this page. */
  hasMore: boolean
  /** Records in the collection. */
  count: number
  /** The collection's sums, by name (0 for a name no record carries). */
  sums: Record<string, number>
}

/** The answer of an effectful request, remembered per identity. */
export interface AnswerSpec {
  identity: string
  id: string
  /** The claim taken with Store.claim (its token). */
  claim: string
  resText: string
}

export interface CommitSpec {
  nowMs: number
  answer?: AnswerSpec
  writes?: readonly DataWrite[]
  pushes?: readonly PushSpec[]
}

export type CommitOutcome =
  /** Committed: the number of sessions each push reached, in order. */
  | { ok: true; reached: number[] }
  /** A write's precondition failed: nothing was done; run the method again. */
  | { ok: false; reason: 'conflict' }
  /** The request was answered meanwhile (its claim had lapsed): nothing was done; this is its answer. */
  | { ok: false; reason: 'answered'; resText: string }
  /** Another instance holds the request's claim now: nothing was done; claim again. */
  | { ok: false; reason: 'claimed' }

export type ClaimOutcome =
  | { kind: 'answered'; resText: string }
  /** Ours until committed or released (or until it lapses, after CLAIM_LEASE_MS). */
  | { kind: 'claimed'; claim: string }
  /** Another instance is running this request now. */
  | { kind: 'busy' }

/** A push reaching sessions attached to this instance: [sid, gen, seq] each. */
export interface DeliveryBatch {
  topic: string
  dataJson: string | null
  to: ReadonlyArray<readonly [sid: string, gen: number, seq: number]>
}

/** What a store tells the instance it serves. */
export interface StoreEvents {
  delivered(batch: DeliveryBatch): void
  /** Session `sid` was attached with generation `gen`: a connection here with an older one must go. */
  replaced(sid: string, gen: number): void
  /** Deliveries may have been missed (the bus reconnected): check every attached session. */
  resync(): void
}

/** Where a session stands now. */
export interface SessionPosition {
  lastSeq: number
  gen: number
}

/** Reads of the app's data. */
export interface RecordReader {
  get(collection: string, id: string): Promise<StoredRecord | undefined>
  /** The `limit` newest records older than record `before` (the newest with none); null when `before` is no record. */
  page(collection: string, page: { limit: number; before?: string }): Promise<RecordPage | null>
  count(collection: string): Promise<number>
}

/** How long a claim holds a request for the instance running it: longer than any method runs. */
export const CLAIM_LEASE_MS = 10_000

export interface Store {
  readonly kind: 'sqlite' | 'redis'
  /** Where the data lives, for the start-up log line. */
  describe(): string
  /** Where deliveries and takeovers for this instance go (set once, before the first attach). */
  listen(events: StoreEvents): void
  /**
   * Attaches a session of `identity` to this instance: the asked one when it is the identity's
   * and every push after `ack` is still held (resumed), else a new one; the connection that
   * held it before, on any instance, is told to go (`replaced`). `ok: false` when the identity
   * (or the server) holds its maximum of sessions and all of them are connected.
   */
  attach(request: AttachRequest): Promise<AttachOutcome>
  /** The session's last seq and generation now, or undefined when it is gone. */
  position(sid: string): Promise<SessionPosition | undefined>
  /** The connection of generation `gen` left: the session's expiry clock starts (when it still holds it). */
  detach(sid: string, gen: number, nowMs: number): void
  /** A cumulative ack of generation `gen`; written with the next flush. */
  ack(sid: string, gen: number, seq: number): void
  /** Adds (or removes) topics; the session's topics after, or null when `gen` no longer holds it. */
  setTopics(sid: string, gen: number, topics: readonly string[], subscribe: boolean, nowMs: number): Promise<string[] | null>
  /** Up to `limit` pushes of the session with seq >= `fromSeq`, in order (fewer when the log lost them). */
  pushesFrom(sid: string, fromSeq: number, limit: number): Promise<StoredPush[]>
  /** The remembered answer of a request of `identity`, or undefined. */
  findAnswer(identity: string, id: string, nowMs: number): Promise<string | undefined>
  /** Takes the right to run a request, unless it was answered or another instance runs it. */
  claim(identity: string, id: string, nowMs: number): Promise<ClaimOutcome>
  /** Gives a claim back (the method failed without effect): a re-sent id may run again. */
  release(identity: string, id: string, claim: string): Promise<void>
  /**
   * Commits atomically. `onCommitted` runs once it is durable, before its pushes are delivered
   * here (so a `res` can go out before the pushes its method made).
   */
  commit(spec: CommitSpec, onCommitted?: (outcome: CommitOutcome) => void): Promise<CommitOutcome>
  readonly records: RecordReader
  /**
   * The first time `flag` is asked of this store (it is remembered), commits `writes` if
   * `collection` is empty; returns how many records were stored.
   */
  seedOnce(flag: string, collection: string, writes: readonly DataWrite[], nowMs: number): Promise<number>
  /** Writes what is batched (acks, last-use clocks). */
  flush(): Promise<void>
  /** Keeps the sessions attached here alive, expires idle ones and writes what is batched. */
  sweep(nowMs: number, attached: ReadonlyArray<readonly [sid: string, gen: number]>): Promise<void>
  /** Sessions held, as last counted (for metrics). */
  sessionCount(): number
  /** Writes what is batched and lets go of the storage. */
  close(): Promise<void>
}
