/** Unit tests of the demo backend: money in fen, orders as records, announced orders, seed, simulator. */
import fc from 'fast-check'
import { Database } from '../../packages/server/src/database'
import { announcedOrder } from '../../server/demo/announce'
import { createDemoMethods } from '../../server/demo/methods'
import { MAX_AMOUNT_FEN, formatFen, parseYuanToFen } from '../../server/demo/money'
import { findOrder, listOrders, newOrder, orderWrite, parseOrder, ORDERS, type PageRequest } from '../../server/demo/orders'
import type { Order } from '../../server/demo/orders'
import { SAMPLE_TITLES } from '../../server/demo/seed'
import { randomNewOrder } from '../../server/demo/simulator'
import type { MethodContext, MethodHandler } from '../../packages/server/src/dispatcher'
import { RecordBook } from '../../packages/server/src/store/sqlite-records'
import type { DataWrite, RecordReader } from '../../packages/server/src/store/types'

const dbs: Database[] = []
/** The orders on the embedded store's records (the stores' own contract is store-contract.test.ts). */
function book() {
  const db = Database.open(null)
  dbs.push(db)
  const records = new RecordBook(db)
  const reader: RecordReader = {
    get: async (collection, id) => records.get(collection, id),
    page: async (collection, page) => records.page(collection, page.limit, page.before),
    count: async (collection) => records.count(collection),
  }
  const orders = {
    reader,
    put: (item: Order) => records.apply(orderWrite(item)),
    list: (page?: PageRequest) => listOrders(reader, page),
    get: async (id: string) => (await findOrder(reader, id))?.order,
    count: () => reader.count(ORDERS),
  }
  return { db, orders }
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
})

const order = (id: string, amount: string, kind: Order['kind'], createdAt: number): Order => ({
  id,
  title: `t-${id}`,
  amount,
  kind,
  status: 'new',
  createdAt,
})

describe('money', () => {
  it.each([
    ['0', 0],
    ['0.1', 10],
    ['0.10', 10],
    ['12', 1200],
    ['12.34', 1234],
    ['1000000000.00', MAX_AMOUNT_FEN],
  ])('parses %s yuan as %d fen', (text, fen) => expect(parseYuanToFen(text)).toBe(fen))

  it.each(['', '-1', '1.234', '1e3', ' 1', '1.', '.5', 'NaN', '1000000000.01', '0x10'])('refuses %j', (text) => {
    expect(parseYuanToFen(text)).toBeNull()
  })

  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [10, '0.10'],
    [123456, '1234.56'],
    [-5, '-0.05'],
  ])('formats %d fen as %s', (fen, text) => expect(formatFen(fen)).toBe(text))

  it('round-trips every amount and sums without float error', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: MAX_AMOUNT_FEN }), { maxLength: 20 }), (fens) => {
        for (const fen of fens) expect(parseYuanToFen(formatFen(fen))).toBe(fen)
        const total = fens.reduce((sum, fen) => sum + BigInt(fen), BigInt(0))
        const hundred = BigInt(100)
        const exact = `${total / hundred}.${String(total % hundred).padStart(2, '0')}`
        expect(formatFen(fens.reduce((sum, fen) => sum + fen, 0))).toBe(exact)
      }),
    )
  })
})

