import type { NetworkState, NetworkStatus } from './network'
import type { NavigationError } from './page-stack'
import type { SocketPool, ConnectSocketOptions } from './socket-pool'
import type { WeappStorage } from './storage'
import type { UiLog } from './ui-log'

/** What the app sees of the phone (`getSystemInfoSync` and friends). */
export interface DeviceProfile {
  platform: 'ios' | 'android' | 'devtools' | 'windows' | 'mac'
  system: string
  model: string
  brand: string
  pixelRatio: number
  screenWidth: number
  screenHeight: number
  statusBarHeight: number
  language: string
  version: string
  SDKVersion: string
}

export const DEFAULT_DEVICE: DeviceProfile = {
  platform: 'ios',
  system: 'iOS 17.5',
  model: 'iPhone 15',
  brand: 'iPhone',
  pixelRatio: 3,
  screenWidth: 393,
  screenHeight: 852,
  statusBarHeight: 59,
  language: 'zh_CN',
  version: '8.0.50',
  SDKVersion: '3.6.0',
}

export interface LaunchOptions {
  path: string
  query: Record<string, string>
  scene: number
  referrerInfo: Record<string, unknown>
}

export type NavigationKind = 'navigateTo' | 'navigateBack' | 'redirectTo' | 'reLaunch' | 'switchTab'

type ApiOptions = Record<string, unknown> & {
  success?: (result: Record<string, unknown>) => void
  fail?: (result: { errMsg: string }) => void
  complete?: (result: Record<string, unknown>) => void
}

/** What `wx` needs from the harness. */
export interface WxHost {
  storage: WeappStorage
  network: NetworkState
  sockets: SocketPool
  ui: UiLog
  device: DeviceProfile
  launchOptions: LaunchOptions
  /** Runs app code now if the app is awake, else when it resumes; reports what it throws. */
  deliver(work: () => void): void
  /** Runs app code on the app's own timers (frozen with it). */
  later(work: () => void): void
  /** Performs a navigation; throws NavigationError when WeChat would refuse it. */
  navigate(kind: NavigationKind, options: Record<string, unknown>): void
  /** Parses JSON in the app's realm, so the app gets its own objects. */
  parseJson(raw: string): unknown
  /** Makes an Error of the app's realm. */
  makeError(message: string, code: string): Error
  appShowListeners: Set<(options: LaunchOptions) => void>
  appHideListeners: Set<() => void>
}

/**
 * Builds the `wx` object. Every API the app may call must be on it before taro.js loads:
 * Taro wraps exactly the keys it finds.
 */
