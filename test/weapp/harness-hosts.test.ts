/**
 * The Alipay and ByteDance API shapes of the harness (harness/host-apis.ts) against a real `ws`
 * server: what an app on each host sees, so that the app suites on those builds mean something.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { createHostApi, type MiniHost } from './harness/host-apis'
import { NetworkState } from './harness/network'
import { SocketPool } from './harness/socket-pool'
import { storageOptionsFor, WeappStorage } from './harness/storage'
import { UiLog } from './harness/ui-log'
import { waitFor } from './harness/wait'
import { DEFAULT_DEVICE } from './harness/wx-api'

type Api = Record<string, (...args: never[]) => unknown>

let server: WebSocketServer
let url: string
const closesSeenByServer: number[] = []

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('close-me:')) socket.close(Number(text.slice('close-me:'.length)), 'asked')
      else socket.send(`echo:${text}`)
    })
    socket.on('close', (code) => closesSeenByServer.push(code))
  })
})

afterAll(async () => {
  for (const client of server.clients) client.terminate()
  await new Promise((resolve) => server.close(resolve))
})

function hostApi(host: MiniHost) {
  const storage = new WeappStorage(storageOptionsFor(host))
  const network = new NetworkState()
  const sockets = new SocketPool({ deliver: (work) => work(), networkConnected: () => network.connected })
  const api = createHostApi(host, {
    storage,
    network,
    sockets,
    ui: new UiLog(),
    device: DEFAULT_DEVICE,
    launchOptions: { path: 'pages/index/index', query: {}, scene: 1001, referrerInfo: {} },
    deliver: (work) => work(),
    later: (work) => setTimeout(work, 0),
    navigate: () => undefined,
    parseJson: (raw) => JSON.parse(raw) as unknown,
    makeError: (message) => new Error(message),
    appShowListeners: new Set(),
    appHideListeners: new Set(),
  }) as Api
  return { api, storage, network, sockets }
}

describe('Alipay (`my`)', () => {
  test('storage: object arguments, `{ data }` answers, refusals returned with codes 14 and 12 rather than thrown', () => {
    const { api, storage } = hostApi('alipay')
    expect(api.setStorageSync!({ key: 'a', data: 'x' } as never)).toEqual({ success: true })
    expect(api.getStorageSync!({ key: 'a' } as never)).toEqual({ data: 'x' })
    expect(api.getStorageSync!({ key: 'missing' } as never)).toEqual({ data: null })
    // 200 KB a key, counted in characters of the string (a JSON-escaped value would be longer).
    const quotes = '"'.repeat(150 * 1024)
    expect(api.setStorageSync!({ key: 'b', data: quotes } as never)).toEqual({ success: true })
    expect(api.setStorageSync!({ key: 'c', data: 'y'.repeat(200 * 1024 + 1) } as never)).toMatchObject({ success: false, error: 14 })
    storage.failWrites = 'quota'
    expect(api.setStorageSync!({ key: 'd', data: 'z' } as never)).toMatchObject({ success: false, error: 12 })
    expect(storage.has('c')).toBe(false)
    expect(api.removeStorageSync!({ key: 'a' } as never)).toEqual({ success: true })
    expect(storage.has('a')).toBe(false)
  })

  test('connectSocket({ multiple: true }) returns a task of its own whose close code reaches the server', async () => {
    const { api } = hostApi('alipay')
    const events: string[] = []
    const task = api.connectSocket!({ url, multiple: true, success: () => events.push('success') } as never) as {
      onOpen(cb: () => void): void
      onClose(cb: (event: { code: number }) => void): void
      close(options: { code: number; reason: string }): void
    }
    task.onOpen(() => events.push('open'))
    task.onClose(({ code }) => events.push(`close:${code}`))
    await waitFor('open', () => events.includes('open'))
    task.close({ code: 4000, reason: 'bye' })
    await waitFor('the close', () => events.some((event) => event.startsWith('close:')))
    expect(events).toEqual(['success', 'open', 'close:4000'])
    await waitFor('the server to see 4000', () => closesSeenByServer.includes(4000))
  })

  test('without `multiple` the socket is the single global one: a second connect fails with error 3, closeSocket sends no code', async () => {
    const { api } = hostApi('alipay')
    const opened: string[] = []
    const failures: unknown[] = []
    expect(api.connectSocket!({ url } as never)).toBeUndefined()
    api.onSocketOpen!((() => opened.push('open')) as never)
    await waitFor('open', () => opened.length === 1)
    api.connectSocket!({ url, fail: (failure: unknown) => failures.push(failure) } as never)
    await waitFor('the refusal', () => failures.length === 1)
    expect(failures[0]).toMatchObject({ error: 3 })
    const before = closesSeenByServer.length
    api.closeSocket!({} as never)
    await waitFor('the server to see the close', () => closesSeenByServer.length > before)
    expect(closesSeenByServer.at(-1)).toBe(1000)
  })

  test('getNetworkType answers networkAvailable and Alipay\'s type names', async () => {
    const { api, network } = hostApi('alipay')
    const answers: unknown[] = []
    network.set(false)
    api.getNetworkType!({ success: (answer: unknown) => answers.push(answer) } as never)
    await waitFor('the answer', () => answers.length === 1)
    expect(answers[0]).toEqual({ networkAvailable: false, networkType: 'NOTREACHABLE' })
  })

  test('WeChat\'s names Alipay lacks are absent, so Taro maps them', () => {
    const { api } = hostApi('alipay')
    expect('showModal' in api).toBe(false)
    expect('setNavigationBarTitle' in api).toBe(false)
    expect(typeof api.confirm).toBe('function')
  })
})

describe('ByteDance (`tt`)', () => {
  test('a task\'s close event carries the code as a string', async () => {
    const { api } = hostApi('tt')
    const closes: unknown[] = []
    let opened = false
    const task = api.connectSocket!({ url } as never) as {
      onOpen(cb: () => void): void
      onClose(cb: (event: unknown) => void): void
      send(options: { data: string }): void
    }
    task.onOpen(() => {
      opened = true
    })
    task.onClose((event) => closes.push(event))
    await waitFor('open', () => opened)
    task.send({ data: 'close-me:4401' })
    await waitFor('the close', () => closes.length === 1)
    expect(closes[0]).toMatchObject({ code: '4401', reason: 'asked' })
  })
})
