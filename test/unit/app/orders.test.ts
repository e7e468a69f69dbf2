import { addOrder, EMPTY_DASHBOARD, isOrder, markConfirmed, replaceOrder, type Dashboard, type Order } from '../../../src/services/orders'
import { describeNotice } from '../../../src/services/notices'

const order = (id: string, amount: string, kind: Order['kind'] = 'jdc'): Order => ({
  id, title: `订单 ${id}`, amount, kind, status: 'new', createdAt: 1_700_000_000_000,
})

describe('dashboard updates from pushes', () => {
  it('adds a live order at the top and to the right totals', () => {
    const start: Dashboard = { ...EMPTY_DASHBOARD, allAmount: '10.00', orderNum: 1, jdcAmount: '10.00', list: [order('a', '10.00')] }
    const next = addOrder(start, order('b', '0.30', 'jsz'))
    expect(next.list.map((listed) => listed.id)).toEqual(['b', 'a'])
    expect(next).toMatchObject({ allAmount: '10.30', orderNum: 2, jdcAmount: '10.00', jszAmount: '0.30' })
  })

  it('counts an order delivered twice once', () => {
    const once = addOrder(EMPTY_DASHBOARD, order('a', '5.00'))
    const twice = addOrder(once, order('a', '5.00'))
    expect(twice.orderNum).toBe(1)
    expect(twice.allAmount).toBe('5.00')
    expect(twice.list).toHaveLength(1)
  })

  it('replaces and confirms by id, leaving totals alone', () => {
    const start = addOrder(addOrder(EMPTY_DASHBOARD, order('a', '1.00')), order('b', '2.00'))
    const confirmed = markConfirmed(start, 'a')
    expect(confirmed.list.find((listed) => listed.id === 'a')?.status).toBe('confirmed')
    expect(confirmed.list.find((listed) => listed.id === 'b')?.status).toBe('new')
    const replaced = replaceOrder(start, { ...order('b', '2.00'), status: 'confirmed' })
    expect(replaced.list.find((listed) => listed.id === 'b')?.status).toBe('confirmed')
    expect(replaced.allAmount).toBe(start.allAmount)
  })

  it('recognises only well-formed orders', () => {
    expect(isOrder(order('a', '1.00'))).toBe(true)
    expect(isOrder({ ...order('a', '1.00'), kind: 'other' })).toBe(false)
    expect(isOrder({ ...order('a', '1.00'), amount: 1 })).toBe(false)
    expect(isOrder(null)).toBe(false)
  })

  it('describes order pushes in Chinese, a notice by its text, and other pushes as JSON', () => {
    expect(describeNotice({ key: '1', topic: 'notify', data: { order: order('a', '1.00') }, receivedAt: 0 })).toContain('新订单：订单 a ¥1.00（机动车')
    expect(describeNotice({ key: '2', topic: 'notice', data: { text: '系统维护' }, receivedAt: 0 })).toBe('系统维护')
    expect(describeNotice({ key: '4', topic: 'notice', data: '纯文本', receivedAt: 0 })).toBe('纯文本')
    expect(describeNotice({ key: '5', topic: 'other', data: { a: [1] }, receivedAt: 0 })).toBe('{"a":[1]}')
    expect(describeNotice({ key: '3', topic: 'ping', receivedAt: 0, data: undefined })).toBe('（无内容）')
  })
})