describe('orders as records', () => {
  it('lists newest first with totals per kind', async () => {
    const { orders } = book()
    orders.put(order('a', '0.10', 'jdc', 1))
    orders.put(order('b', '0.20', 'jdc', 3))
    orders.put(order('c', '5.05', 'jsz', 2))
    expect(await orders.list()).toEqual({
      allAmount: '5.35',
      orderNum: 3,
      jdcAmount: '0.30',
      jszAmount: '5.05',
      list: [order('b', '0.20', 'jdc', 3), order('c', '5.05', 'jsz', 2), order('a', '0.10', 'jdc', 1)],
      hasMore: false,
    })
  })

  it('pages newest first: limit orders older than `before`, hasMore while older ones exist, totals over all', async () => {
    const { orders } = book()
    for (let i = 1; i <= 7; i += 1) orders.put(order(`o${i}`, '1.00', i % 2 ? 'jdc' : 'jsz', i))
    // Two orders at the same time: insertion order decides, and paging never skips or repeats one.
    orders.put(order('o8', '1.00', 'jdc', 7))
    const seen: string[] = []
    let before: string | undefined
    for (;;) {
      const page = await orders.list({ limit: 3, before })
      expect(page).toMatchObject({ allAmount: '8.00', orderNum: 8, jdcAmount: '5.00', jszAmount: '3.00' })
      seen.push(...(page?.list ?? []).map((item) => item.id))
      if (!page?.hasMore) break
      before = page.list[page.list.length - 1].id
    }
    expect(seen).toEqual(['o8', 'o7', 'o6', 'o5', 'o4', 'o3', 'o2', 'o1'])
    expect(await orders.list({ limit: 3, before: 'o1' })).toMatchObject({ list: [], hasMore: false })
    expect(await orders.list({ limit: 3, before: 'nope' })).toBeNull()
  })

  it('orders equal times by insertion, newest first', async () => {
    const { orders } = book()
    orders.put(order('first', '1', 'jdc', 5))
    orders.put(order('second', '1', 'jdc', 5))
    expect((await orders.list())?.list.map((item) => item.id)).toEqual(['second', 'first'])
  })

  it('changes the status of an order, and of no other', async () => {
    const { orders } = book()
    orders.put(order('a', '1', 'jdc', 1))
    orders.put(order('b', '1', 'jdc', 2))
    orders.put({ ...order('a', '1', 'jdc', 1), status: 'confirmed' })
    expect(await orders.get('a')).toEqual({ ...order('a', '1.00', 'jdc', 1), status: 'confirmed' })
    expect((await orders.get('b'))?.status).toBe('new')
    expect(await orders.count()).toBe(2)
  })

  it('replaces an order put again with the same id', async () => {
    const { orders } = book()
    orders.put(order('a', '1', 'jdc', 1))
    orders.put(order('a', '2', 'jsz', 1))
    expect(await orders.list()).toMatchObject({ orderNum: 1, allAmount: '2.00', jszAmount: '2.00', jdcAmount: '0.00' })
  })

  it('makes new orders with ids unique within the same millisecond', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newOrder({ title: 'x', amountFen: 1, kind: 'jdc' }, 7).id))
    expect(ids.size).toBe(50)
    expect(newOrder({ title: 'x', amountFen: 150, kind: 'jsz' }, 7)).toMatchObject({ amount: '1.50', kind: 'jsz', status: 'new', createdAt: 7 })
  })
})

describe('parseOrder', () => {
  it('normalizes and fills defaults', () => {
    expect(parseOrder({ id: 'a', title: 't', amount: '3.5', kind: 'jsz' }, 99)).toEqual({
      id: 'a',
      title: 't',
      amount: '3.50',
      kind: 'jsz',
      status: 'new',
      createdAt: 99,
    })
  })

  it.each([
    null,
    [],
    'a',
    { id: 'a', title: 't', amount: 3.5, kind: 'jsz' },
    { id: 'a', title: 't', amount: '3.5', kind: 'car' },
    { id: 'a', title: 't', amount: '3.5', kind: 'jsz', status: 'done' },
    { id: 'a', title: 't', amount: '3.5', kind: 'jsz', createdAt: -1 },
    { id: 'a', title: 't', amount: '3.5', kind: 'jsz', createdAt: 1.5 },
    { id: 1, title: 't', amount: '3.5', kind: 'jsz' },
    { id: 'a', title: 7, amount: '3.5', kind: 'jsz' },
    JSON.parse('{"__proto__":{"id":"a","title":"t","amount":"1","kind":"jdc"}}'),
  ])('refuses %j', (value) => expect(parseOrder(value, 1)).toBeNull())
})

