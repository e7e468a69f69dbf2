/** PROTOCOL.md "The reference server's surface": POST /admin/push, GET /healthz, GET /metrics. */
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient, expectErrorThenClose } from './support/raw-client'

const ADMIN = 'admin-secret'
const servers: ReferenceServer[] = []
const clients: RawClient[] = []

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer({ adminToken: ADMIN, seedOrders: false, ...options })
  servers.push(server)
  return server
}

async function open(server: ReferenceServer, hello: { sid?: string } = {}): Promise<RawClient> {
  const { client } = await RawClient.open(server.wsUrl, hello)
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

function adminPush(server: ReferenceServer, body: string, token: string | null = ADMIN, method = 'POST'): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  return fetch(`${server.httpUrl}/admin/push`, { method, headers, body: method === 'GET' ? undefined : body })
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code
}

describe('GET /healthz', () => {
  it('answers 200 ok', async () => {
    const response = await fetch(`${(await serve()).httpUrl}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
  })
})

describe('POST /admin/push', () => {
  it('appends the push to every session, connected or not, and answers { delivered: n }', async () => {
    const server = await serve()
    const connected = await open(server)
    const gone = await open(server)
    const goneSid = gone.received[0].sid as string
    await gone.close()
    const response = await adminPush(server, JSON.stringify({ topic: 'news', data: { text: '你好' } }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ delivered: 2 })
    expect(await connected.next()).toEqual({ type: 'push', seq: 1, topic: 'news', data: { text: '你好' } })
    const back = await open(server, { sid: goneSid })
    expect(await back.next()).toMatchObject({ type: 'push', seq: 1, topic: 'news' })
  })

  it('answers delivered 0 when there is no session', async () => {
    const response = await adminPush(await serve(), '{"topic":"nobody"}')
    expect(await response.json()).toEqual({ delivered: 0 })
  })

  it('stores the Order of a notify, so list and order.confirm know it', async () => {
    const server = await serve()
    const client = await open(server)
    const order = { id: 'admin-1', title: '驾驶证补领', amount: '30.00', kind: 'jsz', status: 'new', createdAt: 1_700_000_000_000 }
    expect((await adminPush(server, JSON.stringify({ topic: 'notify', data: { order } }))).status).toBe(200)
    expect(await client.next()).toMatchObject({ topic: 'notify', data: { order } })
    expect((await client.request('list')).result).toMatchObject({ orderNum: 1, list: [order] })
    expect(await client.request('order.confirm', { id: 'admin-1' })).toMatchObject({ ok: true })
  })

  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'wrong'],
    ['an empty token', ''],
  ])('answers 401 unauthorized with %s, and pushes nothing', async (_name, token) => {
    const server = await serve()
    const client = await open(server)
    const response = await adminPush(server, '{"topic":"t"}', token)
    expect(response.status).toBe(401)
    expect(await errorCode(response)).toBe('unauthorized')
    expect(await client.request('echo', 'check')).toMatchObject({ ok: true })
    expect(client.received.some((frame) => frame.type === 'push')).toBe(false)
  })

  it('does not take the socket token as the admin token', async () => {
    const server = await serve({ token: 'socket-token' })
    expect((await adminPush(server, '{"topic":"t"}', 'socket-token')).status).toBe(401)
  })

  it.each([
    ['invalid JSON', '{"topic":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['no topic', '{"data":1}'],
    ['a numeric topic', '{"topic":5}'],
    ['an empty topic', '{"topic":""}'],
    ['a topic over 128 characters', JSON.stringify({ topic: 't'.repeat(129) })],
    ['a topic inherited through __proto__', '{"__proto__":{"topic":"sneaky"}}'],
    ['a notify with a malformed order', JSON.stringify({ topic: 'notify', data: { order: { id: 'x', amount: 3 } } })],
  ])('answers 400 bad_request for %s', async (_name, body) => {
    const response = await adminPush(await serve(), body)
    expect(response.status).toBe(400)
    expect(await errorCode(response)).toBe('bad_request')
  })

  it('answers 413 too_large when the push frame would be over the frame limit', async () => {
    const server = await serve({ maxFrameBytes: 1024 })
    const response = await adminPush(server, JSON.stringify({ topic: 'big', data: 'x'.repeat(2000) }))
    expect(response.status).toBe(413)
    expect(await errorCode(response)).toBe('too_large')
  })

  it('answers 413 when the body itself is over 1 MiB', async () => {
    const response = await adminPush(await serve(), JSON.stringify({ topic: 'huge', data: 'x'.repeat(1_100_000) }))
    expect(response.status).toBe(413)
  })

  it('answers 405 for GET', async () => {
    const response = await adminPush(await serve(), '', ADMIN, 'GET')
    expect(response.status).toBe(405)
  })

  it('answers 404 for an unknown route', async () => {
    const response = await fetch(`${(await serve()).httpUrl}/admin/other`)
    expect(response.status).toBe(404)
  })
})

describe('GET /metrics', () => {
  it('exposes connections, sessions, requests, pushes, replays, dedupe hits and closes by code in Prometheus text', async () => {
    const server = await serve({ methods: new Map([['note', (params: unknown) => params]]) })
    const client = await open(server)
    const sid = client.received[0].sid as string
    await client.request('note', 1, 'm-1')
    await client.request('note', 1, 'm-1')
    await client.request('nope')
    server.push('t', 1)
    server.push('t', 2)
    await client.pushes(2)
    await client.close()
    const back = await open(server, { sid })
    await back.pushes(2)
    const bad = await open(server)
    bad.sendText('nonsense')
    await expectErrorThenClose(bad, 'bad_request', 4400)

    const response = await fetch(`${server.httpUrl}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/plain')
    const text = await response.text()
    expect(text).toMatch(/^# TYPE ws_connections gauge$/m)
    expect(text).toMatch(/^ws_connections 1$/m)
    expect(text).toMatch(/^ws_sessions 2$/m)
    expect(text).toMatch(/^ws_requests_total\{method="note",outcome="ok"\} 1$/m)
    expect(text).toMatch(/^ws_requests_total\{method="\(unknown\)",outcome="unknown_method"\} 1$/m)
    expect(text).toMatch(/^ws_dedupe_hits_total 1$/m)
    expect(text).toMatch(/^ws_pushes_total 2$/m)
    expect(text).toMatch(/^ws_replayed_pushes_total 2$/m)
    expect(text).toMatch(/^ws_hellos_total\{resumed="true"\} 1$/m)
    expect(text).toMatch(/^ws_closes_total\{code="1000"\} 1$/m)
    expect(text).toMatch(/^ws_closes_total\{code="4400"\} 1$/m)
    expect(text).toMatch(/^ws_bad_frames_total 1$/m)
  })

  it('keeps a registry per server: two servers in one process count apart', async () => {
    const first = await serve()
    const second = await serve()
    first.push('only-first')
    await open(first)
    first.push('only-first')
    const text = await (await fetch(`${second.httpUrl}/metrics`)).text()
    expect(text).toMatch(/^ws_pushes_total 0$/m)
  })
})
