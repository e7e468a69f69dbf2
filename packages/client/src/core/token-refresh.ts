import { SocketError, describeError } from './errors'

/**
 * One call of the app's token provider at a time. A call that is cancelled (close(), an
 * explicit connect()) still hands its token over, but no longer counts as "the" answer.
 */
export class TokenRefresh {
  private generation = 0
  private waiting = false

  /** True while a provider call that still counts has not answered. */
  get pending(): boolean {
    return this.waiting
  }

  /**
   * Calls `provider`. `onToken(token, current)` gets every string it answers; `current` is
   * false when the call was cancelled meanwhile. `onFailure` gets a SocketError
   * 'token_provider_failed' for a throw, a rejection or a non-string, for current calls only.
   */
  start(
    provider: () => string | Promise<string>,
    onToken: (token: string, current: boolean) => void,
    onFailure: (error: SocketError) => void,
  ): void {
    const generation = ++this.generation
    this.waiting = true
    const fail = (cause: unknown) => {
      if (generation !== this.generation) return
      this.waiting = false
      onFailure(new SocketError('token_provider_failed', `the token provider failed: ${describeError(cause)}`, { cause }))
    }
    let answer: string | Promise<string>
    try {
      answer = provider()
    } catch (error) {
      fail(error)
      return
    }
    Promise.resolve(answer).then((token: unknown) => {
      if (typeof token !== 'string') {
        fail(new TypeError(`the token provider gave ${typeof token}, not a string`))
        return
      }
      const current = generation === this.generation
      if (current) this.waiting = false
      onToken(token, current)
    }, fail)
  }

  /** The pending call, if any, no longer counts. */
  cancel(): void {
    if (!this.waiting) return
    this.waiting = false
    this.generation++
  }
}
