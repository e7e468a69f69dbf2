/**
 * The soak's books: what was asked and pushed, what each client got, and the counts that
 * must all be 0 at the end. Pure bookkeeping, no I/O.
 */

/** One request as made by the soak. */
export interface RequestRecord {
  key: string
  client: number
  method: 'echo' | 'order.confirm'
  /** The echoed payload or the order id. */
  subject: string
  outcome: 'pending' | 'ok' | 'failed'
  /** The error code when failed. */
  errorCode?: string
  /** The answer was not the one asked for (an echo of another payload, another order). */
  wrongAnswer: boolean
  /** How many answers reached the soak (a promise settles once; restored requests answer through events). */
  answers: number
  /** Answers saying the method had already run (`already_confirmed`): each is a second execution. */
  repeatRuns: number
}

/** The counts the soak fails on; every one must be 0. */
export interface SoakCounts {
  requestsLost: number
  requestsExecutedTwice: number
  wrongAnswers: number
  pushesLost: number
  pushesDeliveredTwice: number
  /** Deliveries of pushes the soak never published. */
  pushesUnexpected: number
  outOfOrder: number
}

/** A push the soak expects every client to receive exactly once. */
interface ExpectedPush {
  key: string
  /** Position in the order the server published it; null when no order is promised between topics. */
  order: number | null
}

export class SoakLedger {
  private readonly requests = new Map<string, RequestRecord>()
  private readonly keyBySubject = new Map<string, string>()
  private readonly expected = new Map<string, ExpectedPush>()
  /** Per client: how many times each push key was delivered. */
  private readonly received: Array<Map<string, number>>
  /** Per client: the highest publish order delivered so far. */
  private readonly highestOrder: number[]
  private readonly outOfOrderByClient: number[]
  /** Confirms whose order the server says is not confirmed at the end. */
  private unconfirmedOnServer = 0
  /** Orders the server reports confirmed more times than asked (from its records). */
  private serverDoubleExecutions = 0

  constructor(readonly clients: number) {
    this.received = Array.from({ length: clients }, () => new Map())
    this.highestOrder = Array.from({ length: clients }, () => 0)
    this.outOfOrderByClient = Array.from({ length: clients }, () => 0)
  }

  /** Records a request before it is made. */
  request(key: string, client: number, method: RequestRecord['method'], subject: string): void {
    if (this.requests.has(key)) throw new Error(`ledger: request ${key} recorded twice`)
    this.requests.set(key, { key, client, method, subject, outcome: 'pending', wrongAnswer: false, answers: 0, repeatRuns: 0 })
    this.keyBySubject.set(`${method} ${subject}`, key)
  }

  /** The key of the request for `method` about `subject` (payload or order id), if any. */
  keyOf(method: string, subject: string): string | undefined {
    return this.keyBySubject.get(`${method} ${subject}`)
  }

  /**
   * Records a successful answer; `answeredSubject` is what the answer says it is about.
   * `afterRelaunch`: the answer came to the next launch of an app killed while the request
   * was stored; when the killed launch had the answer already, this one is the server's
   * remembered copy, not a second answer.
   */
  answered(key: string, answeredSubject: string, afterRelaunch = false): void {
    const record = this.mustGet(key)
    if (!(afterRelaunch && record.outcome === 'ok')) record.answers += 1
    if (record.outcome === 'pending') record.outcome = 'ok'
    if (answeredSubject !== record.subject) record.wrongAnswer = true
  }

  /** Records a failed answer with its error code (see answered() for `afterRelaunch`). */
  failed(key: string, code: string, afterRelaunch = false): void {
    const record = this.mustGet(key)
    if (!(afterRelaunch && record.outcome !== 'pending')) record.answers += 1
    // Each order is confirmed by one request only: this answer means the confirm ran again.
    if (code === 'already_confirmed') record.repeatRuns += 1
    if (record.outcome === 'pending') {
      record.outcome = 'failed'
      record.errorCode = code
    }
  }

  /** Announces a push every client must get once; `order` is its place in the server's publish order. */
  expectPush(key: string, order: number | null): void {
    this.expected.set(key, { key, order })
  }

