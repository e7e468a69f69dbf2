/**
 * The push sequence of one session (PROTOCOL.md, "Sessions, resume and exactly-once"):
 * which seq comes next, which were seen, and what still needs an ack.
 */
export type PushVerdict = 'deliver' | 'duplicate' | 'gap'

export class PushSequencer {
  private delivered: number
  private acked: number

  /** `lastSeq`: the last seq delivered before (restored from storage), 0 for a new session. */
  constructor(lastSeq: number) {
    this.delivered = lastSeq
    this.acked = lastSeq
  }

  /** The highest seq delivered. */
  get lastSeq(): number {
    return this.delivered
  }

  /** What to do with an incoming push of `seq`. */
  classify(seq: number): PushVerdict {
    if (seq <= this.delivered) return 'duplicate'
    if (seq > this.delivered + 1) return 'gap'
    return 'deliver'
  }

  /** Records the delivery of the next seq. */
  markDelivered(seq: number): void {
    this.delivered = seq
  }

  /** A hello carries ack = lastSeq, so a new connection starts fully acked. */
  connectionStarted(): void {
    this.acked = this.delivered
  }

  /** The server kept nothing (welcome.resumed false): start again at seq 0. */
  reset(): void {
    this.delivered = 0
    this.acked = 0
  }

  /** The seq to ack now, or null when everything delivered was acked; marks it acked. */
  takeAck(): number | null {
    if (this.delivered <= this.acked) return null
    this.acked = this.delivered
    return this.delivered
  }
}
