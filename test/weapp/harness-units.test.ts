import { NetworkState } from './harness/network'
import { PageStack, resolveRoute, type PageLifecycle } from './harness/page-stack'
import { findById, textContent, treeText, type RenderNode } from './harness/render-tree'
import { applySetData, parseDataPath } from './harness/set-data'
import { WeappStorage } from './harness/storage'
import { SocketPool } from './harness/socket-pool'
import { SuspendableTimers } from './harness/timers'
import { UiLog } from './harness/ui-log'
import { waitFor } from './harness/wait'
import { createWx, DEFAULT_DEVICE } from './harness/wx-api'

describe('setData paths', () => {
  test('parses Taro and WeChat path forms', () => {
    expect(parseDataPath('root.cn.[0].cn.[1].v')).toEqual(['root', 'cn', 0, 'cn', 1, 'v'])
    expect(parseDataPath('root.cn[0]')).toEqual(['root', 'cn', 0])
    expect(() => parseDataPath('')).toThrow(SyntaxError)
  })

  test('creates missing arrays and objects and copies values', () => {
    const data: Record<string, unknown> = { root: { cn: [] }, keep: 1 }
    const value = { v: 'x' }
    applySetData(data, { 'root.cn.[1].cn.[0]': value, 'a.b': 2 })
    value.v = 'changed'
    expect(data).toEqual({ root: { cn: [undefined, { cn: [{ v: 'x' }] }] }, keep: 1, a: { b: 2 } })
    applySetData(data, { 'root.cn': [] })
    expect(data.root).toEqual({ cn: [] })
  })
})

describe('render tree', () => {
  const tree: RenderNode = {
    cn: [
      { nn: '3', sid: '_1', uid: 'list', cn: [
        { nn: '3', sid: '_2', uid: 'order-a', cn: [{ nn: '9', sid: '_3', v: 'A ' }, { nn: '9', sid: '_4', v: '1.00' }] },
        { nn: '3', sid: '_5', uid: '_5', cn: [{ nn: '9', sid: '_6', v: 'plain' }] },
      ] },
    ],
  }

  test('finds by id, reads text like textContent, prints one line per text holder', () => {
    expect(findById(tree, 'order-a')?.sid).toBe('_2')
    expect(findById(tree, 'missing')).toBeNull()
    expect(textContent(findById(tree, 'list'))).toBe('A 1.00plain')
    expect(treeText(tree)).toBe('#order-a A 1.00\nplain')
  })
})

describe('suspendable timers', () => {
  const make = () => new SuspendableTimers({ onError: (error) => { throw error } })

  test('a frozen timer keeps the time it had left', async () => {
    const timers = make()
    const fired: number[] = []
    timers.contextTimers.setTimeout(() => fired.push(timers.now()), 40)
    timers.suspend()
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(fired).toEqual([])
    timers.advance(10_000)
    const resumedAt = timers.now()
    timers.resume()
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(fired).toHaveLength(1)
    expect(fired[0]! - resumedAt).toBeGreaterThanOrEqual(30)
    timers.dispose()
  })

  test('advance fires what falls due in the skipped span, in due order; dispose clears all', async () => {
    const timers = make()
    const fired: string[] = []
    timers.contextTimers.setTimeout(() => fired.push('late'), 2000)
    timers.contextTimers.setTimeout(() => fired.push('early'), 1000)
    timers.contextTimers.setTimeout(() => fired.push('never'), 9000)
    const interval = timers.contextTimers.setInterval(() => fired.push('tick'), 500)
    timers.advance(2500)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(fired).toEqual(['tick', 'early', 'late'])
    timers.contextTimers.clearInterval(interval)
    expect(timers.pendingCount).toBe(1)
    timers.dispose()
    expect(timers.pendingCount).toBe(0)
  })

  test('work for a frozen app runs on resume, in order', () => {
    const timers = make()
    const ran: number[] = []
    timers.suspend()
    timers.runWhenAwake(() => ran.push(1))
    timers.runWhenAwake(() => ran.push(2))
    expect(ran).toEqual([])
    timers.resume()
    expect(ran).toEqual([1, 2])
    timers.dispose()
  })
})

describe('page stack', () => {
  function makeStack() {
    const calls: string[] = []
    const stack = new PageStack({
      later: (work) => work(),
      onSetData: () => undefined,
      callPage: (instance, hook: PageLifecycle) => calls.push(`${instance.route.split('/')[1]}.${hook}`),
    })
    for (const route of ['pages/a/index', 'pages/b/index', 'pages/c/index']) stack.register(route, { data: { n: 1 } })
    return { stack, calls }
  }

  test('redirectTo unloads the current page; reLaunch unloads all, top first', () => {
    const { stack, calls } = makeStack()
    stack.open('/pages/a/index')
    stack.navigateTo('../b/index?x=1')
    expect(stack.top?.options).toEqual({ x: '1' })
    stack.redirectTo('/pages/c/index')
    stack.reLaunch('/pages/a/index')
    expect(calls).toEqual([
      'a.onLoad', 'a.onShow', 'a.onReady',
      'a.onHide', 'b.onLoad', 'b.onShow', 'b.onReady',
      'b.onUnload', 'c.onLoad', 'c.onShow', 'c.onReady',
      'c.onUnload', 'a.onUnload', 'a.onLoad', 'a.onShow', 'a.onReady',
    ])
    expect(stack.pages.map((page) => page.route)).toEqual(['pages/a/index'])
  })

  test('refuses unknown pages, a back at the first page, and an eleventh page', () => {
    const { stack } = makeStack()
    stack.open('/pages/a/index')
    expect(() => stack.navigateTo('/pages/zzz/index')).toThrow(expect.objectContaining({ code: 'navigation_failed' }))
    expect(() => stack.navigateBack()).toThrow('cannot navigate back at first page')
    for (let i = 1; i < 10; i++) stack.navigateTo('/pages/b/index')
    expect(() => stack.navigateTo('/pages/b/index')).toThrow('webview count limit exceed')
    expect(stack.navigateBack(99).route).toBe('pages/a/index')
  })

  test('each page instance gets its own copy of data', () => {
    const { stack } = makeStack()
    const first = stack.open('/pages/a/index')
    first.setData({ n: 2 })
    const second = stack.navigateTo('/pages/a/index')
    expect(second.data).toEqual({ n: 1 })
    expect(resolveRoute('./x', 'pages/a/index')).toBe('pages/a/x')
  })
})

