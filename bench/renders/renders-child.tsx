/**
 * Bundled and run by figures/renders.ts in its own process: a jsdom document, react-dom,
 * the real engine (on the ws platform) against the real reference server, and components
 * that read the socket through the app's hooks. Prints one JSON line: renders per component
 * during the pushes. `@tarojs/taro` is aliased to renders/taro-stub.ts by the bundler.
 */
import { JSDOM } from 'jsdom'
import { createElement, useState, type ReactElement } from 'react'
import { startReferenceServer } from '../../server/app'
import { createWsPlatform } from '../../test/helpers/ws-platform'
import { setAppSocket } from '../../src/services/socket'
import { createSocketEngine } from '../../packages/client/src/core/engine'
import { useSocket, useSocketState } from '../../src/services/socket'

export interface RendersReport {
  pushes: number
  delivered: number
  handlerCalls: number
  renders: Record<string, number>
}

const renders: Record<string, number> = { statusOnly: 0, useSocket: 0, useSocketWithHandler: 0, lastSeqControl: 0 }
let handlerCalls = 0

/** Counts every render of the calling component (a render function runs once per render). */
function countRender(name: string): void {
  renders[name] += 1
}

function StatusOnly(): ReactElement {
  countRender('statusOnly')
  const status = useSocketState((state) => state.status)
  return createElement('span', null, status)
}

function UsesSocket(): ReactElement {
  countRender('useSocket')
  const { status, pending } = useSocket()
  return createElement('span', null, `${status} ${pending}`)
}

/** The control: it keeps the last seq in its own state, so its count shows that renders are seen. */
function LastSeqControl(): ReactElement {
  countRender('lastSeqControl')
  const [lastSeq, setLastSeq] = useState(0)
  useSocket((message) => {
    if (message.kind === 'push') setLastSeq(message.seq)
  })
  return createElement('span', null, String(lastSeq))
}

function UsesSocketWithHandler(): ReactElement {
  countRender('useSocketWithHandler')
  const { status } = useSocket(() => {
    handlerCalls += 1
  })
  return createElement('span', null, status)
}

async function main(pushes: number): Promise<RendersReport> {
  const dom = new JSDOM('<!doctype html><html><body><div id="root"></div></body></html>')
  // No act(): it would batch the updates and hide renders that a real app would do.
  Object.assign(globalThis, { window: dom.window, document: dom.window.document, IS_REACT_ACT_ENVIRONMENT: false })
  Object.defineProperty(globalThis, 'navigator', { value: dom.window.navigator, configurable: true })
  const { createRoot } = await import('react-dom/client')

  const server = await startReferenceServer({ port: 0, dataDir: null, token: 'bench-token', seedOrders: false, simulateOrdersMs: 0, log: () => undefined })
  const engine = createSocketEngine(createWsPlatform(), { url: server.wsUrl, token: 'bench-token' })
  setAppSocket(engine)
  let delivered = 0
  engine.on('push', () => {
    delivered += 1
  })
  const root = createRoot(dom.window.document.getElementById('root')!)
  root.render(
    createElement('div', null, createElement(StatusOnly), createElement(UsesSocket), createElement(UsesSocketWithHandler), createElement(LastSeqControl)),
  )
  engine.connect()
  await until(() => engine.store.getState().status === 'open', 10_000, 'engine open')
  // Let the welcome's follow-up updates settle, then count from zero.
  await sleep(200)
  for (const name of Object.keys(renders)) renders[name] = 0
  handlerCalls = 0
  delivered = 0

  for (let seq = 1; seq <= pushes; seq += 1) {
    server.push('bench.tick', { n: seq })
    // A few pushes per macrotask, as pushes arrive in a real app, so React gets to render between them.
    if (seq % 5 === 0) await sleep(1)
  }
  await until(() => delivered >= pushes, 20_000, `${pushes} pushes delivered`)
  await sleep(100)
  const report: RendersReport = { pushes, delivered, handlerCalls, renders: { ...renders } }
  root.unmount()
  setAppSocket(null)
  await server.close()
  return report
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`renders: ${what} not reached within ${timeoutMs} ms`)
    await sleep(5)
  }
}

main(Number(process.argv[2] ?? 1000)).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error)
    process.exit(1)
  },
)
