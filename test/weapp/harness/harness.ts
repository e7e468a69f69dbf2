import fs from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'
import { createAppContext, type ConsoleEcho, type ConsoleEntry } from './context'
import { ModuleLoader } from './module-loader'
import { NetworkState, type NetworkStatus, type NetworkType } from './network'
import type { PageInstance } from './page-instance'
import { PageStack, type PageLifecycle } from './page-stack'
import { PageView } from './page-view'
import { SocketPool, MAX_SOCKETS } from './socket-pool'
import type { CutMode } from './socket-task'
import { WeappStorage } from './storage'
import { SuspendableTimers } from './timers'
import { UiLog } from './ui-log'
import { waitFor, WAIT_TIMEOUT_MS } from './wait'
import { createHostApi, HOST_GLOBAL, type MiniHost } from './host-apis'
import { DEFAULT_DEVICE, type DeviceProfile, type LaunchOptions, type NavigationKind } from './wx-api'

/** WeChat suspends a mini-program this long after it goes to the background. */
export const SUSPEND_AFTER_HIDDEN_MS = 5000

export type AppState = 'running' | 'hidden' | 'suspended' | 'killed'

export interface LaunchWeappOptions {
  /** The compiled mini-program (the folder holding app.js and app.json). */
  distDir: string
  /** Which host's API the build runs on (`wx`, Alipay's `my`, ByteDance's `tt`; host-apis.ts). Default weapp. */
  host?: MiniHost
  /** Storage to launch on; pass the previous launch's to relaunch after a kill. Default: empty. */
  storage?: WeappStorage
  /** Whether the network is up at launch. Default true. */
  networkConnected?: boolean
  /** What happens to sockets when WeChat suspends the hidden app: `silent` (iOS: no onClose) or `close` (onClose on resume). Default `silent`. */
  suspendCut?: Extract<CutMode, 'silent' | 'close'>
  /** What happens to sockets when the network goes down. Default `error-close`. */
  networkCut?: CutMode
  /** Hidden time before suspension. Default 5000 ms, as WeChat. */
  suspendAfterMs?: number
  /** The socket limit. Default 5, as WeChat. */
  maxSockets?: number
  /** Launch path, query and scene. Default: the first page of app.json, scene 1001. */
  launchOptions?: Partial<LaunchOptions>
  device?: Partial<DeviceProfile>
  /** Which app console output reaches the test's console. Default `errors`. Everything is kept in `logs`. */
  consoleEcho?: ConsoleEcho
  /** Replaces or adds host APIs (on `wx`, `my` or `tt`) before taro.js sees them. */
  wxOverrides?: Record<string, unknown>
  /** More globals for the app's context. */
  extraGlobals?: Record<string, unknown>
}

/** One lifecycle call the harness made. */
export interface LifecycleEntry {
  target: 'app' | string
  hook: string
  atMs: number
}

/** Something the app threw (in a lifecycle, a timer, an event callback) or logged with console.error. */
export interface AppError {
  where: string
  error: unknown
  atMs: number
}

/** The test's handle on the network: `set(false)` reports it down, refuses connects and cuts open sockets. */
export interface HarnessNetwork {
  set(connected: boolean, networkType?: NetworkType): void
  get(): NetworkStatus
  readonly connected: boolean
}

interface AppInstance {
  [key: string]: unknown
}

/**
 * One launch of a compiled mini-program in a `vm` context. Made by `launchWeapp()`.
 * Drives the app as WeChat would (lifecycles, page stack, background suspension, kill) and
 * lets the test read pages, tap elements, and control storage, network and time.
 */
export class WeappHarness {
  readonly storage: WeappStorage
  readonly sockets: SocketPool
  readonly timers: SuspendableTimers
  readonly ui = new UiLog()
  readonly logs: ConsoleEntry[] = []
  readonly errors: AppError[] = []
  readonly lifecycle: LifecycleEntry[] = []
  /** setData calls on pages already unloaded: a handler that outlived its page. */
  readonly staleSetData: Array<{ route: string; paths: string[]; atMs: number }> = []
  /** Routes and components registered by the dist, for inspection. */
  readonly components = new Map<string, Record<string, unknown>>()
  readonly network: HarnessNetwork
  readonly launchOptions: LaunchOptions

