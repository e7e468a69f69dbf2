/** The optional order simulator of `npm run server:demo`: a new order every N ms. */
import type { NewOrder, OrderKind } from './orders'
import { SAMPLE_TITLES } from './seed'

const MIN_AMOUNT_FEN = 500
const MAX_AMOUNT_FEN = 50_000

/** A random new order; `random` returns numbers in [0, 1) like Math.random. */
export function randomNewOrder(random: () => number = Math.random): NewOrder {
  const kind: OrderKind = random() < 0.5 ? 'jdc' : 'jsz'
  const titles = SAMPLE_TITLES[kind]
  return {
    kind,
    title: titles[Math.floor(random() * titles.length)],
    amountFen: MIN_AMOUNT_FEN + Math.floor(random() * (MAX_AMOUNT_FEN - MIN_AMOUNT_FEN)),
  }
}

/**
 * Calls `tick` every `intervalMs` (errors go to `onError`, the timer keeps running). The timer
 * does not keep the process alive. Returns a stop function.
 */
export function startSimulator(intervalMs: number, tick: () => Promise<unknown>, onError: (error: unknown) => void): () => void {
  const timer = setInterval(() => {
    tick().catch(onError)
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
