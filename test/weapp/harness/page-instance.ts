import { applySetData, cloneData } from './set-data'

/** What `Page(options)` registered for one route. */
export type PageOptions = Record<string, unknown> & { data?: Record<string, unknown> }

/** The object WeChat makes for each shown page: `this` in its lifecycles and handlers. */
export interface PageInstance {
  route: string
  __route__: string
  /** The query the page was opened with. */
  options: Record<string, string>
  data: Record<string, unknown>
  setData(payload: Record<string, unknown>, callback?: () => void): void
  [key: string]: unknown
}

export interface PageInstanceHost {
  /** Runs a callback later, on the app's (suspendable) timers. */
  later(work: () => void): void
  /** Told of each setData (after it was applied). */
  onSetData(instance: PageInstance, payload: Record<string, unknown>): void
}

let nextWebviewId = 1

/**
 * Makes a page instance as WeChat does: a copy of every option (functions included) on a
 * fresh object, its own deep copy of `data`, `route`, and a `setData` that applies paths.
 */
export function createPageInstance(route: string, options: PageOptions, query: Record<string, string>, host: PageInstanceHost): PageInstance {
  const instance: PageInstance = {
    ...options,
    route,
    __route__: route,
    __webviewId__: nextWebviewId++,
    options: { ...query },
    data: (cloneData(options.data ?? {}) as Record<string, unknown>) ?? {},
    setData(payload: Record<string, unknown>, callback?: () => void) {
      applySetData(instance.data, payload)
      host.onSetData(instance, payload)
      if (typeof callback === 'function') host.later(() => callback.call(instance))
    },
    getOpenerEventChannel() {
      return { emit: () => undefined, on: () => undefined, once: () => undefined, off: () => undefined }
    },
    selectComponent() {
      return null
    },
    selectAllComponents() {
      return []
    },
    createSelectorQuery() {
      throw Object.assign(new Error('createSelectorQuery is not simulated'), { code: 'not_simulated' })
    },
  }
  return instance
}
