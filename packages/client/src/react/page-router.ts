import type { AnySocketEngine } from '../core/socket-engine'
import type { PushMessage } from '../core/types'

/** What a page receives: pushes (plain mode: messages that answer no request), and resets. */
export type PageMessage =
  | { kind: 'push'; topic: string; data: unknown; seq: number }
  /** The server lost the session (`welcome.resumed: false`): what the page holds is stale. */
  | { kind: 'reset' }

export type PageMessageHandler = (message: PageMessage) => void

/**
 * Routes pushes to the handlers of the page that is shown, any number of them (the page and
 * its components). Each handler is bound by its own owner on show and released by that owner
 * on hide or unmount, so a late `onHide` of the previous page releases only that page's
 * handlers, and two handlers on one page never take each other's place.
 */
export class PageRouter {
  private readonly bindings = new Map<object, PageMessageHandler>()
  private readonly unsubscribe: Array<() => void>

  constructor(engine: Pick<AnySocketEngine, 'on'>, private readonly reportError: (error: unknown) => void = defaultReport) {
    this.unsubscribe = [
      engine.on('push', (push: PushMessage) => this.deliver({ kind: 'push', topic: push.topic, data: push.data, seq: push.seq })),
      engine.on('reset', () => this.deliver({ kind: 'reset' })),
    ]
  }

  /** Binds `owner`'s handler (replacing that owner's previous one, nobody else's). */
  bind(owner: object, handler: PageMessageHandler): void {
    this.bindings.set(owner, handler)
  }

  /** Releases `owner`'s handler, if bound. */
  release(owner: object): void {
    this.bindings.delete(owner)
  }

  /** How many handlers are bound. */
  get size(): number {
    return this.bindings.size
  }

  /** True when `owner` is bound. */
  isBound(owner: object): boolean {
    return this.bindings.has(owner)
  }

  dispose(): void {
    for (const stop of this.unsubscribe) stop()
    this.bindings.clear()
  }

  private deliver(message: PageMessage): void {
    for (const handler of [...this.bindings.values()]) {
      try {
        handler(message)
      } catch (error) {
        // A page's bug must not stop the next handler, or the next push.
        this.reportError(error)
      }
    }
  }
}

function defaultReport(error: unknown): void {
  console.error('[socket] a page message handler threw', error)
}
