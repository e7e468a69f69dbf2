import path from 'node:path'
import { launchWeapp, WeappStorage, type WeappHarness } from './harness'

const FIXTURE_DIST = path.join(__dirname, 'fixtures', 'plain-dist')

function events(harness: WeappHarness): string[] {
  return harness.appInstance.events as string[]
}

describe('weapp harness on a plain mini-program', () => {
  let harness: WeappHarness | null = null
  afterEach(() => {
    harness?.kill()
    harness = null
  })

  test('launch runs app then page lifecycles in WeChat order and renders setData paths', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST })
    expect(events(harness)).toEqual(['app.onLaunch:pages/home/index', 'app.onShow', 'home.onLoad', 'home.onShow', 'home.onReady'])
    expect(harness.page().route).toBe('pages/home/index')
    expect(harness.page().textOf('ticks')).toBe('0')
    expect(harness.page().ids()).toEqual(['ticks', 'visits', 'go'])
    expect(harness.page().text()).toBe('#ticks 0\n#visits 0\n#go open detail\nno id here')
    await harness.waitForText('ticks', /^[1-9]/)
    expect(harness.errors).toEqual([])
  })

  test('navigateTo hides the current page; navigateBack unloads the new one and shows the old', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST })
    const h = harness
    h.page().tap('go')
    await h.waitFor('detail page', () => h.page().route === 'pages/detail/index')
    expect(h.page().textOf('back')).toBe('back')
    expect(h.pages().map((page) => page.route)).toEqual(['pages/home/index', 'pages/detail/index'])
    h.page().tap('back')
    await h.waitFor('home page', () => h.page().route === 'pages/home/index')
    expect(events(h).slice(5)).toEqual([
      'tap:_c:tap', 'home.onHide', 'detail.onLoad:home', 'detail.onShow', 'detail.onReady',
      'detail.onUnload', 'home.onShow',
    ])
  })

  test('hiding: page onHide then app onHide; after 5 s hidden the timers freeze until show', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST })
    const h = harness
    await h.waitForText('ticks', /^[1-9]/)
    h.hideApp()
    expect(h.state).toBe('hidden')
    const clockBefore = h.timers.now()
    await h.advanceHidden(5000)
    expect(h.state).toBe('suspended')
    const frozenTicks = h.page().textOf('ticks')
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(h.page().textOf('ticks')).toBe(frozenTicks)
    expect(h.timers.now() - clockBefore).toBeGreaterThanOrEqual(5000)
    h.showApp()
    await h.waitFor('ticks to move again', () => h.page().textOf('ticks') !== frozenTicks)
    expect(events(h).slice(-4)).toEqual(['home.onHide', 'app.onHide', 'app.onShow', 'home.onShow'])
  })

  test('hidden long enough in real time, the app is suspended without any skipping', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST, suspendAfterMs: 50 })
    const h = harness
    h.hideApp()
    await h.waitFor('suspension', () => h.state === 'suspended', 1000)
    expect(h.hiddenMs).toBeGreaterThanOrEqual(50)
    h.showApp()
    expect(h.state).toBe('running')
  })

  test('the app clock moves with skipped hidden time: Date.now() in the app jumps', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST })
    const h = harness
    h.hideApp()
    await h.advanceHidden(60_000)
    h.showApp()
    h.page().tap('go')
    await h.waitFor('detail page', () => h.page().route === 'pages/detail/index')
    expect(Number(h.page().textOf('now')) - Date.now()).toBeGreaterThanOrEqual(59_000)
  })

  test('kill keeps storage; a relaunch on it sees what the first launch wrote', async () => {
    const storage = new WeappStorage()
    harness = await launchWeapp({ distDir: FIXTURE_DIST, storage })
    harness.page().tap('visits')
    harness.page().tap('visits')
    expect(storage.get('visits')).toBe(2)
    harness.kill()
    expect(harness.state).toBe('killed')
    expect(harness.timers.pendingCount).toBe(0)
    harness = await launchWeapp({ distDir: FIXTURE_DIST, storage })
    expect(harness.page().textOf('visits')).toBe('2')
  })

  test('a full storage makes setStorageSync throw an Error of the app, with a code', async () => {
    const storage = new WeappStorage()
    storage.failWrites = 'quota'
    harness = await launchWeapp({ distDir: FIXTURE_DIST, storage })
    harness.page().tap('visits')
    expect(events(harness)).toContain('storage:storage_quota:true')
    expect(storage.has('visits')).toBe(false)
    expect(storage.writes).toEqual([{ key: 'visits', ok: false }])
  })

  test('taps are refused while the app is hidden, and unknown ids name the ids that exist', async () => {
    harness = await launchWeapp({ distDir: FIXTURE_DIST })
    expect(() => harness!.page().tap('nope')).toThrow(expect.objectContaining({ code: 'element_not_found', message: expect.stringContaining('ticks, visits, go') }))
    harness.hideApp()
    expect(() => harness!.page().tap('go')).toThrow(expect.objectContaining({ code: 'bad_app_state' }))
  })
})
