/**
 * Answers leave in the order their requests came (PROTOCOL.md: "within one connection,
 * requests are answered in the order sent"), although requests are worked on at once and
 * finish in any order: each request takes a slot when it arrives, and a slot's answer is
 * written once every slot before it has one.
 */

import { fittedAnswer } from './protocol'

/** Where one request's answer goes; every answer is sized to the client's limit here. */
export interface ReplySlot {
  /** The largest frame the client accepts (hello.max). */
  readonly maxFrameBytes: number
  /** The answer: written once the answers of every earlier request are, as `too_large` when over the limit. */
  send(resText: string): void
  /** The request's work was lost (its commit failed): the connection cannot be trusted any more. */
  lost(): void
}

export class ReplyQueue {
  private readonly waiting: Array<{ text: string | null }> = []
  private idle: Array<() => void> = []

  constructor(
    private readonly sink: { write(text: string): void; lost(): void; readonly maxFrameBytes: number },
  ) {}

  /** Answers not written yet. */
  get pending(): number {
    return this.waiting.length
  }

  /** A slot for request `id`, which just arrived. */
  reserve(id: string): ReplySlot {
    const entry: { text: string | null } = { text: null }
    this.waiting.push(entry)
    let settled = false
    const sink = this.sink
    return {
      get maxFrameBytes() {
        return sink.maxFrameBytes
      },
      send: (text) => {
        if (settled) return
        settled = true
        entry.text = fittedAnswer(id, text, sink.maxFrameBytes)
        this.release()
      },
      lost: () => {
        if (settled) return
        settled = true
        this.sink.lost()
      },
    }
  }

  /** Runs `action` once every slot taken so far is answered (at once when none waits). */
  whenIdle(action: () => void): void {
    if (this.waiting.length === 0) action()
    else this.idle.push(action)
  }

  /** Forgets every waiting answer (the connection is gone). */
  clear(): void {
    this.waiting.length = 0
    this.runIdle()
  }

  private release(): void {
    while (this.waiting.length > 0 && this.waiting[0].text !== null) {
      this.sink.write(this.waiting.shift()!.text as string)
    }
    if (this.waiting.length === 0) this.runIdle()
  }

  private runIdle(): void {
    const actions = this.idle
    this.idle = []
    for (const action of actions) action()
  }
}