describe('announcedOrder', () => {
  it('normalizes the order of a notify and returns the write that stores it', () => {
    const announced = announcedOrder('notify', { order: order('a', '1.5', 'jdc', 1), extra: 1 }, 0)
    expect(announced.data).toEqual({ order: order('a', '1.50', 'jdc', 1), extra: 1 })
    expect(announced.writes).toEqual([orderWrite(order('a', '1.50', 'jdc', 1))])
  })

  it('leaves other topics and notify without order alone', () => {
    const data = { order: 'not an order' }
    expect(announcedOrder('other', data, 0)).toEqual({ data, writes: [] })
    expect(announcedOrder('notify', { text: 'hi' }, 0)).toEqual({ data: { text: 'hi' }, writes: [] })
  })

  it('throws bad_request for a notify with a bad order', () => {
    expect(() => announcedOrder('notify', { order: { id: 'x' } }, 0)).toThrow(expect.objectContaining({ code: 'bad_request' }))
  })
})

describe('seed and simulator', () => {
  it('draws random orders from the sample titles with amounts in range', () => {
    let state = 1
    const random = (): number => {
      state = (state * 16807) % 2147483647
      return state / 2147483647
    }
    for (let i = 0; i < 100; i += 1) {
      const created = randomNewOrder(random)
      expect(SAMPLE_TITLES[created.kind]).toContain(created.title)
      expect(Number.isSafeInteger(created.amountFen) && created.amountFen > 0).toBe(true)
    }
  })
})

describe('demo methods', () => {
  const context = (orders: ReturnType<typeof book>['orders'], published: Array<[string, unknown, unknown]>, writes: DataWrite[]): MethodContext => ({
    sid: 's',
    identity: 'merchant-1',
    nowMs: 0,
    records: orders.reader,
    publish: (topic, data, to) => {
      published.push([topic, data, to])
    },
    change: (write) => {
      writes.push(write)
    },
  })

  it('order.confirm asks to confirm a new order and publishes order.updated and a notice to the caller', async () => {
    const { orders } = book()
    orders.put(order('a', '1', 'jdc', 1))
    const published: Array<[string, unknown, unknown]> = []
    const writes: DataWrite[] = []
    const confirm = createDemoMethods().get('order.confirm') as MethodHandler
    await expect(confirm({ id: 'a' }, context(orders, published, writes))).resolves.toEqual({ id: 'a', status: 'confirmed' })
    // The confirmed order, committed only if the order is still as it was read.
    const read = await findOrder(orders.reader, 'a')
    expect(writes).toEqual([orderWrite({ ...order('a', '1.00', 'jdc', 1), status: 'confirmed' }, read?.doc)])
    expect(published).toEqual([
      ['order.updated', { order: { ...order('a', '1.00', 'jdc', 1), status: 'confirmed' } }, undefined],
      ['notice', { text: expect.stringContaining('已确认'), orderId: 'a' }, { user: 'merchant-1' }],
    ])
  })

  it('order.confirm refuses a confirmed order and an unknown one, asking for nothing', async () => {
    const { orders } = book()
    orders.put({ ...order('a', '1', 'jdc', 1), status: 'confirmed' })
    const published: Array<[string, unknown, unknown]> = []
    const writes: DataWrite[] = []
    const confirm = createDemoMethods().get('order.confirm') as MethodHandler
    await expect(confirm({ id: 'a' }, context(orders, published, writes))).rejects.toMatchObject({ code: 'already_confirmed' })
    await expect(confirm({ id: 'zz' }, context(orders, published, writes))).rejects.toMatchObject({ code: 'not_found' })
    expect([published, writes]).toEqual([[], []])
  })

  it('has exactly list, order.confirm and echo', () => {
    expect([...createDemoMethods().keys()]).toEqual(['list', 'order.confirm', 'echo'])
  })
})
