/** PROTOCOL.md "Methods of the demo backend": list, order.confirm, echo, notify/order.updated pushes. */
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient } from './support/raw-client'
import type { ServerFrame } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer(options)
  servers.push(server)
  return server
}

async function open(server: ReferenceServer): Promise<RawClient> {
  const { client } = await RawClient.open(server.wsUrl)
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

interface ListResult {
  allAmount: string
  orderNum: number
  jdcAmount: string
  jszAmount: string
  list: Array<{ id: string; title: string; amount: string; kind: string; status: string; createdAt: number }>
}

async function list(client: RawClient): Promise<ListResult> {
  const res = await client.request('list')
  expect(res.ok).toBe(true)
  return res.result as ListResult
}

function order(id: string, amount: string, kind: 'jdc' | 'jsz', createdAt: number, status: 'new' | 'confirmed' = 'new') {
  return { id, title: `订单 ${id}`, amount, kind, status, createdAt }
}

describe('list', () => {
  it('starts with sample orders with Chinese titles, newest first, and totals that add up', async () => {
    const client = await open(await serve())
    const result = await list(client)
    expect(result.orderNum).toBe(result.list.length)
    expect(result.orderNum).toBeGreaterThanOrEqual(3)
    for (const item of result.list) {
      expect(item).toEqual({
        id: expect.any(String),
        title: expect.stringMatching(/[\u4e00-\u9fff]/),
        amount: expect.stringMatching(/^\d+\.\d\d$/),
        kind: expect.stringMatching(/^(jdc|jsz)$/),
        status: expect.stringMatching(/^(new|confirmed)$/),
        createdAt: expect.any(Number),
      })
    }
    const times = result.list.map((item) => item.createdAt)
    expect(times).toEqual([...times].sort((a, b) => b - a))
    const fen = (text: string): number => Math.round(Number(text) * 100)
    const sum = (kind?: string): number => result.list.filter((item) => !kind || item.kind === kind).reduce((total, item) => total + fen(item.amount), 0)
    expect(fen(result.allAmount)).toBe(sum())
    expect(fen(result.jdcAmount)).toBe(sum('jdc'))
    expect(fen(result.jszAmount)).toBe(sum('jsz'))
  })

  it('computes amounts in fen: 0.10 + 0.20 is exactly 0.30', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    expect(await list(client)).toEqual({ allAmount: '0.00', orderNum: 0, jdcAmount: '0.00', jszAmount: '0.00', list: [], hasMore: false })
    server.push('notify', { order: order('a', '0.10', 'jdc', 1) })
    server.push('notify', { order: order('b', '0.20', 'jdc', 2) })
    server.push('notify', { order: order('c', '1234567.89', 'jsz', 3) })
    const result = await list(client)
    expect(result).toMatchObject({ allAmount: '1234568.19', orderNum: 3, jdcAmount: '0.30', jszAmount: '1234567.89' })
    expect(result.list.map((item) => item.id)).toEqual(['c', 'b', 'a'])
  })

  it('answers the newest 50 by default, pages with limit and before, and refuses bad paging params', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    for (let i = 1; i <= 60; i += 1) server.push('notify', { order: order(`p${i}`, '1.00', 'jdc', i) })
    const first = await list(client)
    expect(first).toMatchObject({ orderNum: 60, allAmount: '60.00', hasMore: true })
    expect(first.list).toHaveLength(50)
    expect(first.list[0].id).toBe('p60')
    const rest = (await client.request('list', { before: 'p11', limit: 200 })).result as { list: Array<{ id: string }>; hasMore: boolean }
    expect(rest.list.map((item) => item.id)).toEqual(Array.from({ length: 10 }, (_unused, i) => `p${10 - i}`))
    expect(rest.hasMore).toBe(false)
    for (const params of [{ limit: 0 }, { limit: 201 }, { limit: 1.5 }, { before: 7 }, { before: 'missing' }, 'x', [1]]) {
      expect(await client.request('list', params)).toMatchObject({ ok: false, error: { code: 'bad_request' } })
    }
  })

  it('normalizes announced amounts to two decimals in the store and in the push', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    server.push('notify', { order: order('n', '7.5', 'jsz', 10), note: 'kept' })
    expect(await client.next((frame) => frame.type === 'push')).toMatchObject({
      topic: 'notify',
      data: { order: { id: 'n', amount: '7.50' }, note: 'kept' },
    })
    expect((await list(client)).list[0].amount).toBe('7.50')
  })

  it('refuses a notify whose data.order is not an Order, and stores nothing', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    const bad = [
      { ...order('x', '1.00', 'jdc', 1), amount: 1 },
      { ...order('x', '1.001', 'jdc', 1) },
      { ...order('x', '-1.00', 'jdc', 1) },
      { ...order('x', '1.00', 'jdc', 1), kind: 'other' },
      { ...order('x', '1.00', 'jdc', 1), id: '' },
      'not an object',
    ]
    for (const candidate of bad) {
      await expect(server.push('notify', { order: candidate })).rejects.toThrow(expect.objectContaining({ code: 'bad_request' }))
    }
    expect((await list(client)).orderNum).toBe(0)
    expect(client.received.filter((frame) => frame.type === 'push')).toEqual([])
  })
})

