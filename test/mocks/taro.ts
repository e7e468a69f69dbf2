/**
 * A stand-in for `@tarojs/taro` in jest (the real module needs build-time globals).
 * Page lifecycles are driven by the test through `pageLifecycle`.
 */
type Listener = () => void

const showListeners = new Set<Listener>()
const hideListeners = new Set<Listener>()
const storage = new Map<string, string>()

/** Fires the page's `useDidShow` / `useDidHide` callbacks, as Taro does on page show and hide. */
export const pageLifecycle = {
  show(): void {
    for (const listener of [...showListeners]) listener()
  },
  hide(): void {
    for (const listener of [...hideListeners]) listener()
  },
  reset(): void {
    showListeners.clear()
    hideListeners.clear()
  },
}

function useLifecycle(set: Set<Listener>, callback: Listener): void {
  // Registered once per render, as Taro keeps the latest callback of a component.
  const React = jest.requireActual<typeof import('react')>('react')
  const latest = React.useRef(callback)
  latest.current = callback
  React.useEffect(() => {
    const listener = () => latest.current()
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }, [])
}

export function useDidShow(callback: Listener): void {
  useLifecycle(showListeners, callback)
}

export function useDidHide(callback: Listener): void {
  useLifecycle(hideListeners, callback)
}

export function useLaunch(callback: Listener): void {
  const React = jest.requireActual<typeof import('react')>('react')
  React.useEffect(() => callback(), [])
}

export const memoryStorage = storage

const Taro = {
  getStorageSync: (key: string): string => storage.get(key) ?? '',
  setStorageSync: (key: string, value: string): void => {
    storage.set(key, value)
  },
  removeStorageSync: (key: string): void => {
    storage.delete(key)
  },
  connectSocket: (): Promise<never> => Promise.reject(new Error('connectSocket is not available in unit tests: inject a platform')),
  getNetworkType: async () => ({ networkType: 'wifi' }),
  onNetworkStatusChange: (): void => undefined,
  offNetworkStatusChange: (): void => undefined,
  navigateTo: jest.fn(async () => undefined),
  navigateBack: jest.fn(async () => undefined),
  showToast: jest.fn(async () => undefined),
  useDidShow,
  useDidHide,
  useLaunch,
}

export default Taro