  private readonly networkState = new NetworkState()
  private readonly stack: PageStack
  private readonly appShowListeners = new Set<(options: LaunchOptions) => void>()
  private readonly appHideListeners = new Set<() => void>()
  private readonly context: vm.Context
  private readonly loader: ModuleLoader
  private readonly suspendCut: Extract<CutMode, 'silent' | 'close'>
  private readonly networkCut: CutMode
  private readonly suspendAfterMs: number
  private readonly consoleEcho: ConsoleEcho
  private app: AppInstance | null = null
  private readonly unloaded = new WeakSet<PageInstance>()
  private registering: { kind: 'page' | 'component'; path: string } | null = null
  private stateValue: AppState = 'running'
  private hiddenAtMs = 0
  private hiddenSkippedMs = 0
  private suspendTimer: ReturnType<typeof setTimeout> | null = null
  private jsonParse: (raw: string) => unknown
  private makeAppError: (message: string, code: string) => Error

  /** Use `launchWeapp()`. */
  constructor(readonly options: LaunchWeappOptions) {
    this.storage = options.storage ?? new WeappStorage()
    this.suspendCut = options.suspendCut ?? 'silent'
    this.networkCut = options.networkCut ?? 'error-close'
    this.suspendAfterMs = options.suspendAfterMs ?? SUSPEND_AFTER_HIDDEN_MS
    this.consoleEcho = options.consoleEcho ?? 'errors'
    if (options.networkConnected === false) this.networkState.set(false)
    this.timers = new SuspendableTimers({ onError: (error) => this.report('app callback', error) })
    this.sockets = new SocketPool({
      deliver: (work) => this.deliver(work),
      networkConnected: () => this.networkState.connected,
    }, options.maxSockets ?? MAX_SOCKETS)
    const networkState = this.networkState
    this.network = {
      set: (connected, networkType) => this.setNetwork(connected, networkType),
      get: () => networkState.get(),
      get connected() {
        return networkState.connected
      },
    }
    const appJson = readAppJson(options.distDir)
    const firstPage = appJson.pages[0]
    if (!firstPage) throw Object.assign(new Error(`${options.distDir}/app.json lists no pages`), { code: 'no_pages' })
    this.launchOptions = { path: firstPage, query: {}, scene: 1001, referrerInfo: {}, ...options.launchOptions }
    this.stack = new PageStack({
      later: (work) => this.timers.contextTimers.setTimeout(work, 0),
      onSetData: (instance, payload) => {
        if (this.unloaded.has(instance)) this.staleSetData.push({ route: instance.route, paths: Object.keys(payload), atMs: Date.now() })
      },
      callPage: (instance, hook, arg) => this.callPage(instance, hook, arg),
    })
    const host = options.host ?? 'weapp'
    const api = {
      ...createHostApi(host, {
        storage: this.storage,
        network: this.networkState,
        sockets: this.sockets,
        ui: this.ui,
        device: { ...DEFAULT_DEVICE, ...options.device },
        launchOptions: this.launchOptions,
        deliver: (work) => this.deliver(work),
        later: (work) => this.timers.contextTimers.setTimeout(work, 0),
        navigate: (kind, navOptions) => this.navigate(kind, navOptions),
        parseJson: (raw) => this.jsonParse(raw),
        makeError: (message, code) => this.makeAppError(message, code),
        appShowListeners: this.appShowListeners,
        appHideListeners: this.appHideListeners,
      }),
      ...options.wxOverrides,
    }
    // Alipay's logic layer has a `navigator`; Taro's Alipay runtime reads its userAgent on load.
    const hostExtras = host === 'alipay' ? { navigator: { userAgent: `AlipayClient/10.6.0 (${DEFAULT_DEVICE.system})`, swuserAgent: '' } } : {}
    this.context = createAppContext({
      api: { name: HOST_GLOBAL[host], value: api },
      App: (appOptions) => this.registerApp(appOptions),
      Page: (pageOptions) => this.registerPage(pageOptions),
      Component: (componentOptions) => this.registerComponent(componentOptions),
      Behavior: (behavior) => behavior,
      getApp: () => this.app ?? undefined,
      getCurrentPages: () => this.stack.pages,
      requirePlugin: (name) => {
        throw this.makeAppError(`plugin "${name}" is not available`, 'plugin_not_found')
      },
      timers: this.timers.contextTimers,
      now: () => this.timers.now(),
      log: (entry) => this.onLog(entry),
      extra: { ...hostExtras, ...options.extraGlobals },
    })
    this.jsonParse = vm.runInContext('(function (raw) { return JSON.parse(raw) })', this.context) as (raw: string) => unknown
    this.makeAppError = vm.runInContext('(function (message, code) { var e = new Error(message); e.code = code; return e })', this.context) as (message: string, code: string) => Error
    this.loader = new ModuleLoader(options.distDir, this.context)
    this.loadDist(appJson.pages)
  }

