/**
 * A stand-in for `@tarojs/taro` in jest (the real module needs build-time globals).
 * Page lifecycles are driven by the test: components rendered inside `<TestPage name="a">`
 * receive `pageLifecycle.show('a')` / `hide('a')`, like the hooks of one Taro page.
 */
import { createContext, createElement, useContext, useEffect, useRef, type ReactNode } from 'react'

type Listener = () => void

const DEFAULT_PAGE = 'page'
const PageName = createContext(DEFAULT_PAGE)
const showListeners = new Map<string, Set<Listener>>()
const hideListeners = new Map<string, Set<Listener>>()
const storage = new Map<string, string>()

/** Wraps one page's components, so that its lifecycle can be driven on its own. */
export function TestPage({ name, children }: { name: string; children?: ReactNode }) {
  return createElement(PageName.Provider, { value: name }, children)
}

function fire(listeners: Map<string, Set<Listener>>, page: string): void {
  for (const listener of [...(listeners.get(page) ?? [])]) listener()
}

/** Fires the `useDidShow` / `useDidHide` callbacks of one page, as Taro does. */
export const pageLifecycle = {
  show(page = DEFAULT_PAGE): void {
    fire(showListeners, page)
  },
  hide(page = DEFAULT_PAGE): void {
    fire(hideListeners, page)
  },
  reset(): void {
    showListeners.clear()
    hideListeners.clear()
  },
}

function useLifecycle(listeners: Map<string, Set<Listener>>, callback: Listener): void {
  const page = useContext(PageName)
  // Taro calls the latest callback of a component.
  const latest = useRef(callback)
  latest.current = callback
  useEffect(() => {
    const listener = () => latest.current()
    let set = listeners.get(page)
    if (!set) {
      set = new Set()
      listeners.set(page, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }, [listeners, page])
}

export function useDidShow(callback: Listener): void {
  useLifecycle(showListeners, callback)
}

export function useDidHide(callback: Listener): void {
  useLifecycle(hideListeners, callback)
}

export function useLaunch(callback: Listener): void {
  const latest = useRef(callback)
  useEffect(() => latest.current(), [])
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
  navigateTo: async (): Promise<void> => undefined,
  navigateBack: async (): Promise<void> => undefined,
  showToast: async (): Promise<void> => undefined,
  useDidShow,
  useDidHide,
  useLaunch,
}

export default Taro
