/**
 * Poison traffic beside the counted workload (PROTOCOL.md "Nothing a message carries can wedge a
 * connection"): on every client's engine, requests the server refuses, answers near and over
 * the client's frame limit, hostile params and sends the engine must refuse at once; on a raw
 * socket through the same proxy, frames no engine would send. Each poison has one acceptable
 * set of outcomes; anything else (a timeout above all: a wedged connection) is counted as
 * unexpected and fails the soak.
 */
import WebSocket from 'ws'
import type { SocketEngine } from '../../packages/client/src/core/socket-engine'
import { delay } from '../lib/wait'

/** Poison requests are recognised by this prefix in their params or method, so the ledger never books them. */
export const POISON_MARK = 'poison:'

export type PoisonKind = 'long-method' | 'unknown-method' | 'hostile-params' | 'near-limit' | 'over-limit-answer' | 'over-limit-send' | 'raw-frames'

export interface PoisonTally {
  made: Record<PoisonKind, number>
  /** Outcomes by code ('ok' for a result), per kind. */
  outcomes: Record<string, number>
  /** Outcomes no rule allows: each one fails the soak. */
  unexpected: string[]
}

export function emptyPoisonTally(): PoisonTally {
  return {
    made: { 'long-method': 0, 'unknown-method': 0, 'hostile-params': 0, 'near-limit': 0, 'over-limit-answer': 0, 'over-limit-send': 0, 'raw-frames': 0 },
    outcomes: {},
    unexpected: [],
  }
}

/** True for the frame of a poison request (restored after a relaunch, its answer is poison's). */
export function isPoisonFrame(frame: string): boolean {
  return frame.includes(POISON_MARK)
}

const REQUEST_TIMEOUT_MS = 30 * 60_000

interface PoisonOptions {
  /** The clients' frame limit (their hello.max): answers over it must come back as too_large. */
  maxFrameBytes: number
  everyMs: number
  random: () => number
}

/**
 * Sends poison on `engineOf()` (it changes on relaunch) every `everyMs` until `until()` says
 * stop; resolves when every poison request it made has its outcome. A request cut off by a
 * relaunch (`destroyed`) is allowed: its answer belongs to the next launch.
 */
export async function runPoisoner(engineOf: () => SocketEngine, tally: PoisonTally, until: () => boolean, options: PoisonOptions): Promise<void> {
  const pending: Array<Promise<void>> = []
  let n = 0
  while (!until()) {
    n += 1
    const kind = pick(options.random, ['long-method', 'unknown-method', 'hostile-params', 'near-limit', 'over-limit-answer', 'over-limit-send'] as const)
    tally.made[kind] += 1
    pending.push(poison(engineOf(), kind, n, tally, options))
    await delay(options.everyMs * (0.5 + options.random()))
  }
  await Promise.all(pending)
}

async function poison(engine: SocketEngine, kind: PoisonKind, n: number, tally: PoisonTally, options: PoisonOptions): Promise<void> {
  const note = (outcome: string, allowed: readonly string[]): void => {
    tally.outcomes[`${kind} ${outcome}`] = (tally.outcomes[`${kind} ${outcome}`] ?? 0) + 1
    if (!allowed.includes(outcome) && outcome !== 'destroyed') tally.unexpected.push(`${kind} #${n}: ${outcome}`)
  }
  const settle = async (request: () => Promise<unknown>, allowed: readonly string[], check?: (result: unknown) => boolean): Promise<void> => {
    try {
      const result = await request()
      note(check && !check(result) ? 'wrong result' : 'ok', allowed)
    } catch (error) {
      note((error as { code?: string }).code ?? 'thrown', allowed)
    }
  }
  switch (kind) {
    case 'long-method':
      // Refused at send: it never reaches the wire, so it cannot wedge anything.
      return settle(async () => engine.send(`${POISON_MARK}${'m'.repeat(80)}`), ['invalid_argument'])
    case 'unknown-method':
      return settle(() => engine.request(`${POISON_MARK}no.such.${n}`, undefined, { timeoutMs: REQUEST_TIMEOUT_MS }), ['unknown_method'])
    case 'hostile-params': {
      const params = n % 2 === 0 ? { id: { [POISON_MARK]: true, nested: [[[{}]]] } } : { id: `${POISON_MARK}${'x'.repeat(200)}` }
      return settle(() => engine.request('order.confirm', params, { timeoutMs: REQUEST_TIMEOUT_MS }), ['bad_request'])
    }
    case 'near-limit': {
      const payload = `${POISON_MARK}${'n'.repeat(options.maxFrameBytes - 200)}`
      return settle(() => engine.request('echo', payload, { timeoutMs: REQUEST_TIMEOUT_MS }), ['ok'], (result) => result === payload)
    }
    case 'over-limit-answer':
      // The newest 200 orders outgrow a small hello.max once the run has made enough of them:
      // the server answers too_large instead, and the request is not sent again.
      return settle(() => engine.request('list', { limit: 200, [POISON_MARK]: true }, { timeoutMs: REQUEST_TIMEOUT_MS }), ['ok', 'too_large'])
    case 'over-limit-send':
      return settle(() => engine.request('echo', `${POISON_MARK}${'o'.repeat(options.maxFrameBytes)}`, { timeoutMs: REQUEST_TIMEOUT_MS }), ['too_large'])
    case 'raw-frames':
      return
  }
}

/**
 * A raw socket through the proxy sending what no engine would: malformed text, binary, unknown
 * types, reqs with methods far over 64 characters, a frame over the server's limit. It
 * reconnects when cut (the proxy's faults, or the server's 4400/1009), every `everyMs`.
 */
export async function runRawPoisoner(url: string, token: string, tally: PoisonTally, until: () => boolean, everyMs: number, random: () => number): Promise<void> {
  let n = 0
  while (!until()) {
    n += 1
    tally.made['raw-frames'] += 1
    await rawRound(url, token, n, tally, random).catch(() => undefined)
    await delay(everyMs * (0.5 + random()))
  }
}

function rawRound(url: string, token: string, n: number, tally: PoisonTally, random: () => number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url)
    const done = (): void => {
      clearTimeout(timer)
      socket.terminate()
      resolve()
    }
    const timer = setTimeout(done, 3000)
    socket.on('error', () => undefined)
    socket.on('close', done)
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'hello', v: 1, token }))
      socket.send(JSON.stringify({ type: 'req', id: `${POISON_MARK}${n}`, method: `${POISON_MARK}${'m'.repeat(500)}` }))
    })
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string; id?: string; error?: { code?: string } }
      if (frame.type !== 'res' || frame.id !== `${POISON_MARK}${n}`) return
      const outcome = frame.error?.code ?? 'ok'
      tally.outcomes[`raw-frames ${outcome}`] = (tally.outcomes[`raw-frames ${outcome}`] ?? 0) + 1
      if (outcome !== 'bad_request') tally.unexpected.push(`raw-frames #${n}: ${outcome}`)
      // Then one of the frames that end a connection, for the server to refuse cleanly.
      const fatal = pick(random, ['not json', '[1,2]', '{"type":"shiny"}', Buffer.from([1, 2, 3]), 'x'.repeat(70 * 1024)] as const)
      socket.send(fatal)
    })
  })
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))]
}