  /** running, hidden (in the background, not yet suspended), suspended, or killed. */
  get state(): AppState {
    return this.stateValue
  }

  /** The page on top of the stack; throws if there is none. */
  page(): PageView {
    const top = this.stack.top
    if (!top) throw Object.assign(new Error('no page is open'), { code: 'no_page' })
    return this.view(top)
  }

  /** Every page on the stack, bottom first. */
  pages(): PageView[] {
    return this.stack.pages.map((instance) => this.view(instance))
  }

  /** The app instance `App()` registered (what `getApp()` answers). */
  get appInstance(): AppInstance {
    if (!this.app) throw Object.assign(new Error('App() was never called'), { code: 'no_app' })
    return this.app
  }

  /** Files the dist loaded, relative to it. */
  get loadedFiles(): string[] {
    return this.loader.loaded
  }

  /** Starts the app: `onLaunch`, `onShow`, then the first page `onLoad`, `onShow`, `onReady`. */
  launch(): void {
    const options = { ...this.launchOptions, query: { ...this.launchOptions.query } }
    this.callApp('onLaunch', options)
    this.callApp('onShow', options)
    for (const listener of [...this.appShowListeners]) this.run('wx.onAppShow', () => listener(options))
    const query = Object.entries(options.query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')
    this.run('launch', () => this.stack.open(`/${options.path}${query ? `?${query}` : ''}`))
  }

  /**
   * Sends the app to the background: the page's `onHide`, then the app's. After
   * `suspendAfterMs` of hidden time (real, or skipped with `advanceHidden`) WeChat suspends it.
   */
  hideApp(): void {
    this.assertState('hideApp', ['running'])
    const top = this.stack.top
    if (top) this.callPage(top, 'onHide')
    this.callApp('onHide')
    for (const listener of [...this.appHideListeners]) this.run('wx.onAppHide', () => listener())
    this.stateValue = 'hidden'
    this.hiddenAtMs = Date.now()
    this.hiddenSkippedMs = 0
    this.suspendTimer = setTimeout(() => this.suspend(), this.suspendAfterMs)
  }

  /** Hidden time so far: real time since `hideApp()` plus what `advanceHidden` skipped. */
  get hiddenMs(): number {
    if (this.stateValue !== 'hidden' && this.stateValue !== 'suspended') return 0
    return Date.now() - this.hiddenAtMs + this.hiddenSkippedMs
  }

  /**
   * Skips `ms` of hidden time without waiting: the app's clock moves on, its timers due in the
   * skipped span fire, and once the hidden time reaches `suspendAfterMs` the app is suspended
   * (timers frozen, sockets cut as `suspendCut` says). Resolves when the timers that fell due
   * have run.
   */
  async advanceHidden(ms: number): Promise<void> {
    this.assertState('advanceHidden', ['hidden', 'suspended'])
    // Taro runs app hooks in a microtask: the app's onHide work must see the time it hid.
    await settleRealTimers()
    if (this.stateValue === 'hidden') {
      const untilSuspendMs = Math.max(0, this.suspendAfterMs - this.hiddenMs)
      const awakeMs = Math.min(ms, untilSuspendMs)
      this.hiddenSkippedMs += awakeMs
      this.timers.advance(awakeMs)
      await settleRealTimers()
      if (ms >= untilSuspendMs) this.suspend()
      ms -= awakeMs
    }
    this.hiddenSkippedMs += ms
    this.timers.advance(ms)
  }

  /**
   * Moves the clock of a running app forward by `ms` without waiting: its timers that fall
   * due fire at once, in order (e.g. to show that no reconnect timer is pending). Resolves
   * when they have run.
   */
  async advanceTime(ms: number): Promise<void> {
    this.assertState('advanceTime', ['running'])
    await settleRealTimers()
    this.timers.advance(ms)
    await settleRealTimers()
  }

  /**
   * Brings the app back: timers thaw (socket events queued while frozen are delivered first),
   * then the app's `onShow` and the top page's `onShow`.
   */
  showApp(): void {
    this.assertState('showApp', ['hidden', 'suspended'])
    this.clearSuspendTimer()
    if (this.stateValue === 'suspended') this.timers.resume()
    this.stateValue = 'running'
    const options = { ...this.launchOptions, query: { ...this.launchOptions.query } }
    this.callApp('onShow', options)
    for (const listener of [...this.appShowListeners]) this.run('wx.onAppShow', () => listener(options))
    const top = this.stack.top
    if (top) this.callPage(top, 'onShow')
  }

  /**
   * Kills the app: sockets dropped without any event, timers cleared, no lifecycle called.
   * Storage survives; pass `harness.storage` to the next `launchWeapp()`.
   */
  kill(): void {
    if (this.stateValue === 'killed') return
    this.clearSuspendTimer()
    this.stateValue = 'killed'
    this.sockets.cutAll('silent', true)
    this.timers.dispose()
    this.networkState.clearListeners()
    this.appShowListeners.clear()
    this.appHideListeners.clear()
    this.stack.drop()
  }

  /** Waits (real time) until `probe` returns a value that is not undefined/false. */
  waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
    return waitFor(what, probe, timeoutMs, () => this.describeTop())
  }

