/**
 * PROTOCOL.md "Nothing a message carries can wedge a connection": every req with a usable id
 * gets one res and the connection stays; no frame over hello.max is sent; safe methods are
 * answered fresh; a replay of any size completes, paced by the socket instead of cut by it.
 */
import type { MethodHandler, ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient } from './support/raw-client'
import type { HelloFields, ServerFrame } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []
let runs = 0

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const methods = new Map<string, MethodHandler>([
    // Effectful: remembered per id.
    ['note', (params: unknown) => ({ params, run: ++runs })],
    ['big', (params: unknown) => 'b'.repeat(Number(params))],
  ])
  const server = await startTestServer({ seedOrders: false, methods, ...options })
  servers.push(server)
  return server
}

async function open(server: ReferenceServer, hello: HelloFields = {}): Promise<{ client: RawClient; welcome: ServerFrame }> {
  const opened = await RawClient.open(server.wsUrl, hello)
  clients.push(opened.client)
  return opened
}

beforeEach(() => {
  runs = 0
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

const order = (id: string, createdAt: number) => ({ id, title: `t-${id}`, amount: '1.00', kind: 'jdc', status: 'new', createdAt })

describe('every req with a usable id gets exactly one res, and the connection stays', () => {
  it.each([
    ['a 65-character method', { method: 'm'.repeat(65) }, 'bad_request'],
    ['a 10,000-character method', { method: 'm'.repeat(10_000) }, 'bad_request'],
    ['no method', {}, 'bad_request'],
    ['a numeric method', { method: 3 }, 'bad_request'],
    ['an object method', { method: { toString: 'x' } }, 'bad_request'],
    ['an unknown method', { method: 'no.such' }, 'unknown_method'],
    ['bad params for list', { method: 'list', params: { limit: -1 } }, 'bad_request'],
    ['bad params for order.confirm', { method: 'order.confirm', params: [1, 2] }, 'bad_request'],
  ])('%s', async (_name, fields, code) => {
    const { client } = await open(await serve())
    client.send({ type: 'req', id: 'hostile', ...fields })
    const res = await client.next((frame) => frame.type === 'res')
    expect(res).toMatchObject({ id: 'hostile', ok: false, error: { code, message: expect.any(String) } })
    expect(String((res.error as { message: string }).message).length).toBeLessThan(300)
    expect(await client.request('echo', 'next')).toMatchObject({ ok: true, result: 'next' })
    expect(client.received.filter((frame) => frame.id === 'hostile')).toHaveLength(1)
    expect(client.isClosed).toBe(false)
  })

  it('welcome says the largest frame the server accepts', async () => {
    const { welcome } = await open(await serve({ maxFrameBytes: 10_000 }))
    expect(welcome.max).toBe(10_000)
  })
})

describe('no frame over the client\'s hello.max', () => {
  it('answers too_large instead of an over-limit result, and the connection serves the next request', async () => {
    const { client } = await open(await serve(), { max: 1024 })
    const res = await client.request('echo', 'x'.repeat(2000))
    expect(res).toMatchObject({ ok: false, error: { code: 'too_large' } })
    expect(await client.request('echo', 'small')).toMatchObject({ ok: true, result: 'small' })
  })

  it('remembers the too_large answer of an effectful method: the method does not run again', async () => {
    const server = await serve()
    const { client, welcome } = await open(server, { max: 1024 })
    expect(await client.request('big', 5000, 'big-1')).toMatchObject({ ok: false, error: { code: 'too_large' } })
    await client.close()
    const { client: back } = await open(server, { sid: welcome.sid as string, max: 1024 * 1024 })
    expect(await back.request('big', 5000, 'big-1')).toMatchObject({ ok: false, error: { code: 'too_large' } })
  })

  it('sends a remembered answer as too_large to a client whose limit is now smaller', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    expect(await client.request('note', 'n'.repeat(3000), 'n-1')).toMatchObject({ ok: true })
    await client.close()
    const { client: back } = await open(server, { sid: welcome.sid as string, max: 1024 })
    expect(await back.request('note', 'n'.repeat(3000), 'n-1')).toMatchObject({ ok: false, error: { code: 'too_large' } })
    expect(runs).toBe(1)
  })

  it('replaces a push over the client\'s limit by its stub: same seq and topic, error too_large, no data', async () => {
    const server = await serve()
    const { client } = await open(server, { max: 1024 })
    server.push('small', 1)
    server.push('large', 'y'.repeat(5000))
    server.push('small', 3)
    const pushes = await client.pushes(3)
    expect(pushes.map((push) => push.seq)).toEqual([1, 2, 3])
    expect(pushes[1]).toEqual({ type: 'push', seq: 2, topic: 'large', error: { code: 'too_large', message: expect.any(String) } })
    expect(pushes[2]).toMatchObject({ data: 3 })
  })

  it('refuses a hello.max below 1024 bytes with a clear error', async () => {
    const client = await RawClient.connect((await serve()).wsUrl)
    clients.push(client)
    const error = await client.hello({ max: 1023 })
    expect(error).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringContaining('hello.max') })
  })

  // 64 control characters are 384 bytes of JSON, quoted by every answer; 128 of them a 770-byte topic.
  const worstId = '\u0001'.repeat(64)
  const worstTopic = '\u0001'.repeat(128)

  it.each([
    ['an unknown method quoted in its error', { method: '\u0002'.repeat(64) }],
    ['a too_large answer', { method: 'echo', params: 'x'.repeat(2000) }],
    ['a $subscribe answer listing long topics', { method: '$subscribe', params: { topics: [worstTopic, `${worstTopic.slice(1)}x`] } }],
  ])('keeps %s within the smallest hello.max, whatever the id', async (_name, fields) => {
    const { client } = await open(await serve(), { max: 1024 })
    client.send({ type: 'req', id: worstId, ...fields })
    const res = await client.next((frame) => frame.type === 'res')
    expect(res.id).toBe(worstId)
    expect(Math.max(...client.receivedBytes)).toBeLessThanOrEqual(1024)
    expect(await client.request('echo', 'next')).toMatchObject({ ok: true, result: 'next' })
  })

  it('keeps the stub of a push to a long topic within the smallest hello.max', async () => {
    const server = await serve()
    const { client } = await open(server, { max: 1024 })
    expect(await client.request('$subscribe', { topics: [worstTopic] })).toMatchObject({ ok: true })
    await server.push(worstTopic, 'y'.repeat(2000), { topic: worstTopic })
    const stub = await client.next((frame) => frame.type === 'push')
    expect(stub).toMatchObject({ seq: 1, topic: worstTopic, error: { code: 'too_large' } })
    expect(Math.max(...client.receivedBytes)).toBeLessThanOrEqual(1024)
  })
})

