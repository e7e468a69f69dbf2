/**
 * PROTOCOL.md "Transport", "Frames", "Heartbeat", "Close codes": hello/welcome, the token,
 * timeouts, malformed frames, frame size and rate limits — each close preceded by its `error`.
 */
import WebSocket from 'ws'
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient, expectErrorThenClose } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer(options)
  servers.push(server)
  return server
}

async function connect(server: ReferenceServer): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl)
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('hello and welcome', () => {
  it('answers hello with welcome v1, a new sid, resumed:false and the heartbeat', async () => {
    const server = await serve({ heartbeatMs: 1234 })
    const client = await connect(server)
    const welcome = await client.hello()
    expect(welcome).toEqual({ type: 'welcome', v: 1, sid: expect.any(String), resumed: false, hb: 1234, max: 65536 })
    expect(client.received[0]).toBe(welcome)
  })

  it('uses a 20 s heartbeat by default', async () => {
    const client = await connect(await serve())
    expect((await client.hello()).hb).toBe(20_000)
  })

  it('gives every new session its own sid', async () => {
    const server = await serve()
    const first = await (await connect(server)).hello()
    const second = await (await connect(server)).hello()
    expect(first.sid).not.toEqual(second.sid)
  })

  it('accepts requests sent right after hello, before welcome arrives', async () => {
    const client = await connect(await serve())
    client.send({ type: 'hello', v: 1, token: 'dev-token' })
    client.send({ type: 'req', id: 'early-1', method: 'echo', params: 'hi' })
    expect((await client.next()).type).toBe('welcome')
    expect(await client.next()).toEqual({ type: 'res', id: 'early-1', ok: true, result: 'hi' })
  })

  it('ignores unknown fields in client frames', async () => {
    const client = await connect(await serve())
    client.send({ type: 'hello', v: 1, token: 'dev-token', future: { x: 1 } })
    expect((await client.next()).type).toBe('welcome')
    client.send({ type: 'req', id: 'u-1', method: 'echo', params: 1, extra: true })
    expect(await client.next()).toMatchObject({ type: 'res', id: 'u-1', ok: true, result: 1 })
  })

  it('answers ping with pong carrying the same ts, and without ts when none was sent', async () => {
    const client = await connect(await serve())
    await client.hello()
    client.send({ type: 'ping', ts: 1712345678901.5 })
    expect(await client.next()).toEqual({ type: 'pong', ts: 1712345678901.5 })
    client.send({ type: 'ping' })
    expect(await client.next()).toEqual({ type: 'pong' })
  })
})

describe('token (4401)', () => {
  it('closes with error unauthorized then 4401 when the token is missing', async () => {
    const client = await connect(await serve({ token: 'secret' }))
    client.send({ type: 'hello', v: 1 })
    await expectErrorThenClose(client, 'unauthorized', 4401)
  })

  it('closes with error unauthorized then 4401 when the token is wrong', async () => {
    const client = await connect(await serve({ token: 'secret' }))
    client.send({ type: 'hello', v: 1, token: 'not-secret' })
    await expectErrorThenClose(client, 'unauthorized', 4401)
    expect(client.received.some((frame) => frame.type === 'welcome')).toBe(false)
  })

  it('accepts the configured token', async () => {
    const client = await connect(await serve({ token: 'secret' }))
    expect((await client.hello({ token: 'secret' })).type).toBe('welcome')
  })
})

