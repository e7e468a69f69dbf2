import Taro from '@tarojs/taro'
import type { SocketPlatform, SocketTaskLike } from '../core/platform'
import { connectAlipaySocket } from './alipay-socket'
import { ALIPAY_STORAGE_VALUE_LIMIT_BYTES, isConnectedAnswer, throwIfStorageRefused } from './hosts'

/**
 * The engine's host on every Taro target (weapp, alipay, tt, H5): sockets, storage and network
 * signals from Taro, with the hosts' differences (hosts.ts) smoothed over.
 * This and alipay-socket.ts are the only engine-side files that reach the host.
 */
export function createTaroPlatform(): SocketPlatform {
  // process.env.TARO_ENV is written in full at each test: Taro's build replaces it with the
  // target, so the minifier drops the other hosts' branches (and alipay-socket.ts) from a build.
  return {
    async connectSocket({ url }) {
      if (process.env.TARO_ENV === 'alipay') return connectAlipaySocket(url)
      // Taro resolves once the host accepted the call; the engine attaches handlers at once.
      const task = (await Taro.connectSocket({ url })) as unknown as SocketTaskLike & { ws?: unknown }
      if (process.env.TARO_ENV === 'h5') return isBrowserSocket(task.ws) ? withCloseCodes(task, task.ws) : task
      return task
    },
    getStorage(key) {
      // getStorageSync answers '' for a missing key (Taro maps Alipay's `{ data: null }` to it).
      const value: unknown = Taro.getStorageSync(key)
      return typeof value === 'string' && value !== '' ? value : null
    },
    setStorage(key, value) {
      throwIfStorageRefused('setStorageSync', key, Taro.setStorageSync(key, value))
    },
    removeStorage(key) {
      throwIfStorageRefused('removeStorageSync', key, Taro.removeStorageSync(key))
    },
    storageValueLimitBytes: process.env.TARO_ENV === 'alipay' ? ALIPAY_STORAGE_VALUE_LIMIT_BYTES : undefined,
    getNetworkConnected: isNetworkConnected,
    onNetworkChange: listenToNetwork,
    randomBytes,
  }
}

/**
 * H5 has crypto.getRandomValues. WeChat's only source is `wx.getRandomValues`, which is
 * asynchronous, and Alipay and ByteDance document no synchronous one: request ids there use Math.random (they need to be unique, not secret; the
 * session id, made by the server, is the secret).
 */
function randomBytes(length: number): Uint8Array | null {
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto
  if (typeof webCrypto?.getRandomValues !== 'function') return null
  return webCrypto.getRandomValues(new Uint8Array(length))
}

function isBrowserSocket(value: unknown): value is WebSocket {
  return typeof WebSocket !== 'undefined' && value instanceof WebSocket
}

/**
 * Taro's H5 SocketTask loses close codes both ways: its close() calls `ws.close()` without the
 * code (the server sees 1005 for 4409, 4000, 1000), and its onClose reports 1006 for every
 * close the client did not start. The native WebSocket inside it has both; Taro's own calls are
 * still made so that its count of open sockets (at most 5) stays right.
 */
function withCloseCodes(task: SocketTaskLike, ws: WebSocket): SocketTaskLike {
  return {
    get readyState() {
      return ws.readyState
    },
    send: (options) => task.send(options),
    close(options) {
      try {
        ws.close(options.code, options.reason)
      } catch {
        // Browsers accept only 1000 and 3000–4999 from a page: then Taro's plain close it is.
      }
      task.close(options)
    },
    onOpen: (listener) => task.onOpen(listener),
    onMessage: (listener) => task.onMessage(listener),
    onError: (listener) => task.onError(listener),
    onClose(listener) {
      task.onClose(() => undefined)
      ws.addEventListener('close', (event) => listener({ code: event.code, reason: event.reason }))
    },
  }
}

async function isNetworkConnected(): Promise<boolean> {
  if (process.env.TARO_ENV === 'h5') {
    // Taro's H5 getNetworkType reads navigator.connection, which never says 'none'.
    return typeof navigator === 'undefined' || navigator.onLine !== false
  }
  try {
    return isConnectedAnswer(await Taro.getNetworkType())
  } catch {
    // Not knowing is no reason to stop trying: the socket itself will tell.
    return true
  }
}

function listenToNetwork(listener: (connected: boolean) => void): () => void {
  if (process.env.TARO_ENV === 'h5') {
    // Browsers announce connectivity through online/offline, which Taro's H5 layer does not use.
    const online = (): void => listener(true)
    const offline = (): void => listener(false)
    window.addEventListener('online', online)
    window.addEventListener('offline', offline)
    return () => {
      window.removeEventListener('online', online)
      window.removeEventListener('offline', offline)
    }
  }
  const onChange = (result: { isConnected: boolean }): void => listener(result.isConnected)
  Taro.onNetworkStatusChange(onChange)
  return () => Taro.offNetworkStatusChange(onChange)
}
