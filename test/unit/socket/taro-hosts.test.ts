/**
 * The Taro platform's handling of what differs between mini-program hosts (taro/hosts.ts,
 * taro/alipay-socket.ts): Alipay's own SocketTask and storage answers, ByteDance's string
 * close codes, both hosts' network answers, and the storage value limit the engine obeys.
 */
import Taro from '@tarojs/taro'
import { createSocketEngine } from '../../../packages/client/src/core/engine'
import { createTaroPlatform } from '../../../packages/client/src/taro/platform'
import { closeCodeOf } from '../../../packages/client/src/core/close-codes'
import { isConnectedAnswer, throwIfStorageRefused } from '../../../packages/client/src/taro/hosts'
import { FakePlatform, FakeSocketTask, flushMicrotasks } from '../../helpers/fake-platform'

type Global = typeof globalThis & { my?: unknown }
const realEnv = process.env.TARO_ENV

afterEach(() => {
  process.env.TARO_ENV = realEnv
  delete (globalThis as Global).my
  jest.restoreAllMocks()
})

describe('close codes', () => {
  test.each([
    [{ code: 4401, reason: 'x' }, 4401],
    [{ code: '4409' }, 4409],
    [{ code: '1000' }, 1000],
    [{ code: 'abc' }, 1006],
    [{ code: 4401.5 }, 1006],
    [{}, 1006],
    [null, 1006],
    [undefined, 1006],
  ])('%j reads as %d', (event, code) => {
    expect(closeCodeOf(event)).toBe(code)
  })
})

/** A ByteDance task: its close events carry the code as a string (SocketTask.onClose docs). */
class ByteDanceTask extends FakeSocketTask {
  private readonly stringCloseListeners: Array<(event: { code: string; reason: string; errMsg: string }) => void> = []

  override onClose(listener: (event: never) => void): void {
    this.stringCloseListeners.push(listener as never)
  }

  closeWithStringCode(code: number): void {
    this.readyState = 3
    for (const listener of this.stringCloseListeners) listener({ code: String(code), reason: '', errMsg: 'closeSocket:ok' })
  }
}

test('ByteDance: a 1009 told as the string "1009" fails the oversized request instead of re-sending it for ever', async () => {
  process.env.TARO_ENV = 'tt'
  const tasks: ByteDanceTask[] = []
  jest.spyOn(Taro, 'connectSocket').mockImplementation((async () => {
    const task = new ByteDanceTask('ws://x/ws', tasks.length)
    tasks.push(task)
    return task
  }) as never)
  // A regression would leave the request queued: its deadline makes that a quick failure, not a hang.
  const engine = createSocketEngine(createTaroPlatform(), { url: 'ws://x/ws', token: 'T', random: () => 0.5, requestTimeoutMs: 2000 })
  try {
    engine.connect()
    await flushMicrotasks()
    const task = tasks[0]!
    task.open()
    task.receive({ type: 'welcome', sid: 'S1', resumed: false, hb: 20_000 })
    const answer = engine.request('upload', { blob: 'x'.repeat(10_000) })
    await flushMicrotasks()
    expect(task.framesOfType('req')).toHaveLength(1)
    // The server's WebSocket library cut the frame off: 1009 and no error frame (PROTOCOL.md).
    task.closeWithStringCode(1009)
    await expect(answer).rejects.toMatchObject({ code: 'too_large' })
  } finally {
    // A failed expectation must not leave a reconnecting engine behind to keep jest alive.
    engine.destroy()
  }
})

describe('network answers', () => {
  test.each([
    [{ networkType: 'wifi' }, true],
    [{ networkType: 'none' }, false],
    [{ networkAvailable: false, networkType: 'NOTREACHABLE' }, false],
    [{ networkAvailable: true, networkType: 'WIFI' }, true],
    [{ networkType: 'NOTREACHABLE' }, false],
  ])('%j means connected: %s', (answer, connected) => {
    expect(isConnectedAnswer(answer)).toBe(connected)
  })

  test('Alipay: getNetworkConnected reads networkAvailable', async () => {
    process.env.TARO_ENV = 'alipay'
    jest.spyOn(Taro, 'getNetworkType').mockResolvedValue({ networkAvailable: false, networkType: 'NOTREACHABLE' } as never)
    expect(await createTaroPlatform().getNetworkConnected()).toBe(false)
  })
})