  /** Records a delivery of push `key` to `client`, in the order the client delivered them. */
  delivered(client: number, key: string): void {
    const counts = this.received[client]
    counts.set(key, (counts.get(key) ?? 0) + 1)
    const order = this.expected.get(key)?.order ?? null
    if (order === null) return
    if (order < this.highestOrder[client]) this.outOfOrderByClient[client] += 1
    else this.highestOrder[client] = order
  }

  /** The server's view at the end: order ids it does not hold as confirmed, and its own double-run count. */
  serverRecords(unconfirmedOrderIds: readonly string[], doubleExecutions: number): void {
    const confirmed = new Set(this.confirmSubjects())
    this.unconfirmedOnServer = unconfirmedOrderIds.filter((id) => confirmed.has(id)).length
    this.serverDoubleExecutions = doubleExecutions
  }

  /** Order ids that the soak asked to confirm. */
  confirmSubjects(): string[] {
    return [...this.requests.values()].filter((record) => record.method === 'order.confirm').map((record) => record.subject)
  }

  /** Requests not yet answered. */
  pendingRequests(): number {
    let pending = 0
    for (const record of this.requests.values()) if (record.outcome === 'pending') pending += 1
    return pending
  }

  /** Expected pushes `client` has not received yet. */
  missingPushes(client: number): number {
    let missing = 0
    for (const key of this.expected.keys()) if (!this.received[client].has(key)) missing += 1
    return missing
  }

  /** Requests and expected pushes recorded so far. */
  totals(): { requests: number; expectedPushes: number; deliveries: number } {
    let deliveries = 0
    for (const counts of this.received) for (const count of counts.values()) deliveries += count
    return { requests: this.requests.size, expectedPushes: this.expected.size, deliveries }
  }

  /** Failed requests by error code (for the printout). */
  failuresByCode(): Record<string, number> {
    const byCode: Record<string, number> = {}
    for (const record of this.requests.values()) {
      if (record.outcome === 'failed') byCode[record.errorCode ?? 'unknown'] = (byCode[record.errorCode ?? 'unknown'] ?? 0) + 1
    }
    return byCode
  }

  /**
   * The final counts. A request is lost when it never succeeded (still pending, or failed
   * with any code but `already_confirmed`); a confirm that got `already_confirmed` ran twice
   * (each order is confirmed by exactly one request), as did a request answered twice in one
   * launch, or one the server counts twice; a confirm the server does not hold as confirmed
   * is lost too.
   */
  counts(): SoakCounts {
    let requestsLost = this.unconfirmedOnServer
    let requestsExecutedTwice = this.serverDoubleExecutions
    let wrongAnswers = 0
    for (const record of this.requests.values()) {
      if (record.wrongAnswer) wrongAnswers += 1
      if (record.answers > 1 || record.repeatRuns > 0) requestsExecutedTwice += 1
      if (record.outcome !== 'ok' && record.errorCode !== 'already_confirmed') requestsLost += 1
    }
    // The order.updated of a confirm that did not succeed is not owed (the request is counted above).
    const notOwed = new Set<string>()
    for (const record of this.requests.values()) {
      if (record.method === 'order.confirm' && record.outcome !== 'ok') {
        notOwed.add(`updated:${record.subject}`)
        notOwed.add(`notice:${record.subject}`)
      }
    }
    let pushesLost = 0
    let pushesDeliveredTwice = 0
    let pushesUnexpected = 0
    for (const counts of this.received) {
      for (const key of this.expected.keys()) {
        if (notOwed.has(key)) continue
        const count = counts.get(key) ?? 0
        if (count === 0) pushesLost += 1
        if (count > 1) pushesDeliveredTwice += count - 1
      }
      for (const [key, count] of counts) if (!this.expected.has(key)) pushesUnexpected += count
    }
    const outOfOrder = this.outOfOrderByClient.reduce((sum, value) => sum + value, 0)
    return { requestsLost, requestsExecutedTwice, wrongAnswers, pushesLost, pushesDeliveredTwice, pushesUnexpected, outOfOrder }
  }

  private mustGet(key: string): RequestRecord {
    const record = this.requests.get(key)
    if (!record) throw new Error(`ledger: answer for unknown request ${key}`)
    return record
  }
}
