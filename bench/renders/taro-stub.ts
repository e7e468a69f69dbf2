/**
 * What the renders benchmark needs of `@tarojs/taro` outside a Taro build: page lifecycle
 * hooks (never fired there: the measured page stays shown) and nothing else. Anything else
 * the code under test calls fails loudly instead of pretending to work.
 */
function unavailable(name: string): () => never {
  return () => {
    throw new Error(`@tarojs/taro.${name} is not available in the renders benchmark`)
  }
}

export function useDidShow(_callback: () => void): void {}

export function useDidHide(_callback: () => void): void {}

export function useLaunch(_callback: () => void): void {}

const Taro = {
  useDidShow,
  useDidHide,
  useLaunch,
  connectSocket: unavailable('connectSocket'),
  getStorageSync: unavailable('getStorageSync'),
  setStorageSync: unavailable('setStorageSync'),
  removeStorageSync: unavailable('removeStorageSync'),
  getNetworkType: unavailable('getNetworkType'),
  onNetworkStatusChange: unavailable('onNetworkStatusChange'),
  offNetworkStatusChange: unavailable('offNetworkStatusChange'),
}

export default Taro
