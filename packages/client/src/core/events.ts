import { SocketError, describeError } from './errors'
import { ListenerSet } from './listeners'
import type { PushMessage, SocketEventName, SocketEvents } from './types'

type EngineEventMap = SocketEvents
type EngineEventName = SocketEventName

/**
 * The listeners of one engine: events and topic subscribers. A listener that throws is
 * reported as 'listener_failed' through `report` and the others still run; an 'error'
 * listener that throws goes to console.error, since it cannot report itself.
 */
export class EngineEvents {
  private readonly sets: { [K in EngineEventName]: ListenerSet<Parameters<EngineEventMap[K]>> } = {
    push: new ListenerSet(),
    reset: new ListenerSet(),
    error: new ListenerSet(),
    message: new ListenerSet(),
    response: new ListenerSet(),
  }
  private readonly topics = new Map<string, ListenerSet<[unknown, PushMessage]>>()

  constructor(private readonly report: (error: SocketError) => void) {}

  /** Adds a listener; returns the function that removes it. Throws 'invalid_argument' for an unknown event. */
  on<K extends EngineEventName>(event: K, listener: EngineEventMap[K]): () => void {
    if (!Object.prototype.hasOwnProperty.call(this.sets, event)) {
      throw new SocketError('invalid_argument', `unknown event ${JSON.stringify(event)}`)
    }
    const set = this.sets[event] as ListenerSet<Parameters<EngineEventMap[K]>>
    return set.add(listener as (...args: Parameters<EngineEventMap[K]>) => void)
  }

  /** Adds a subscriber of one topic; returns the function that removes it. */
  subscribe(topic: string, listener: (data: unknown, push: PushMessage) => void): () => void {
    let set = this.topics.get(topic)
    if (!set) {
      set = new ListenerSet()
      this.topics.set(topic, set)
    }
    const remove = set.add(listener)
    const owner = set
    return () => {
      remove()
      if (owner.size === 0 && this.topics.get(topic) === owner) this.topics.delete(topic)
    }
  }

  emit<K extends Exclude<EngineEventName, 'error'>>(event: K, ...args: Parameters<EngineEventMap[K]>): void {
    const set = this.sets[event] as ListenerSet<Parameters<EngineEventMap[K]>>
    set.emit((error) => this.listenerFailed(event, error), ...args)
  }

  emitError(error: SocketError): void {
    this.sets.error.emit((thrown) => console.error('[socket] an error listener threw', thrown), error)
  }

  /** Calls the subscribers of `push.topic`. */
  deliverToTopic(push: PushMessage): void {
    this.topics.get(push.topic)?.emit((error) => this.listenerFailed(`subscribe(${push.topic})`, error), push.data, push)
  }

  clear(): void {
    for (const set of Object.values(this.sets)) set.clear()
    this.topics.clear()
  }

  private listenerFailed(where: string, error: unknown): void {
    this.report(new SocketError('listener_failed', `a ${where} listener threw: ${describeError(error)}`, { cause: error }))
  }
}
