import Taro from '@tarojs/taro'
import type { SocketPlatform, SocketTaskLike } from './platform'

/**
 * The engine's host on weapp and H5: sockets, storage and network signals from Taro.
 * This is the only engine-side file that imports `@tarojs/taro`.
 */
export function createTaroPlatform(): SocketPlatform {
  return {
    async connectSocket({ url }) {
      // Taro resolves once WeChat accepted the call; the engine attaches handlers at once.
      const task = await Taro.connectSocket({ url })
      return task as unknown as SocketTaskLike
    },
    getStorage(key) {
      // getStorageSync answers '' for a missing key.
      const value: unknown = Taro.getStorageSync(key)
      return typeof value === 'string' && value !== '' ? value : null
    },
    setStorage(key, value) {
      Taro.setStorageSync(key, value)
    },
    removeStorage(key) {
      Taro.removeStorageSync(key)
    },
    getNetworkConnected: isNetworkConnected,
    onNetworkChange: listenToNetwork,
  }
}

async function isNetworkConnected(): Promise<boolean> {
  if (process.env.TARO_ENV === 'h5') {
    // Taro's H5 getNetworkType reads navigator.connection, which never says 'none'.
    return typeof navigator === 'undefined' || navigator.onLine !== false
  }
  try {
    const { networkType } = await Taro.getNetworkType()
    return networkType !== 'none'
  } catch {
    // Not knowing is no reason to stop trying: the socket itself will tell.
    return true
  }
}

function listenToNetwork(listener: (connected: boolean) => void): () => void {
  if (process.env.TARO_ENV === 'h5') {
    // Browsers announce connectivity through online/offline, which Taro's H5 layer does not use.
    const online = () => listener(true)
    const offline = () => listener(false)
    window.addEventListener('online', online)
    window.addEventListener('offline', offline)
    return () => {
      window.removeEventListener('online', online)
      window.removeEventListener('offline', offline)
    }
  }
  const onChange = (result: { isConnected: boolean }) => listener(result.isConnected)
  Taro.onNetworkStatusChange(onChange)
  return () => Taro.offNetworkStatusChange(onChange)
}