describe('storage answers', () => {
  test.each([
    [{ success: false, error: 14, errorMessage: 'data长度超限' }, /setStorageSync:fail data长度超限 \(error 14\) \(key "k"\)/],
    [{ error: 12, errorMessage: '存储总大小达到上限' }, /error 12/],
    [{ success: false }, /setStorageSync:fail refused/],
  ])('a refusal answered as %j throws', (answer, message) => {
    expect(() => throwIfStorageRefused('setStorageSync', 'k', answer)).toThrow(message)
  })

  test.each([[undefined], [{ success: true }], [{}], ['']])('%j is a write that happened', (answer) => {
    expect(() => throwIfStorageRefused('setStorageSync', 'k', answer)).not.toThrow()
  })

  test('Alipay: the platform turns a refused write into a throw the engine reports', () => {
    process.env.TARO_ENV = 'alipay'
    jest.spyOn(Taro, 'setStorageSync').mockReturnValue({ success: false, error: 14, errorMessage: 'data长度超限' } as never)
    expect(() => createTaroPlatform().setStorage('rsock:outbox.0', 'x')).toThrow(/error 14/)
  })

  test('the platform declares Alipay\'s 200 KB a key, and no limit of its own elsewhere', () => {
    process.env.TARO_ENV = 'alipay'
    expect(createTaroPlatform().storageValueLimitBytes).toBe(200 * 1024)
    process.env.TARO_ENV = 'weapp'
    expect(createTaroPlatform().storageValueLimitBytes).toBeUndefined()
  })
})

describe('Alipay sockets', () => {
  interface Call {
    options: { url: string; multiple?: boolean; success?: () => void; fail?: (failure: { error?: number; errorMessage?: string }) => void }
    task: FakeSocketTask
  }

  function installMy(behaviour: 'accept' | 'accept-inside' | 'refuse' | 'no-task' = 'accept'): Call[] {
    const calls: Call[] = []
    ;(globalThis as Global).my = {
      connectSocket(options: Call['options']) {
        const task = new FakeSocketTask(options.url, calls.length)
        calls.push({ options, task })
        if (behaviour === 'accept-inside') options.success?.()
        else if (behaviour === 'accept') setTimeout(() => options.success?.(), 0)
        else if (behaviour === 'refuse') setTimeout(() => options.fail?.({ error: 4, errorMessage: '无法识别的 url 格式' }), 0)
        return behaviour === 'no-task' ? undefined : task
      },
    }
    return calls
  }

  test('asks for a task of its own (multiple: true), not through Taro\'s single-socket globals', async () => {
    process.env.TARO_ENV = 'alipay'
    const calls = installMy()
    const viaTaro = jest.spyOn(Taro, 'connectSocket')
    const task = await createTaroPlatform().connectSocket({ url: 'wss://a/ws' })
    expect(viaTaro).not.toHaveBeenCalled()
    expect(calls).toHaveLength(1)
    expect(calls[0]!.options).toMatchObject({ url: 'wss://a/ws', multiple: true })
    // Close codes go to that task, and come back from it, as numbers.
    task.close({ code: 4000, reason: 'bye' })
    expect(calls[0]!.task.closeCalls).toEqual([{ code: 4000, reason: 'bye' }])
  })

  test('a success answered inside the call still resolves', async () => {
    process.env.TARO_ENV = 'alipay'
    installMy('accept-inside')
    await expect(createTaroPlatform().connectSocket({ url: 'wss://a/ws' })).resolves.toBeDefined()
  })

  test('a refused call rejects with Alipay\'s message and code', async () => {
    process.env.TARO_ENV = 'alipay'
    installMy('refuse')
    await expect(createTaroPlatform().connectSocket({ url: 'bad' })).rejects.toThrow('connectSocket:fail 无法识别的 url 格式 (error 4)')
  })

  test('a base library that returns no task is a clear failure, not a hang', async () => {
    process.env.TARO_ENV = 'alipay'
    installMy('no-task')
    await expect(createTaroPlatform().connectSocket({ url: 'wss://a/ws' })).rejects.toThrow(/returned no SocketTask/)
  })
})

test('the engine stores its outbox in values no larger than the platform allows', async () => {
  class SmallValues extends FakePlatform {
    readonly storageValueLimitBytes = 2000
  }
  const platform = new SmallValues()
  const engine = createSocketEngine(platform, { url: 'ws://fake/ws', token: 'T', persistIntervalMs: 0 })
  for (let i = 0; i < 40; i++) engine.send('order.confirm', { id: `order-${i}`, note: 'x'.repeat(200) })
  await flushMicrotasks()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const segments = [...platform.storage].filter(([key]) => key.includes('outbox.'))
  expect(segments.length).toBeGreaterThan(3)
  for (const [, value] of segments) expect(Buffer.byteLength(value)).toBeLessThanOrEqual(2000)
  engine.destroy()
})
