import type { SocketEngine } from './engine'
import type { PushMessage } from './types'

/** What a page receives: v1 pushes, or plain-mode messages routed by their `method`. */
export type PageMessage =
  | { kind: 'push'; topic: string; data: unknown; seq: number }
  | { kind: 'message'; method: string | null; message: unknown }
  /** The server lost the session (`welcome.resumed: false`): what the page holds is stale. */
  | { kind: 'reset' }

export type PageMessageHandler = (message: PageMessage) => void

interface Binding {
  owner: object
  handler: PageMessageHandler
}

/**
 * Routes pushes to the one page that is shown. Pages bind on show and release on hide or
 * unmount; a release by a page that is no longer the owner is ignored, so a late `onHide`
 * of the previous page cannot unbind the page that just appeared.
 */
export class PageHandlerRouter {
  private binding: Binding | null = null
  private readonly unsubscribe: Array<() => void>

  constructor(engine: SocketEngine, private readonly reportError: (error: unknown) => void = defaultReport) {
    this.unsubscribe = [
      engine.on('push', (push: PushMessage) => this.deliver({ kind: 'push', topic: push.topic, data: push.data, seq: push.seq })),
      engine.on('message', (message: unknown) => this.deliver({ kind: 'message', method: methodOf(message), message })),
      engine.on('reset', () => this.deliver({ kind: 'reset' })),
    ]
  }

  /** Makes `handler` the shown page's handler, replacing whichever page held it. */
  bind(owner: object, handler: PageMessageHandler): void {
    this.binding = { owner, handler }
  }

  /** Releases the handler if `owner` still holds it. */
  release(owner: object): void {
    if (this.binding?.owner === owner) this.binding = null
  }

  /** The owner currently bound, if any. */
  get activeOwner(): object | null {
    return this.binding?.owner ?? null
  }

  dispose(): void {
    for (const stop of this.unsubscribe) stop()
    this.binding = null
  }

  private deliver(message: PageMessage): void {
    const binding = this.binding
    if (!binding) return
    try {
      binding.handler(message)
    } catch (error) {
      // A page's bug must not stop the engine from delivering the next push.
      this.reportError(error)
    }
  }
}

function methodOf(message: unknown): string | null {
  if (message && typeof message === 'object' && typeof (message as { method?: unknown }).method === 'string') {
    return (message as { method: string }).method
  }
  return null
}

function defaultReport(error: unknown): void {
  console.error('[socket] a page message handler threw', error)
}