  /** Waits until element `id` of the top page has text `expected` (exact string, or a RegExp to match); resolves with the text. */
  waitForText(id: string, expected: string | RegExp, timeoutMs = WAIT_TIMEOUT_MS): Promise<string> {
    return this.waitFor(`#${id} to read ${String(expected)}`, () => {
      const text = this.page().maybeTextOf(id)
      if (text === null) return undefined
      return (typeof expected === 'string' ? text === expected : expected.test(text)) ? text : undefined
    }, timeoutMs)
  }

  private loadDist(pages: string[]): void {
    this.loader.require('app.js')
    if (!this.app) throw Object.assign(new Error('app.js did not call App()'), { code: 'no_app' })
    for (const route of pages) {
      this.registering = { kind: 'page', path: route }
      try {
        this.loader.require(`${route}.js`)
      } finally {
        this.registering = null
      }
      if (!this.stack.routes.includes(route)) throw Object.assign(new Error(`${route}.js did not call Page()`), { code: 'no_page' })
      for (const component of usedComponents(this.options.distDir, route)) {
        if (this.components.has(component)) continue
        this.registering = { kind: 'component', path: component }
        try {
          this.loader.require(`${component}.js`)
        } finally {
          this.registering = null
        }
      }
    }
  }

  private registerApp(options: Record<string, unknown>): void {
    if (this.app) throw this.makeAppError('App() called twice', 'app_registered')
    this.app = options
  }

  private registerPage(options: Record<string, unknown>): void {
    if (this.registering?.kind !== 'page') throw this.makeAppError('Page() called outside a page file', 'page_outside_file')
    this.stack.register(this.registering.path, options)
  }

  private registerComponent(options: Record<string, unknown>): void {
    const key = this.registering?.path ?? `anonymous-${this.components.size + 1}`
    this.components.set(key, options)
  }

  private navigate(kind: NavigationKind, options: Record<string, unknown>): void {
    const url = String(options.url ?? '')
    if (kind === 'navigateTo') this.stack.navigateTo(url)
    else if (kind === 'navigateBack') this.stack.navigateBack(Number(options.delta ?? 1))
    else if (kind === 'redirectTo') this.stack.redirectTo(url)
    else this.stack.reLaunch(url)
  }

  private setNetwork(connected: boolean, networkType?: NetworkType): void {
    this.assertState('network.set', ['running', 'hidden', 'suspended'])
    // The app hears the change first; then the links that depended on it break.
    this.networkState.set(connected, networkType)
    if (!connected) this.sockets.cutAll(this.networkCut)
  }