describe('order.confirm', () => {
  it('confirms once, pushes order.updated to every session, and answers already_confirmed the second time', async () => {
    const server = await serve({ seedOrders: false })
    const actor = await open(server)
    const watcher = await open(server)
    server.push('notify', { order: order('o-1', '12.00', 'jdc', 1) })
    await actor.pushes(1)
    await watcher.pushes(1)

    expect(await actor.request('order.confirm', { id: 'o-1' })).toMatchObject({ ok: true, result: { id: 'o-1', status: 'confirmed' } })
    const updated = { type: 'push', seq: 2, topic: 'order.updated', data: { order: { ...order('o-1', '12.00', 'jdc', 1), status: 'confirmed' } } }
    expect(await actor.next((frame) => frame.type === 'push')).toEqual(updated)
    expect(await watcher.next((frame) => frame.type === 'push')).toEqual(updated)

    expect(await actor.request('order.confirm', { id: 'o-1' })).toMatchObject({ ok: false, error: { code: 'already_confirmed' } })
    expect((await list(actor)).list[0].status).toBe('confirmed')
  })

  it('sends the res before the pushes it caused: order.updated to everyone, a notice to the one who confirmed', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    server.push('notify', { order: order('o-2', '1.00', 'jsz', 1) })
    await client.pushes(1)
    await client.request('order.confirm', { id: 'o-2' }, 'confirm-o-2')
    const [updated, notice] = await client.pushes(2)
    const frames = client.received.slice(-3)
    expect(frames.map((frame: ServerFrame) => frame.type)).toEqual(['res', 'push', 'push'])
    expect(updated).toMatchObject({ topic: 'order.updated', data: { order: { id: 'o-2', status: 'confirmed' } } })
    expect(notice).toMatchObject({ topic: 'notice', data: { orderId: 'o-2', text: expect.stringContaining('已确认') } })
  })

  it('does not confirm or push again for a re-sent request id', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    server.push('notify', { order: order('o-3', '1.00', 'jsz', 1) })
    const first = await client.request('order.confirm', { id: 'o-3' }, 'confirm-once')
    const again = await client.request('order.confirm', { id: 'o-3' }, 'confirm-once')
    expect(again).toEqual(first)
    expect(await client.request('echo', 'flush')).toMatchObject({ ok: true })
    expect(client.received.filter((frame) => frame.topic === 'order.updated')).toHaveLength(1)
  })

  it('answers not_found for an unknown order and bad_request for bad params', async () => {
    const client = await open(await serve())
    expect(await client.request('order.confirm', { id: 'missing' })).toMatchObject({ ok: false, error: { code: 'not_found' } })
    for (const params of [undefined, null, 'A1003', { id: 5 }, { id: '' }, [{ id: 'A1003' }]]) {
      expect(await client.request('order.confirm', params)).toMatchObject({ ok: false, error: { code: 'bad_request' } })
    }
  })
})

describe('echo', () => {
  it.each([[0], ['text'], [null], [[1, 'a', { b: true }]], [{ nested: { deep: ['中文'] } }]])('returns %j unchanged', async (value) => {
    const client = await open(await serve())
    expect(await client.request('echo', value)).toMatchObject({ ok: true, result: value })
  })
})

describe('order simulator', () => {
  it('creates an order every simulateOrdersMs and pushes notify with it', async () => {
    const server = await serve({ seedOrders: false, simulateOrdersMs: 40 })
    const client = await open(server)
    const [first, second] = await client.pushes(2)
    expect(first).toMatchObject({ topic: 'notify', data: { order: { status: 'new', title: expect.stringMatching(/[\u4e00-\u9fff]/) } } })
    expect(second.seq).toBe(2)
    const stored = (await list(client)).list.map((item) => item.id)
    const announced = [first, second].map((frame) => (frame.data as { order: { id: string } }).order.id)
    expect(stored).toEqual(expect.arrayContaining(announced))
  })

  it('is off by default', async () => {
    const server = await serve({ seedOrders: false })
    const client = await open(server)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await list(client)).orderNum).toBe(0)
  })
})