describe('storage', () => {
  test('enforces the per-key limit and keeps the old value on refusal', () => {
    const storage = new WeappStorage({ keyLimitBytes: 32 })
    storage.write('setStorageSync', 'k', 'short')
    expect(() => storage.write('setStorageSync', 'k', 'x'.repeat(64))).toThrow(expect.objectContaining({ code: 'storage_quota' }))
    expect(storage.get('k')).toBe('short')
  })
})

describe('wx api', () => {
  type Api = (...args: unknown[]) => unknown
  function makeWx() {
    const storage = new WeappStorage()
    const network = new NetworkState()
    const ui = new UiLog()
    const wx = createWx({
      storage,
      network,
      ui,
      sockets: new SocketPool({ deliver: (work) => work(), networkConnected: () => network.connected }),
      device: DEFAULT_DEVICE,
      launchOptions: { path: 'pages/a/index', query: {}, scene: 1001, referrerInfo: {} },
      deliver: (work) => work(),
      later: (work) => setTimeout(work, 0),
      navigate: () => undefined,
      parseJson: (raw) => JSON.parse(raw) as unknown,
      makeError: (message, code) => Object.assign(new Error(message), { code }),
      appShowListeners: new Set(),
      appHideListeners: new Set(),
    }) as Record<string, Api>
    const call = (api: string, options: Record<string, unknown> = {}) => new Promise<Record<string, unknown>>((resolve) => {
      wx[api]!({ ...options, success: resolve, fail: resolve })
    })
    return { wx, storage, network, ui, call }
  }

  test('UI calls are recorded and answered asynchronously; showModal answers as configured', async () => {
    const { wx, ui, call } = makeWx()
    let answered = false
    wx.showToast!({ title: 'saved', success: () => { answered = true } })
    expect(answered).toBe(false)
    expect(ui.toasts).toEqual(['saved'])
    ui.modalAnswer = { confirm: false, cancel: true }
    expect(await call('showModal', { title: 'sure?' })).toMatchObject({ errMsg: 'showModal:ok', confirm: false, cancel: true })
    await call('showLoading', { title: 'wait' })
    await call('hideLoading')
    expect(ui.calls.map((entry) => entry.api)).toEqual(['showToast', 'showModal', 'showLoading', 'hideLoading'])
    expect(ui.of('showModal')[0]!.options).toEqual({ title: 'sure?' })
  })

  test('storage: sync answers "" for a missing key, async fails; both share one store', async () => {
    const { wx, storage, call } = makeWx()
    expect(wx.getStorageSync!('k')).toBe('')
    expect(await call('getStorage', { key: 'k' })).toEqual({ errMsg: 'getStorage:fail data not found' })
    await call('setStorage', { key: 'k', data: { n: 1 } })
    expect(wx.getStorageSync!('k')).toEqual({ n: 1 })
    storage.failWrites = 'quota'
    expect(() => wx.setStorageSync!('k', 2)).toThrow(expect.objectContaining({ code: 'storage_quota' }))
    expect((await call('setStorage', { key: 'k', data: 3 })).errMsg).toMatch(/^setStorage:fail/)
    expect(storage.get('k')).toEqual({ n: 1 })
  })

  test('network: getNetworkType follows the test; off removes one listener or all', async () => {
    const { wx, network, call } = makeWx()
    const heard: boolean[] = []
    const listener = (status: { isConnected: boolean }) => heard.push(status.isConnected)
    wx.onNetworkStatusChange!(listener)
    network.set(false)
    expect(await call('getNetworkType')).toMatchObject({ networkType: 'none' })
    wx.offNetworkStatusChange!(listener)
    network.set(true, '4g')
    expect(await call('getNetworkType')).toMatchObject({ networkType: '4g' })
    expect(heard).toEqual([false])
    expect(network.listenerCount).toBe(0)
  })

  test('system info is there before any app code, with the platform set', () => {
    const { wx } = makeWx()
    expect(wx.getSystemInfoSync!()).toMatchObject({ platform: 'ios', windowWidth: DEFAULT_DEVICE.screenWidth, SDKVersion: DEFAULT_DEVICE.SDKVersion })
    expect(wx.canIUse!('connectSocket')).toBe(true)
    expect(wx.getLaunchOptionsSync!()).toMatchObject({ path: 'pages/a/index', scene: 1001 })
  })
})

describe('waitFor', () => {
  test('rejects with wait_timeout and what it last saw', async () => {
    await expect(waitFor('never', () => false, 20, () => 'the page text')).rejects.toMatchObject({ code: 'wait_timeout', message: expect.stringContaining('the page text') })
  })
})
