/**
 * PROTOCOL.md req/res: one `res` per `req`, answers in order, error codes, answered-id dedupe
 * (the method does not run again), handler failures, and input that must not pollute anything.
 */
import type { MethodHandler, ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { CodedError } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []
let runs: string[] = []

const testMethods = new Map<string, MethodHandler>([
  [
    'test.count',
    (params) => {
      runs.push(String(params))
      return runs.length
    },
  ],
  [
    'test.throw',
    () => {
      runs.push('throw')
      throw new TypeError('boom')
    },
  ],
  ['test.refuse', () => {
    throw new CodedError('not_allowed', 'refused on purpose')
  }],
  ['test.bigint', () => BigInt(1)],
  [
    'test.publish-then-throw',
    (_params, context) => {
      context.publish('should-not-arrive', 1)
      throw new Error('after publishing')
    },
  ],
])

async function open(options: ReferenceServerOptions = {}): Promise<{ server: ReferenceServer; client: RawClient }> {
  const server = await startTestServer({ methods: testMethods, ...options })
  servers.push(server)
  const { client } = await RawClient.open(server.wsUrl)
  clients.push(client)
  return { server, client }
}

beforeEach(() => {
  runs = []
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('req and res', () => {
  it('answers each req with exactly one res of the same id', async () => {
    const { client } = await open()
    expect(await client.request('echo', { a: [1, 2] }, 'r-1')).toEqual({ type: 'res', id: 'r-1', ok: true, result: { a: [1, 2] } })
    await client.request('echo', 'probe')
    expect(client.received.filter((frame) => frame.id === 'r-1')).toHaveLength(1)
  })

  it('omits result when the method returns nothing (echo without params)', async () => {
    const { client } = await open()
    expect(await client.request('echo', undefined, 'no-params')).toEqual({ type: 'res', id: 'no-params', ok: true })
  })

  it('answers requests in the order they were sent', async () => {
    const { client } = await open()
    const ids = Array.from({ length: 50 }, (_unused, i) => `order-${i}`)
    for (const id of ids) client.send({ type: 'req', id, method: i(id) % 2 ? 'echo' : 'list', params: id })
    const answers = []
    for (let n = 0; n < ids.length; n += 1) answers.push(await client.next((frame) => frame.type === 'res'))
    expect(answers.map((frame) => frame.id)).toEqual(ids)
  })

  it('answers unknown_method for a method that does not exist, and the connection lives on', async () => {
    const { client } = await open()
    expect(await client.request('no.such.method')).toMatchObject({ ok: false, error: { code: 'unknown_method', message: expect.any(String) } })
    expect(await client.request('echo', 1)).toMatchObject({ ok: true })
  })

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', ' echo', 'echo\n'])('answers unknown_method for %j', async (method) => {
    const { client } = await open()
    expect(await client.request(method)).toMatchObject({ ok: false, error: { code: 'unknown_method' } })
  })

  it('answers internal when a handler throws, rolls its effects back, and the connection lives on', async () => {
    const { server, client } = await open()
    expect(await client.request('test.throw')).toMatchObject({ ok: false, error: { code: 'internal' } })
    expect(await client.request('test.publish-then-throw')).toMatchObject({ ok: false, error: { code: 'internal' } })
    expect(await server.push('marker')).toBe(1)
    const push = await client.next((frame) => frame.type === 'push')
    expect(push).toMatchObject({ seq: 1, topic: 'marker' })
    expect(await client.request('echo', 'alive')).toMatchObject({ ok: true, result: 'alive' })
  })

  it('answers internal when a result cannot be serialized', async () => {
    const { client } = await open()
    expect(await client.request('test.bigint')).toMatchObject({ ok: false, error: { code: 'internal' } })
  })

  it("answers a handler's CodedError with that code", async () => {
    const { client } = await open()
    expect(await client.request('test.refuse')).toEqual({
      type: 'res',
      id: expect.any(String),
      ok: false,
      error: { code: 'not_allowed', message: 'refused on purpose' },
    })
  })
})

describe('answered-id dedupe', () => {
  it('returns the remembered res for a repeated id and does not run the method again', async () => {
    const { client } = await open()
    const first = await client.request('test.count', 'a', 'same-id')
    const second = await client.request('test.count', 'b', 'same-id')
    expect(first).toEqual({ type: 'res', id: 'same-id', ok: true, result: 1 })
    expect(second).toEqual(first)
    expect(runs).toEqual(['a'])
  })

  it('remembers ids across connections of the same session', async () => {
    const { server, client } = await open()
    const welcome = client.received[0]
    await client.request('test.count', 'x', 'cross-conn')
    await client.close()
    const { client: back } = await RawClient.open(server.wsUrl, { sid: welcome.sid as string })
    clients.push(back)
    expect(await back.request('test.count', 'y', 'cross-conn')).toMatchObject({ ok: true, result: 1 })
    expect(runs).toEqual(['x'])
  })

  it('keeps ids per identity: another session of the same identity gets the remembered answer', async () => {
    const { server, client } = await open()
    await client.request('test.count', 'one', 'shared')
    const { client: other } = await RawClient.open(server.wsUrl)
    clients.push(other)
    expect(await other.request('test.count', 'two', 'shared')).toMatchObject({ ok: true, result: 1 })
    expect(runs).toEqual(['one'])
  })

  it('remembers failures too: a repeated id of an unknown method gets the same error', async () => {
    const { client } = await open()
    const first = await client.request('nope', undefined, 'failed-id')
    expect(first).toMatchObject({ ok: false, error: { code: 'unknown_method' } })
    expect(await client.request('nope', undefined, 'failed-id')).toEqual(first)
  })

  it('does not remember internal failures: the effects were rolled back, so the id may run again', async () => {
    const { client } = await open()
    expect(await client.request('test.throw', undefined, 'retry-me')).toMatchObject({ error: { code: 'internal' } })
    expect(await client.request('echo', 'second try', 'retry-me')).toMatchObject({ ok: true, result: 'second try' })
  })

  it('remembers at least the last answeredLimit ids per session', async () => {
    const { client } = await open({ answeredLimit: 20 })
    for (let n = 0; n < 60; n += 1) client.send({ type: 'req', id: `id-${n}`, method: 'test.count', params: n })
    await client.next((frame) => frame.id === 'id-59')
    for (let n = 40; n < 60; n += 1) {
      expect(await client.request('test.count', 'again', `id-${n}`)).toMatchObject({ result: n + 1 })
    }
    expect(runs).toHaveLength(60)
  })
})

describe('hostile input', () => {
  it('echoes __proto__ and constructor keys as plain data without polluting prototypes', async () => {
    const { client } = await open()
    const text = '{"type":"req","id":"p-1","method":"echo","params":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}'
    client.sendText(text)
    const res = await client.next((frame) => frame.id === 'p-1')
    expect(JSON.stringify(res)).toContain('"__proto__":{"polluted":true}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('treats ids like "__proto__" and "constructor" as ordinary ids', async () => {
    const { client } = await open()
    expect(await client.request('test.count', 'a', '__proto__')).toMatchObject({ ok: true, result: 1 })
    expect(await client.request('test.count', 'b', 'constructor')).toMatchObject({ ok: true, result: 2 })
    expect(await client.request('test.count', 'c', '__proto__')).toMatchObject({ ok: true, result: 1 })
  })

  it('treats a sid nobody holds as unknown: a new session, resumed:false', async () => {
    const { server, client } = await open()
    const sid = client.received[0].sid as string
    const { client: other, welcome } = await RawClient.open(server.wsUrl, { sid: `${sid}x` })
    clients.push(other)
    expect(welcome).toMatchObject({ resumed: false })
    expect(welcome.sid).not.toBe(sid)
    expect(client.isClosed).toBe(false)
  })
})

function i(id: string): number {
  return Number(id.split('-')[1])
}