describe('timeouts', () => {
  it('closes with error hello_timeout then 4408 when no hello comes in time', async () => {
    const client = await connect(await serve({ helloTimeoutMs: 150 }))
    const started = Date.now()
    await expectErrorThenClose(client, 'hello_timeout', 4408)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('closes with error idle then 4002 after 2 × hb without a frame', async () => {
    const client = await connect(await serve({ heartbeatMs: 100 }))
    await client.hello()
    const started = Date.now()
    await expectErrorThenClose(client, 'idle', 4002)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('keeps a connection that pings every hb open past 2 × hb', async () => {
    const client = await connect(await serve({ heartbeatMs: 100 }))
    await client.hello()
    for (let i = 0; i < 5; i += 1) {
      client.send({ type: 'ping', ts: i })
      expect(await client.next()).toEqual({ type: 'pong', ts: i })
      await new Promise((resolve) => setTimeout(resolve, 80))
    }
    expect(client.isClosed).toBe(false)
  })
})

describe('malformed frames (4400)', () => {
  const cases: Array<[string, string]> = [
    ['not JSON', '{"type":"hello"'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
    ['null', 'null'],
    ['no type', '{"v":1}'],
    ['an unknown type', '{"type":"subscribe"}'],
    ['a non-string type', '{"type":7}'],
    ['hello with v 2', '{"type":"hello","v":2,"token":"dev-token"}'],
    ['hello without v', '{"type":"hello","token":"dev-token"}'],
    ['hello with a negative ack', '{"type":"hello","v":1,"ack":-1,"token":"dev-token"}'],
    ['hello with a fractional ack', '{"type":"hello","v":1,"ack":1.5,"token":"dev-token"}'],
    ['hello with a numeric sid', '{"type":"hello","v":1,"sid":5,"token":"dev-token"}'],
    ['hello with an empty sid', '{"type":"hello","v":1,"sid":"","token":"dev-token"}'],
    ['hello with a numeric token', '{"type":"hello","v":1,"token":5}'],
    ['a ping before hello', '{"type":"ping"}'],
    ['a req before hello', '{"type":"req","id":"a","method":"echo"}'],
    ['hello with v in __proto__', '{"type":"hello","__proto__":{"v":1},"token":"dev-token"}'],
  ]
  it.each(cases)('answers %s before hello with error bad_request then 4400', async (_name, text) => {
    const client = await connect(await serve())
    client.sendText(text)
    await expectErrorThenClose(client, 'bad_request', 4400)
  })

  const afterHello: Array<[string, unknown]> = [
    ['a req with an empty id', { type: 'req', id: '', method: 'echo' }],
    ['a req with a 65-character id', { type: 'req', id: 'x'.repeat(65), method: 'echo' }],
    ['a req with a numeric id', { type: 'req', id: 1, method: 'echo' }],
    ['an ack without seq', { type: 'ack' }],
    ['an ack with a string seq', { type: 'ack', seq: '1' }],
    ['an ack with a negative seq', { type: 'ack', seq: -1 }],
    ['a ping with a string ts', { type: 'ping', ts: 'now' }],
    ['a second hello', { type: 'hello', v: 1, token: 'dev-token' }],
    ['an unknown type', { type: 'welcome' }],
  ]
  it.each(afterHello)('answers %s after hello with error bad_request then 4400', async (_name, frame) => {
    const client = await connect(await serve())
    await client.hello()
    client.send(frame)
    await expectErrorThenClose(client, 'bad_request', 4400)
  })

  it('accepts a req id of exactly 64 characters', async () => {
    const client = await connect(await serve())
    await client.hello()
    const id = 'i'.repeat(64)
    expect(await client.request('echo', 1, id)).toEqual({ type: 'res', id, ok: true, result: 1 })
  })

  it('answers a binary frame with error bad_request then 4400', async () => {
    const client = await connect(await serve())
    await client.hello()
    client.socket.send(Buffer.from('{"type":"ping"}'), { binary: true })
    await expectErrorThenClose(client, 'bad_request', 4400)
  })

  it('keeps other connections and the server alive after a bad frame', async () => {
    const server = await serve()
    const bystander = await connect(server)
    await bystander.hello()
    const offender = await connect(server)
    offender.sendText('\u0000garbage')
    await expectErrorThenClose(offender, 'bad_request', 4400)
    expect(await bystander.request('echo', 'still here')).toMatchObject({ ok: true, result: 'still here' })
  })
})

describe('frame size (1009)', () => {
  it('closes with 1009 when a client frame is over maxFrameBytes', async () => {
    const server = await serve({ maxFrameBytes: 1024 })
    const client = await connect(server)
    await client.hello()
    client.send({ type: 'req', id: 'big', method: 'echo', params: 'x'.repeat(2000) })
    expect((await client.closed()).code).toBe(1009)
  })

  it('accepts a frame just under the limit', async () => {
    const client = await connect(await serve({ maxFrameBytes: 1024 }))
    await client.hello()
    const params = 'y'.repeat(900)
    expect(await client.request('echo', params)).toMatchObject({ ok: true, result: params })
  })

  it('allows 64 KiB frames by default', async () => {
    const client = await connect(await serve())
    await client.hello()
    const params = 'z'.repeat(60 * 1024)
    expect(await client.request('echo', params)).toMatchObject({ ok: true, result: params })
  })
})

describe('rate limit (4429)', () => {
  it('closes with error rate_limited then 4429 when a connection sends too many frames', async () => {
    const client = await connect(await serve({ rateLimit: { frames: 20, perMs: 60_000 } }))
    await client.hello()
    for (let i = 0; i < 30; i += 1) client.send({ type: 'ping', ts: i })
    await expectErrorThenClose(client, 'rate_limited', 4429)
    expect(client.received.filter((frame) => frame.type === 'pong')).toHaveLength(19)
  })

  it('counts per connection: a busy neighbour does not limit another client', async () => {
    const server = await serve({ rateLimit: { frames: 10, perMs: 60_000 } })
    const busy = await connect(server)
    await busy.hello()
    for (let i = 0; i < 15; i += 1) busy.send({ type: 'ping' })
    await expectErrorThenClose(busy, 'rate_limited', 4429)
    const calm = await connect(server)
    await calm.hello()
    expect(await calm.request('echo', 'ok')).toMatchObject({ ok: true })
  })
})

describe('endpoint', () => {
  it('serves WebSocket only on /ws', async () => {
    const server = await serve()
    const socket = new WebSocket(server.wsUrl.replace(/\/ws$/, '/other'))
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.on('error', () => resolve(-1))
    })
    expect(status).toBe(404)
  })

  it('exposes ws and http URLs on 127.0.0.1 with the bound port', async () => {
    const server = await serve()
    expect(server.port).toBeGreaterThan(0)
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}/ws`)
    expect(server.httpUrl).toBe(`http://127.0.0.1:${server.port}`)
  })
})

describe('shutdown (1001)', () => {
  it('closes every socket with 1001 on close() and stops accepting', async () => {
    const server = await startTestServer()
    const first = await connect(server)
    await first.hello()
    const second = await connect(server)
    const closes = Promise.all([first.closed(), second.closed()])
    await server.close()
    expect((await closes).map((info) => info.code)).toEqual([1001, 1001])
    await expect(RawClient.connect(server.wsUrl)).rejects.toThrow()
  })

  it('tells every socket to come back within retryMs (error shutting_down) before its 1001', async () => {
    const server = await startTestServer({ shutdownRetryMs: 4000 })
    const client = await connect(server)
    await client.hello()
    await server.close()
    expect(await expectErrorThenClose(client, 'shutting_down', 1001)).toMatchObject({ retryMs: 4000, message: expect.any(String) })
  })

  it('can be closed twice', async () => {
    const server = await startTestServer()
    await Promise.all([server.close(), server.close()])
  })
})
