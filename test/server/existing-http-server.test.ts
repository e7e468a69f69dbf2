// createSocketServer on an http.Server of the user's: it serves /ws there and nothing else, and
// close() leaves that server, its routes and its other upgrades alone.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import { createSocketServer, type SocketServer } from 'reliable-socket-server'

let httpServer: http.Server
let other: WebSocketServer
let socketServer: SocketServer | null = null

beforeEach(async () => {
  other = new WebSocketServer({ noServer: true })
  httpServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(`mine: ${req.url}`)
  })
  httpServer.on('upgrade', (req, socket, head) => {
    if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.send('from the other endpoint'))
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
})

afterEach(async () => {
  await socketServer?.close()
  socketServer = null
  other.close()
  await new Promise<void>((resolve) => httpServer.close(() => resolve()))
})

const base = () => `127.0.0.1:${(httpServer.address() as AddressInfo).port}`

function firstMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)))
    ws.once('error', reject)
  })
}

test('serves the protocol at /ws of the given server, beside its own routes and upgrades', async () => {
  socketServer = await createSocketServer({ server: httpServer, dataDir: null, methods: { echo: { safe: true, run: (params) => params } } })
  expect(socketServer.port).toBe((httpServer.address() as AddressInfo).port)
  expect(socketServer.wsUrl).toBe(`ws://${base()}/ws`)

  const ws = new WebSocket(socketServer.wsUrl)
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(JSON.stringify({ type: 'hello', v: 1, token: 'dev-token' }))
  expect(JSON.parse(await firstMessage(ws))).toMatchObject({ type: 'welcome', resumed: false })
  ws.send(JSON.stringify({ type: 'req', id: 'r1', method: 'echo', params: { on: 'your server' } }))
  expect(JSON.parse(await firstMessage(ws))).toEqual({ type: 'res', id: 'r1', ok: true, result: { on: 'your server' } })
  ws.close()

  // The user's routes and upgrades are the user's.
  expect(await (await fetch(`http://${base()}/healthz`)).text()).toBe('mine: /healthz')
  const elsewhere = new WebSocket(`ws://${base()}/other`)
  expect(await firstMessage(elsewhere)).toBe('from the other endpoint')
  elsewhere.close()
})

test('close() says goodbye to its clients and leaves the given server listening', async () => {
  socketServer = await createSocketServer({ server: httpServer, dataDir: null })
  const ws = new WebSocket(socketServer.wsUrl)
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(JSON.stringify({ type: 'hello', v: 1, token: 'dev-token' }))
  await firstMessage(ws)
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  await socketServer.close()
  expect(await closed).toBe(1001)
  expect(httpServer.listening).toBe(true)
  expect((await fetch(`http://${base()}/after`)).status).toBe(200)
  // Its endpoint is gone: an upgrade to /ws is nobody's now and is not answered by it.
  expect(httpServer.listenerCount('upgrade')).toBe(1)
})

test('its requestHandler serves the health, metrics and admin routes where the user mounts them', async () => {
  socketServer = await createSocketServer({ server: httpServer, dataDir: null, adminToken: 'admin-secret' })
  const routes = http.createServer(socketServer.requestHandler)
  await new Promise<void>((resolve) => routes.listen(0, '127.0.0.1', resolve))
  try {
    const at = `http://127.0.0.1:${(routes.address() as AddressInfo).port}`
    expect(await (await fetch(`${at}/healthz`)).text()).toBe('ok')
    expect(await (await fetch(`${at}/metrics`)).text()).toContain('ws_connections')
    const refused = await fetch(`${at}/admin/push`, { method: 'POST', body: JSON.stringify({ topic: 't' }) })
    expect(refused.status).toBe(401)
    const pushed = await fetch(`${at}/admin/push`, { method: 'POST', headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' }, body: JSON.stringify({ topic: 't' }) })
    expect(pushed.status).toBe(200)
  } finally {
    await new Promise<void>((resolve) => routes.close(() => resolve()))
  }
})
