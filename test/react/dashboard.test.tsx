/**
 * The dashboard page (src/pages/index) on a fake socket: it checks the shape of every answer
 * and shows #load-error instead of going blank, pages with #load-more, and labels the two
 * businesses as the original app did.
 */
import { act, fireEvent, render } from '@testing-library/react'
import { pageLifecycle, TestPage } from '../mocks/taro'
import { createFakeEngine, flushMicrotasks, type FakeEngine, type FakeSocketTask } from '../helpers/fake-platform'
import { setAppSocket } from '../../src/services/socket'
import IndexPage from '../../src/pages/index'
import type { Order } from '../../src/services/orders'

let fake: FakeEngine
let task: FakeSocketTask

beforeEach(async () => {
  fake = createFakeEngine()
  setAppSocket(fake.engine)
  fake.engine.connect()
  task = await fake.openCurrent()
})

afterEach(() => {
  setAppSocket(null)
  pageLifecycle.reset()
})

const text = (id: string) => document.getElementById(id)?.textContent ?? null
const order = (n: number, kind: Order['kind'] = 'jdc'): Order => ({ id: `o${n}`, title: `订单 ${n}`, amount: '1.00', kind, status: 'new', createdAt: n })

/** Answers the newest `list` request the page sent with `result`. */
async function answerList(result: unknown): Promise<Record<string, unknown>> {
  const requests = task.framesOfType('req').filter((frame) => frame.method === 'list')
  const request = requests[requests.length - 1]
  await act(async () => {
    task.receive({ type: 'res', id: request.id, ok: true, result })
    await flushMicrotasks()
  })
  return request
}

async function showPage(): Promise<void> {
  render(<TestPage name='index'><IndexPage /></TestPage>)
  await act(async () => {
    pageLifecycle.show('index')
    await flushMicrotasks()
  })
}

describe('the dashboard page', () => {
  it.each([
    ['a number', 42],
    ['an object without list', { allAmount: '1.00', orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00' }],
    ['a list with a bad order', { allAmount: '1.00', orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00', list: [{ id: 7 }] }],
    ['totals that are not amounts', { allAmount: 1, orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00', list: [] }],
    ['an order with a float amount', { allAmount: '1.00', orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00', list: [{ ...order(1), amount: 1.5 }] }],
  ])('shows #load-error for %s, and stays rendered', async (_name, answer) => {
    await showPage()
    await answerList(answer)
    expect(text('load-error')).toContain('应答格式不对')
    expect(text('total')).toBe('0.00')
    expect(document.getElementById('orders')).not.toBeNull()
  })

  it('shows the newest page, loads older ones with #load-more, and hides it when none are left', async () => {
    await showPage()
    const first = Array.from({ length: 50 }, (_unused, i) => order(200 - i, i % 2 ? 'jsz' : 'jdc'))
    await answerList({ allAmount: '120.00', orderNum: 120, jdcAmount: '60.00', jszAmount: '60.00', list: first, hasMore: true })
    expect(document.querySelectorAll('#orders [id^="order-"]')).toHaveLength(50)
    expect(text('order-count')).toBe('120')
    expect(text('order-o200')).toContain('机动车')
    expect(text('order-o199')).toContain('驾驶证')

    await act(async () => {
      fireEvent.click(document.getElementById('load-more') as HTMLElement)
      await flushMicrotasks()
    })
    const more = await answerList({ allAmount: '120.00', orderNum: 120, jdcAmount: '60.00', jszAmount: '60.00', list: [order(151), order(150), order(149)], hasMore: false })
    expect(more.params).toEqual({ before: 'o151' })
    // An order already shown (o151, listed again by a page that moved) is not shown twice.
    expect(document.querySelectorAll('#orders [id^="order-"]')).toHaveLength(52)
    expect(document.getElementById('load-more')).toBeNull()
  })

  it('adds a live order from a notify push to the top and to the totals', async () => {
    await showPage()
    await answerList({ allAmount: '1.00', orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00', list: [order(1)], hasMore: false })
    await act(async () => {
      task.receive({ type: 'push', seq: 1, topic: 'notify', data: { order: { ...order(2, 'jsz'), amount: '2.50' } } })
      await flushMicrotasks()
    })
    expect(text('order-count')).toBe('2')
    expect(text('total')).toBe('3.50')
    expect(text('jsz-amount')).toBe('2.50')
    expect(document.querySelector('#orders > [id^="order-"]')?.id).toBe('order-o2')
  })

  it('ignores a push whose order is malformed instead of crashing', async () => {
    await showPage()
    await answerList({ allAmount: '1.00', orderNum: 1, jdcAmount: '1.00', jszAmount: '0.00', list: [order(1)], hasMore: false })
    await act(async () => {
      task.receive({ type: 'push', seq: 1, topic: 'notify', data: { order: { ...order(9), amount: 'lots' } } })
      await flushMicrotasks()
    })
    expect(text('order-count')).toBe('1')
  })
})
