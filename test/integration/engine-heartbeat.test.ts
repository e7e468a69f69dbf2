import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import { createWsPlatform, waitForState, waitUntil, type WsPlatform } from '../helpers/ws-platform'

/**
 * A server of our own that answers hello with a welcome (hb 100 ms), answers pings with
 * pongs until told to go silent, and then keeps the TCP connection open without a word:
 * the half-dead link a phone meets after a network switch.
 */
interface SilentServer {
  url: string
  connections: Array<{ ws: WebSocket; hellos: Array<Record<string, unknown>>; closed: Promise<number> }>
  goSilent(): void
  close(): Promise<void>
}

async function startSilentServer(hbMs: number): Promise<SilentServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  let silent = false
  const connections: SilentServer['connections'] = []
  wss.on('connection', (ws) => {
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    const record = { ws, hellos: [] as Array<Record<string, unknown>>, closed }
    connections.push(record)
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>
      if (frame.type === 'hello') {
        record.hellos.push(frame)
        ws.send(JSON.stringify({ type: 'welcome', v: 1, sid: 'SILENT', resumed: frame.sid === 'SILENT', hb: hbMs }))
      } else if (frame.type === 'ping' && !silent) {
        ws.send(JSON.stringify({ type: 'pong', ts: frame.ts }))
      }
    })
  })
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    connections,
    goSilent: () => (silent = true),
    close: () => new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate()
      wss.close(() => resolve())
    }),
  }
}

let server: SilentServer
let platform: WsPlatform
let engine: SocketEngine

afterEach(async () => {
  engine?.destroy()
  platform?.dispose()
  await server?.close()
})

test('a server that stops answering is declared dead after hb + grace: close 4000, reconnect at once, resume', async () => {
  server = await startSilentServer(100)
  platform = createWsPlatform()
  engine = createSocketEngine(platform, { url: server.url, token: 't', heartbeatGraceMs: 200 })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  // Alive while pongs come back: several heartbeat periods pass without a drop.
  await waitUntil(() => engine.counters().framesIn >= 5, 3000, 'five frames in')
  expect(platform.tasks).toHaveLength(1)

  const silentSince = Date.now()
  server.goSilent()
  await waitForState(engine.store, () => platform.tasks.length === 2, 3000)
  const detectedAfterMs = Date.now() - silentSince
  expect(detectedAfterMs).toBeGreaterThanOrEqual(200)
  expect(detectedAfterMs).toBeLessThan(1500)
  expect(errors).toContain('heartbeat_timeout')

  await waitUntil(() => engine.store.getState().status === 'open' && engine.counters().opens === 2, 3000, 'the second open')
  await expect(server.connections[0].closed).resolves.toBe(4000)
  expect(server.connections[1].hellos[0]).toMatchObject({ type: 'hello', v: 1, sid: 'SILENT', ack: 0, token: 't' })
  expect(platform.maxLive).toBe(1)
})