export function createWx(host: WxHost): Record<string, unknown> {
  const answer = (api: string, options: ApiOptions | undefined, result: Record<string, unknown> | null, failure: string | null = null) => {
    setImmediate(() => host.deliver(() => {
      if (failure !== null) {
        const failed = { errMsg: `${api}:fail ${failure}` }
        options?.fail?.(failed)
        options?.complete?.(failed)
        return
      }
      const ok = { errMsg: `${api}:ok`, ...result }
      options?.success?.(ok)
      options?.complete?.(ok)
    }))
  }
  const recorded = (api: string, result: Record<string, unknown> = {}) => (options?: ApiOptions) => {
    host.ui.record(api, options)
    answer(api, options, result)
  }
  const navigation = (kind: NavigationKind) => (options: ApiOptions = {}) => {
    setImmediate(() => host.deliver(() => {
      try {
        host.navigate(kind, options)
      } catch (error) {
        if ((error as NavigationError).code !== 'navigation_failed') throw error
        const failed = { errMsg: (error as NavigationError).errMsg }
        options.fail?.(failed)
        options.complete?.(failed)
        return
      }
      const ok = { errMsg: `${kind}:ok` }
      options.success?.(ok)
      options.complete?.(ok)
    }))
  }
  const readStorage = (key: string): unknown => {
    const raw = host.storage.read(key)
    return raw === undefined ? '' : host.parseJson(raw)
  }
  const writeStorage = (api: string, key: string, data: unknown): void => {
    try {
      host.storage.write(api, key, data)
    } catch (error) {
      throw host.makeError((error as Error).message, (error as { code?: string }).code ?? 'storage_error')
    }
  }
  const networkListeners = new Map<unknown, (status: NetworkStatus) => void>()
  const device = host.device
  const windowInfo = () => ({
    pixelRatio: device.pixelRatio,
    screenWidth: device.screenWidth,
    screenHeight: device.screenHeight,
    windowWidth: device.screenWidth,
    windowHeight: device.screenHeight,
    statusBarHeight: device.statusBarHeight,
    safeArea: { left: 0, right: device.screenWidth, top: device.statusBarHeight, bottom: device.screenHeight - 34, width: device.screenWidth, height: device.screenHeight - device.statusBarHeight - 34 },
    screenTop: 0,
  })
  const deviceInfo = () => ({ brand: device.brand, model: device.model, system: device.system, platform: device.platform, benchmarkLevel: 30, abi: 'arm64', cpuType: 'arm64', memorySize: 8192 })
  const appBaseInfo = () => ({ SDKVersion: device.SDKVersion, version: device.version, language: device.language, theme: 'light', enableDebug: false, fontSizeSetting: 16, host: { env: 'WeChat' } })

  return {
    env: { USER_DATA_PATH: 'http://usr' },

    getSystemInfoSync: () => ({ ...windowInfo(), ...deviceInfo(), ...appBaseInfo(), fontSizeSetting: 16 }),
    getSystemInfo: (options?: ApiOptions) => answer('getSystemInfo', options, { ...windowInfo(), ...deviceInfo(), ...appBaseInfo() }),
    getWindowInfo: windowInfo,
    getDeviceInfo: deviceInfo,
    getAppBaseInfo: appBaseInfo,
    getSystemSetting: () => ({ bluetoothEnabled: false, locationEnabled: false, wifiEnabled: true, deviceOrientation: 'portrait' }),
    getAppAuthorizeSetting: () => ({ albumAuthorized: 'not determined', notificationAuthorized: 'authorized' }),
    getMenuButtonBoundingClientRect: () => ({ width: 87, height: 32, top: 62, right: device.screenWidth - 7, bottom: 94, left: device.screenWidth - 94 }),
    canIUse: () => true,

    getStorageSync: (key: string) => readStorage(key),
    setStorageSync: (key: string, data: unknown) => writeStorage('setStorageSync', key, data),
    removeStorageSync: (key: string) => host.storage.remove(key),
    clearStorageSync: () => host.storage.clear(),
    getStorageInfoSync: () => ({ keys: host.storage.keys(), currentSize: Math.ceil(host.storage.sizeBytes / 1024), limitSize: 10240 }),
    getStorage: (options: ApiOptions & { key: string }) => {
      const raw = host.storage.read(options.key)
      if (raw === undefined) answer('getStorage', options, null, 'data not found')
      else answer('getStorage', options, { data: host.parseJson(raw) })
    },
    setStorage: (options: ApiOptions & { key: string; data: unknown }) => {
      try {
        host.storage.write('setStorage', options.key, options.data)
      } catch (error) {
        answer('setStorage', options, null, (error as Error).message)
        return
      }
      answer('setStorage', options, {})
    },
    removeStorage: (options: ApiOptions & { key: string }) => {
      host.storage.remove(options.key)
      answer('removeStorage', options, {})
    },
    clearStorage: (options?: ApiOptions) => {
      host.storage.clear()
      answer('clearStorage', options, {})
    },

    connectSocket: (options: ConnectSocketOptions) => host.sockets.connect(options),

    getNetworkType: (options?: ApiOptions) => {
      const status = host.network.get()
      answer('getNetworkType', options, { networkType: status.networkType, signalStrength: status.isConnected ? 100 : 0, hasSystemProxy: false })
    },
    onNetworkStatusChange: (listener: (status: NetworkStatus) => void) => {
      const wrapped = (status: NetworkStatus) => host.deliver(() => listener(status))
      networkListeners.set(listener, wrapped)
      host.network.subscribe(wrapped)
    },
    offNetworkStatusChange: (listener?: (status: NetworkStatus) => void) => {
      const targets = listener ? [listener] : [...networkListeners.keys()]
      for (const target of targets) {
        const wrapped = networkListeners.get(target)
        if (wrapped) host.network.unsubscribe(wrapped)
        networkListeners.delete(target)
      }
    },
    onNetworkWeakChange: () => undefined,
    offNetworkWeakChange: () => undefined,

    navigateTo: navigation('navigateTo'),
    navigateBack: navigation('navigateBack'),
    redirectTo: navigation('redirectTo'),
    reLaunch: navigation('reLaunch'),
    switchTab: navigation('switchTab'),

    showToast: recorded('showToast'),
    hideToast: recorded('hideToast'),
    showLoading: recorded('showLoading'),
    hideLoading: recorded('hideLoading'),
    showModal: (options?: ApiOptions) => {
      host.ui.record('showModal', options)
      answer('showModal', options, { ...host.ui.modalAnswer })
    },
    showActionSheet: (options?: ApiOptions) => {
      host.ui.record('showActionSheet', options)
      answer('showActionSheet', options, null, 'cancel')
    },
    setNavigationBarTitle: recorded('setNavigationBarTitle'),
    showNavigationBarLoading: recorded('showNavigationBarLoading'),
    hideNavigationBarLoading: recorded('hideNavigationBarLoading'),
    stopPullDownRefresh: recorded('stopPullDownRefresh'),
    vibrateShort: recorded('vibrateShort'),

    request: (options: ApiOptions) => {
      answer('request', options, null, 'wx.request is not simulated by the harness')
      return { abort: () => undefined, onHeadersReceived: () => undefined, offHeadersReceived: () => undefined }
    },

    nextTick: (callback: () => void) => host.later(callback),
    getLaunchOptionsSync: () => ({ ...host.launchOptions }),
    getEnterOptionsSync: () => ({ ...host.launchOptions }),
    onAppShow: (listener: (options: LaunchOptions) => void) => host.appShowListeners.add(listener),
    offAppShow: (listener: (options: LaunchOptions) => void) => host.appShowListeners.delete(listener),
    onAppHide: (listener: () => void) => host.appHideListeners.add(listener),
    offAppHide: (listener: () => void) => host.appHideListeners.delete(listener),
    onError: () => undefined,
    offError: () => undefined,
    onUnhandledRejection: () => undefined,
    offUnhandledRejection: () => undefined,
    onPageNotFound: () => undefined,
    offPageNotFound: () => undefined,
    onMemoryWarning: () => undefined,
    offMemoryWarning: () => undefined,
    reportAnalytics: () => undefined,
    getUpdateManager: () => ({ onCheckForUpdate: () => undefined, onUpdateReady: () => undefined, onUpdateFailed: () => undefined, applyUpdate: () => undefined }),
  }
}
