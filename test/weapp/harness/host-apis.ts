/**
 * The API object of each mini-program host, as its docs describe it, built on the WeChat one
 * (wx-api.ts): the global's name, and the calls whose shapes differ. Only what a Taro app's
 * runtime and this project's layer touch is varied; the rest is WeChat's.
 */
import type { NetworkStatus } from './network'
import type { ConnectSocketOptions } from './socket-pool'
import { StorageQuotaError } from './storage'
import type { WeappSocketTask } from './socket-task'
import { createWx, type WxHost } from './wx-api'

export type MiniHost = 'weapp' | 'alipay' | 'tt'

/** The global each host's API lives on. */
export const HOST_GLOBAL: Record<MiniHost, 'wx' | 'my' | 'tt'> = { weapp: 'wx', alipay: 'my', tt: 'tt' }

type Listener<T> = (result: T) => void

/** Host APIs answer after the call has returned, when the app is awake (as wx-api.ts's do). */
function answerLater(wxHost: WxHost, work: () => void): void {
  setImmediate(() => wxHost.deliver(work))
}

export function createHostApi(host: MiniHost, wxHost: WxHost): Record<string, unknown> {
  const wx = createWx(wxHost)
  if (host === 'tt') return { ...wx, connectSocket: (options: ConnectSocketOptions) => bytedanceTask(wxHost.sockets.connect(options)) }
  if (host === 'weapp') return wx
  const api: Record<string, unknown> = { ...wx, ...alipayDifferences(wx, wxHost) }
  // Taro wraps every key it finds: WeChat's names that Alipay lacks must be gone, not undefined.
  for (const name of ALIPAY_LACKS) delete api[name]
  return api
}

const ALIPAY_LACKS = ['showModal', 'setNavigationBarTitle']

/**
 * ByteDance's SocketTask.onClose gives `code` as a string, with `reason` and `errMsg`
 * (SocketTask.onClose docs, code and reason from base library 1.81.0).
 */
function bytedanceTask(task: WeappSocketTask): Record<string, unknown> {
  return {
    send: (options: Parameters<WeappSocketTask['send']>[0]) => task.send(options),
    close: (options: Parameters<WeappSocketTask['close']>[0]) => task.close(options),
    onOpen: (listener: Parameters<WeappSocketTask['onOpen']>[0]) => task.onOpen(listener),
    onMessage: (listener: Parameters<WeappSocketTask['onMessage']>[0]) => task.onMessage(listener),
    onError: (listener: Parameters<WeappSocketTask['onError']>[0]) => task.onError(listener),
    onClose: (listener: Listener<{ code: string; reason: string; errMsg: string }>) =>
      task.onClose((event) => listener({ code: String(event.code), reason: event.reason, errMsg: 'closeSocket:ok' })),
  }
}

interface AlipayCallbacks {
  success?: (result: Record<string, unknown>) => void
  fail?: (result: { error?: number; errorMessage: string }) => void
  complete?: (result: Record<string, unknown>) => void
}

/**
 * Alipay, from its docs:
 * - storage sync calls take one object (`{ key }`, `{ key, data }`); getStorageSync answers
 *   `{ data }` (null when absent); a refused setStorageSync returns `{ success: false, error,
 *   errorMessage }` (12: over 10 MB in all, 14: a value over 200 KB) instead of throwing;
 * - `connectSocket({ multiple: true })` returns a SocketTask; without `multiple` the socket is
 *   the app's single one, driven by the `my.onSocket*` globals, and a second connect while it
 *   lives fails with error 3;
 * - getNetworkType answers `networkAvailable` and networkType 'WIFI' / 'NOTREACHABLE';
 * - showModal is `confirm` / `alert`, setNavigationBarTitle is `setNavigationBar`;
 * - `navigator` is a global (Taro's Alipay runtime reads navigator.userAgent when it loads).
 */
