import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import type { SocketError } from '../../packages/client/src/core/errors'
import type { EngineOptions, ResponseMessage } from '../../packages/client/src/core/types'
import { createWsPlatform, type WsPlatform } from '../../test/helpers/ws-platform'
import type { SoakLedger } from './ledger'
import { isPoisonFrame } from './poison'
import { pushKey } from './workload'

/** How the soak's engines are made. */
export interface SoakClientOptions {
  url: string
  token: string
  engine: Partial<EngineOptions>
  /** Book some deliveries wrong on purpose (see soak.ts --sabotage). */
  sabotage: boolean
}

/**
 * One app install: an engine on a ws platform whose storage outlives relaunches. Every
 * delivered push goes to the ledger; answers to requests restored after a relaunch come
 * through the engine's 'response' event and go to the ledger too.
 */
export class SoakClient {
  engine: SocketEngine
  platform: WsPlatform
  launches = 1
  resets = 0
  /** Responses to restored requests the soak could not match to a request. */
  unmatchedResponses = 0
  /** Answers to poison requests restored after a relaunch (they are not the ledger's). */
  poisonAnswersAfterRelaunch = 0
  /** Requests found in storage by a relaunched engine, and those of them answered through 'response'. */
  restoredRequests = 0
  restoredAnswers = 0
  readonly errors: Record<string, number> = {}
  private deliveries = 0
  private heldBack: string | null = null
  private swapped = false

  constructor(
    readonly index: number,
    private readonly options: SoakClientOptions,
    private readonly ledger: SoakLedger,
  ) {
    this.platform = createWsPlatform()
    this.engine = this.launch()
  }

  /**
   * Kills the app and launches it again. WeChat hides a mini-program before it can kill it
   * (the user leaves it, or it is reclaimed in the background), so the engine hears appHide()
   * first and writes what it holds; then storage is taken as it is at this instant (what a
   * killed process leaves), the old engine is destroyed (its waiting requests are rejected
   * with `destroyed` and ignored: their answers are owed to the next launch), and a new engine
   * starts on that storage.
   */
  relaunch(): void {
    this.engine.appHide()
    const storage = new Map(this.platform.storage)
    this.engine.destroy()
    this.platform.dispose()
    this.platform = createWsPlatform({ storage })
    this.launches += 1
    this.engine = this.launch()
  }

  /** Stops the engine and its sockets for good. */
  dispose(): void {
    this.engine.destroy()
    this.platform.dispose()
  }

  private launch(): SocketEngine {
    const engine = createSocketEngine(this.platform, {
      url: this.options.url,
      token: this.options.token,
      storageKeyPrefix: `soak${this.index}:`,
      ...this.options.engine,
    })
    // Requests restored from storage: their v1 frames say what they asked.
    const restored = new Map<string, string>()
    const restoredPoison = new Set<string>()
    for (const entry of engine.store.getState().queue) {
      if (isPoisonFrame(entry.frame)) {
        restoredPoison.add(entry.id)
        continue
      }
      const key = this.keyOfFrame(entry.frame)
      if (key !== undefined) restored.set(entry.id, key)
    }
    this.restoredRequests += restored.size
    engine.on('push', (push) => this.book(pushKey(push)))
    engine.on('response', (response) => {
      if (restoredPoison.delete(response.id)) this.poisonAnswersAfterRelaunch += 1
      else this.restoredAnswer(restored, response)
    })
    engine.on('reset', () => {
      this.resets += 1
    })
    engine.on('error', (error: SocketError) => {
      this.errors[error.code] = (this.errors[error.code] ?? 0) + 1
    })
    engine.connect()
    return engine
  }

  private keyOfFrame(frame: string): string | undefined {
    const req = JSON.parse(frame) as { method?: string; params?: unknown }
    if (req.method === 'echo' && typeof req.params === 'string') return this.ledger.keyOf('echo', req.params)
    const orderId = (req.params as { id?: unknown } | undefined)?.id
    if (req.method === 'order.confirm' && typeof orderId === 'string') return this.ledger.keyOf('order.confirm', orderId)
    return undefined
  }

  private restoredAnswer(restored: Map<string, string>, response: ResponseMessage): void {
    const key = restored.get(response.id)
    if (key === undefined) {
      this.unmatchedResponses += 1
      return
    }
    this.restoredAnswers += 1
    if (!response.ok) {
      this.ledger.failed(key, response.error?.code ?? 'unknown', true)
      return
    }
    const result = response.result as { id?: unknown } | string | undefined
    const subject = typeof result === 'string' ? result : String((result as { id?: unknown } | undefined)?.id)
    this.ledger.answered(key, subject, true)
  }

  private book(key: string): void {
    this.deliveries += 1
    if (this.options.sabotage) {
      // A few deliveries are booked twice, a few not at all, and one pair the wrong way round.
      if (this.deliveries % 997 === 0) this.ledger.delivered(this.index, key)
      if (this.deliveries % 1009 === 0) return
      if (this.deliveries >= 500 && !this.swapped && key.startsWith('tick:')) {
        this.swapped = true
        this.heldBack = key
        return
      }
    }
    this.ledger.delivered(this.index, key)
    if (this.heldBack !== null && this.heldBack !== key && !key.startsWith('updated:')) {
      this.ledger.delivered(this.index, this.heldBack)
      this.heldBack = null
    }
  }
}