describe('any usable id is remembered as itself', () => {
  it('keeps ids with lone surrogates apart from their U+FFFD look-alike, and trims them without stopping the server', async () => {
    const server = await serve({ answeredLimit: 2 })
    const { client } = await open(server)
    // A store that keeps UTF-8 turns both lone surrogates into U+FFFD: three ids that look like one.
    const ids = ['\ud800-id', '\udc00-id', '\ufffd-id']
    const first = await Promise.all(ids.map((id) => client.request('note', id, id)))
    expect(first.map((res) => (res.result as { run: number }).run).sort()).toEqual([1, 2, 3])
    expect(await client.request('note', ids[2], ids[2])).toEqual(first[2])
    // Over answeredLimit: the next flush trims the oldest, whatever their ids hold.
    for (let n = 0; n < 5; n += 1) await client.request('note', n, `\ud800${n}`)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(await client.request('echo', 'still serving')).toMatchObject({ ok: true, result: 'still serving' })
    expect(runs).toBe(8)
  })
})

describe('safe methods are answered fresh on a repeated id', () => {
  it('a list re-sent after a drop comes after the replayed pushes and includes them', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    server.push('notify', { order: order('first', 1) })
    await client.next((frame) => frame.type === 'push')
    const before = await client.request('list', undefined, 'list-1')
    expect((before.result as { list: unknown[] }).list).toHaveLength(1)
    await client.close()
    server.push('notify', { order: order('second', 2) })
    const { client: back } = await open(server, { sid: welcome.sid as string, ack: 1 })
    back.send({ type: 'req', id: 'list-1', method: 'list' })
    const push = await back.next((frame) => frame.type === 'push')
    const res = await back.next((frame) => frame.type === 'res')
    expect(push).toMatchObject({ seq: 2, data: { order: { id: 'second' } } })
    expect((res.result as { list: Array<{ id: string }> }).list.map((item) => item.id)).toEqual(['second', 'first'])
    expect(back.received.indexOf(push)).toBeLessThan(back.received.indexOf(res))
  })

  it('an effectful method still runs once per id', async () => {
    const { client } = await open(await serve())
    await client.request('note', 1, 'once')
    expect(await client.request('note', 2, 'once')).toMatchObject({ result: { params: 1, run: 1 } })
    expect(runs).toBe(1)
  })
})

describe('a replay of any size completes', () => {
  const PUSH_BYTES = 60 * 1024
  const COUNT = 300

  it(`replays ${COUNT} pushes of 60 KiB (about 18 MB) to a client that stops reading, once it reads again`, async () => {
    const server = await serve({ pushLogBytes: 64 * 1024 * 1024, pushLogLimit: 1000 })
    const { client, welcome } = await open(server)
    await client.close()
    for (let i = 1; i <= COUNT; i += 1) server.push('blob', `${i}:${'z'.repeat(PUSH_BYTES)}`)
    const back = await RawClient.connect(server.wsUrl)
    clients.push(back)
    back.send({ type: 'hello', v: 1, token: 'dev-token', sid: welcome.sid, ack: 0 })
    // Stop reading: the server's socket fills, and the replay must wait instead of being cut.
    back.socket.pause()
    await new Promise((resolve) => setTimeout(resolve, 500))
    // Live pushes and an answer queue behind the replay, in order.
    server.push('live', 'after')
    back.socket.resume()
    back.send({ type: 'req', id: 'after-replay', method: 'echo', params: 'ok' })
    const pushes = await back.pushes(COUNT + 1, 10_000)
    expect(pushes.map((push) => push.seq)).toEqual(Array.from({ length: COUNT + 1 }, (_unused, i) => i + 1))
    expect(pushes[COUNT]).toMatchObject({ topic: 'live', data: 'after' })
    expect(String(pushes[COUNT - 1].data).startsWith(`${COUNT}:`)).toBe(true)
    expect(await back.next((frame) => frame.type === 'res')).toMatchObject({ id: 'after-replay', result: 'ok' })
    expect(back.isClosed).toBe(false)
  }, 30_000)

  it('answers frames sent during a replay only after the replayed pushes (welcome, pushes, then res)', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    await client.close()
    for (let i = 1; i <= 200; i += 1) server.push('n', i)
    const back = await RawClient.connect(server.wsUrl)
    clients.push(back)
    back.send({ type: 'hello', v: 1, token: 'dev-token', sid: welcome.sid, ack: 0 })
    back.send({ type: 'req', id: 'during', method: 'echo', params: 1 })
    await back.next((frame) => frame.type === 'res')
    const types = back.received.map((frame) => frame.type)
    expect(types[0]).toBe('welcome')
    expect(types.slice(1, 201)).toEqual(Array(200).fill('push'))
    expect(types[201]).toBe('res')
  })
})