function alipayDifferences(wx: Record<string, unknown>, wxHost: WxHost): Record<string, unknown> {
  const later = (work: () => void) => answerLater(wxHost, work)
  const single = singleSocket(wxHost)
  // WeChat's subscription, with Alipay's names for the network types.
  const onWxNetwork = wx.onNetworkStatusChange as (listener: Listener<NetworkStatus>) => void
  const offWxNetwork = wx.offNetworkStatusChange as (listener?: Listener<NetworkStatus>) => void
  const networkListeners = new Map<unknown, Listener<NetworkStatus>>()
  return {
    getStorageSync: ({ key }: { key: string }) => {
      const raw = wxHost.storage.read(key)
      return { data: raw === undefined ? null : wxHost.parseJson(raw) }
    },
    setStorageSync: ({ key, data }: { key: string; data: unknown }) => {
      try {
        wxHost.storage.write('setStorageSync', key, data)
        return { success: true }
      } catch (error) {
        if (!(error instanceof StorageQuotaError)) throw error
        return error.limit === 'key'
          ? { success: false, error: 14, errorMessage: 'data长度超限' }
          : { success: false, error: 12, errorMessage: '存储总大小达到上限' }
      }
    },
    removeStorageSync: ({ key }: { key: string }) => {
      wxHost.storage.remove(key)
      return { success: true }
    },
    connectSocket: (options: ConnectSocketOptions & { multiple?: boolean } & AlipayCallbacks) => {
      if (!options.multiple) return single.connect(options)
      const wanted = { ...options, fail: (result: { errMsg: string }) => options.fail?.({ errorMessage: result.errMsg }) }
      return wxHost.sockets.connect(wanted)
    },
    onSocketOpen: (listener: Listener<unknown>) => single.listeners.open.add(listener),
    offSocketOpen: (listener?: Listener<unknown>) => single.off('open', listener),
    onSocketMessage: (listener: Listener<unknown>) => single.listeners.message.add(listener),
    offSocketMessage: (listener?: Listener<unknown>) => single.off('message', listener),
    onSocketError: (listener: Listener<unknown>) => single.listeners.error.add(listener),
    offSocketError: (listener?: Listener<unknown>) => single.off('error', listener),
    onSocketClose: (listener: Listener<unknown>) => single.listeners.close.add(listener),
    offSocketClose: (listener?: Listener<unknown>) => single.off('close', listener),
    sendSocketMessage: (options: { data: string } & AlipayCallbacks) => single.send(options),
    closeSocket: (options: AlipayCallbacks = {}) => single.close(options),
    getNetworkType: (options: AlipayCallbacks = {}) => {
      const status = wxHost.network.get()
      later(() => {
        const result = { networkAvailable: status.isConnected, networkType: status.isConnected ? 'WIFI' : 'NOTREACHABLE' }
        options.success?.(result)
        options.complete?.(result)
      })
    },
    onNetworkStatusChange: (listener: Listener<{ isConnected: boolean; networkType: string }>) => {
      const translated = (status: NetworkStatus) => listener({ isConnected: status.isConnected, networkType: status.isConnected ? 'WIFI' : 'NOTREACHABLE' })
      networkListeners.set(listener, translated)
      onWxNetwork(translated)
    },
    offNetworkStatusChange: (listener?: unknown) => {
      for (const target of listener ? [listener] : [...networkListeners.keys()]) {
        const translated = networkListeners.get(target)
        // wx's off without a listener removes them all: only a known one is passed on.
        if (translated) offWxNetwork(translated)
        networkListeners.delete(target)
      }
    },
    confirm: (options: AlipayCallbacks = {}) => {
      wxHost.ui.record('confirm', options)
      later(() => options.success?.({ confirm: wxHost.ui.modalAnswer.confirm }))
    },
    alert: (options: AlipayCallbacks = {}) => {
      wxHost.ui.record('alert', options)
      later(() => options.success?.({}))
    },
    setNavigationBar: (options: AlipayCallbacks = {}) => {
      wxHost.ui.record('setNavigationBar', options)
      later(() => options.success?.({}))
    },
  }
}

type SingleEvent = 'open' | 'message' | 'error' | 'close'

/** Alipay's single-instance socket (connectSocket without `multiple`) and its global listeners. */
function singleSocket(wxHost: WxHost) {
  const listeners: Record<SingleEvent, Set<Listener<unknown>>> = { open: new Set(), message: new Set(), error: new Set(), close: new Set() }
  let current: WeappSocketTask | null = null
  const fire = (event: SingleEvent) => (result: unknown) => {
    for (const listener of [...listeners[event]]) listener(result)
  }
  const later = (work: () => void) => answerLater(wxHost, work)
  return {
    listeners,
    off(event: SingleEvent, listener?: Listener<unknown>): void {
      if (listener) listeners[event].delete(listener)
      else listeners[event].clear()
    },
    connect(options: ConnectSocketOptions & AlipayCallbacks): undefined {
      if (current && current.phase !== 'closed') {
        later(() => options.fail?.({ error: 3, errorMessage: '该 appId、socketTaskId 对应的 WebSocket 已存在' }))
        return undefined
      }
      const task = wxHost.sockets.connect({ ...options, fail: (result) => options.fail?.({ errorMessage: result.errMsg }) })
      current = task
      task.onOpen(fire('open'))
      task.onMessage(fire('message'))
      task.onError(fire('error'))
      task.onClose(fire('close'))
      return undefined
    },
    send(options: { data: string } & AlipayCallbacks): void {
      if (!current) {
        later(() => options.fail?.({ errorMessage: 'WebSocket is not connected' }))
        return
      }
      current.send({ data: options.data, success: options.success, fail: (result) => options.fail?.({ errorMessage: result.errMsg }) })
    },
    // my.closeSocket takes no code: the server sees 1000.
    close(options: AlipayCallbacks): void {
      const task = current
      if (!task) {
        later(() => options.fail?.({ errorMessage: 'WebSocket is not connected' }))
        return
      }
      task.close({ success: options.success, fail: (result) => options.fail?.({ errorMessage: result.errMsg }) })
    },
  }
}
