import { act, render } from '@testing-library/react'
import { pageLifecycle, TestPage } from '../mocks/taro'
import { createFakeEngine, flushMicrotasks, type FakeEngine } from '../helpers/fake-platform'
import { setAppSocket } from '../../src/services/socket'
import ConnectionStatus from '../../src/components/connection-status'

let fake: FakeEngine

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 })
  fake = createFakeEngine({ random: () => 0.999 })
  setAppSocket(fake.engine)
})

afterEach(() => {
  setAppSocket(null)
  pageLifecycle.reset()
  jest.useRealTimers()
})

const text = (id: string) => document.getElementById(id)?.textContent

describe('the connection banner', () => {
  it('shows the contract word, its Chinese label and the pending count', async () => {
    const view = render(<TestPage name='page'><ConnectionStatus /></TestPage>)
    expect(text('conn-status')).toBe('connecting')
    expect(view.container.textContent).toContain('连接中')

    act(() => {
      fake.engine.send('echo', 1)
      fake.engine.send('echo', 2)
    })
    expect(text('pending')).toBe('2')

    await act(async () => {
      fake.engine.connect()
      await fake.openCurrent()
    })
    expect(text('conn-status')).toBe('open')
    expect(view.container.textContent).toContain('已连接')
  })

  it('counts down to the next retry while reconnecting', async () => {
    const view = render(<TestPage name='page'><ConnectionStatus /></TestPage>)
    await act(async () => {
      fake.engine.connect()
      await fake.openCurrent()
    })
    await act(async () => {
      fake.platform.lastTask.serverClose(1001, 'going away')
      await flushMicrotasks()
    })
    expect(text('conn-status')).toBe('reconnecting')
    const nextRetryAt = fake.state().nextRetryAt
    expect(nextRetryAt).not.toBeNull()
    const seconds = Math.ceil(((nextRetryAt ?? 0) - Date.now()) / 1000)
    if (seconds > 0) expect(view.container.textContent).toContain(`${seconds} 秒后重试`)
    else expect(view.container.textContent).toContain('正在重新连接')
  })

  it('tells what to do when unauthorized, and retries on tap', async () => {
    const view = render(<TestPage name='page'><ConnectionStatus /></TestPage>)
    act(() => fake.engine.connect())
    for (let round = 0; round < 2; round++) {
      await act(async () => {
        await flushMicrotasks()
        const task = fake.platform.lastTask
        task.open()
        task.receive({ type: 'error', code: 'unauthorized', message: 'bad token' })
        task.serverClose(4401, 'unauthorized')
        await flushMicrotasks()
        jest.advanceTimersByTime(0)
        await flushMicrotasks()
      })
    }
    expect(text('conn-status')).toBe('unauthorized')
    expect(view.container.textContent).toContain('令牌无效')
    const attempts = fake.platform.tasks.length
    act(() => {
      document.getElementById('reconnect')?.click()
    })
    await act(async () => {
      await flushMicrotasks()
    })
    expect(fake.platform.tasks.length).toBe(attempts + 1)
    expect(text('conn-status')).not.toBe('unauthorized')
  })
})