  private suspend(): void {
    this.clearSuspendTimer()
    if (this.stateValue !== 'hidden') return
    this.stateValue = 'suspended'
    this.timers.suspend()
    this.sockets.cutAll(this.suspendCut)
  }

  private clearSuspendTimer(): void {
    if (this.suspendTimer !== null) clearTimeout(this.suspendTimer)
    this.suspendTimer = null
  }

  private deliver(work: () => void): void {
    if (this.stateValue === 'killed') return
    this.timers.runWhenAwake(work)
  }

  private callApp(hook: string, arg?: unknown): void {
    this.lifecycle.push({ target: 'app', hook, atMs: Date.now() })
    const app = this.app
    const fn = app?.[hook]
    if (typeof fn === 'function') this.run(`app.${hook}`, () => fn.call(app, arg))
  }

  private callPage(instance: PageInstance, hook: PageLifecycle, arg?: unknown): void {
    this.lifecycle.push({ target: instance.route, hook, atMs: Date.now() })
    if (hook === 'onUnload') this.unloaded.add(instance)
    const fn = instance[hook]
    if (typeof fn === 'function') this.run(`${instance.route}.${hook}`, () => fn.call(instance, arg))
  }

  private view(instance: PageInstance): PageView {
    return new PageView(instance, {
      assertInteractive: (action) => this.assertState(action, ['running']),
      run: (work) => this.run('event handler', work),
    })
  }

  private run(where: string, work: () => void): void {
    try {
      work()
    } catch (error) {
      this.report(where, error)
    }
  }

  private report(where: string, error: unknown): void {
    this.errors.push({ where, error, atMs: Date.now() })
    if (this.consoleEcho !== 'none') console.error(`[weapp] ${where} threw`, error)
  }

  private onLog(entry: ConsoleEntry): void {
    this.logs.push(entry)
    if (entry.level === 'error') this.errors.push({ where: 'console.error', error: entry.text, atMs: entry.atMs })
    if (this.consoleEcho === 'all' || (this.consoleEcho === 'errors' && entry.level === 'error')) {
      console.log(`[weapp ${entry.level}] ${entry.text}`)
    }
  }

  private assertState(action: string, allowed: AppState[]): void {
    if (!allowed.includes(this.stateValue)) {
      throw Object.assign(new Error(`${action} needs the app ${allowed.join(' or ')}, but it is ${this.stateValue}`), { code: 'bad_app_state' })
    }
  }

  private describeTop(): string {
    const top = this.stack.top
    return top ? `${top.route}:\n${this.view(top).text()}` : '(no page)'
  }
}

/**
 * Loads the compiled mini-program in `distDir` and launches it: `App` `onLaunch`/`onShow`,
 * then the first page. Resolves once the launch lifecycles have run (rendering follows on
 * the app's timers; use `waitForText`).
 */
export async function launchWeapp(options: LaunchWeappOptions): Promise<WeappHarness> {
  const harness = new WeappHarness(options)
  harness.launch()
  return harness
}

interface AppJson {
  pages: string[]
}

function readAppJson(distDir: string): AppJson {
  const file = path.join(distDir, 'app.json')
  if (!fs.existsSync(file)) throw Object.assign(new Error(`no app.json in ${distDir}: not a compiled mini-program`), { code: 'no_app_json' })
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<AppJson>
  return { pages: Array.isArray(json.pages) ? json.pages : [] }
}

/** Component files a page's json names in `usingComponents`, relative to the dist folder. */
function usedComponents(distDir: string, route: string): string[] {
  const file = path.join(distDir, `${route}.json`)
  if (!fs.existsSync(file)) return []
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { usingComponents?: Record<string, string> }
  return Object.values(json.usingComponents ?? {})
    .filter((target) => !target.startsWith('plugin://'))
    .map((target) => (target.startsWith('/') ? target.slice(1) : path.relative(distDir, path.resolve(path.dirname(file), target))))
    .filter((component) => fs.existsSync(path.join(distDir, `${component}.js`)))
}

/** Lets real timers that are already due (0 ms) run. */
async function settleRealTimers(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setTimeout(resolve, 2))
}
