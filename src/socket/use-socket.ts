import { useCallback, useEffect, useRef } from 'react'
import { useDidHide, useDidShow } from '@tarojs/taro'
import { useStore } from 'zustand'
import { getAppSocket } from './app-socket'
import type { SocketEngine } from './engine'
import { PageHandlerRouter, type PageMessageHandler } from './page-handler'
import type { PushMessage, ReadyState, SocketState, SocketStatus } from './types'

const routers = new WeakMap<SocketEngine, PageHandlerRouter>()

/** The page router of `engine`, created on first use. */
export function pageRouterOf(engine: SocketEngine): PageHandlerRouter {
  let router = routers.get(engine)
  if (!router) {
    router = new PageHandlerRouter(engine)
    routers.set(engine, router)
  }
  return router
}

export interface UseSocketResult {
  /** Queues a request without awaiting it; returns its id. Throws `outbox_full` or `too_large` at once. */
  send: (method: string, params?: unknown) => string
  /** Resolves with the server's result; rejects with a SocketError carrying the server's `code` or `timeout`. */
  request: <T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }) => Promise<T>
  /** Listens to one push topic whatever page is shown; returns the unsubscribe function. */
  subscribe: (topic: string, listener: (data: unknown, push: PushMessage) => void) => () => void
  status: SocketStatus
  readyState: ReadyState
  /** Requests without a response yet, queued or in flight. */
  pending: number
}

/**
 * The page's view of the app's one socket. `onMessage` receives the pushes while this page is
 * shown: it is bound on the page's show and released on hide and unmount, and always calls the
 * latest closure, so a page never sees a stale state nor another page's traffic.
 * Function identities are stable for the app's lifetime.
 */
export function useSocket(onMessage?: PageMessageHandler): UseSocketResult {
  const engine = getAppSocket()
  const status = useStore(engine.store, selectStatus)
  const readyState = useStore(engine.store, selectReadyState)
  const pending = useStore(engine.store, selectPending)

  const latestHandler = useRef(onMessage)
  latestHandler.current = onMessage
  // One identity per mounted page: the router only lets the current owner release.
  const owner = useRef<object>({}).current
  const wantsMessages = onMessage !== undefined

  const bind = useCallback(() => {
    if (!wantsMessages) return
    pageRouterOf(engine).bind(owner, (message) => latestHandler.current?.(message))
  }, [engine, owner, wantsMessages])
  const release = useCallback(() => pageRouterOf(engine).release(owner), [engine, owner])

  useDidShow(bind)
  useDidHide(release)
  useEffect(() => {
    // A page that mounts is the page being shown; didShow may come before or after this.
    bind()
    return release
  }, [bind, release])

  const send = useCallback((method: string, params?: unknown) => engine.send(method, params), [engine])
  const request = useCallback(
    <T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }) => engine.request<T>(method, params, options),
    [engine],
  )
  const subscribe = useCallback(
    (topic: string, listener: (data: unknown, push: PushMessage) => void) => engine.subscribe(topic, listener),
    [engine],
  )
  return { send, request, subscribe, status, readyState, pending }
}

/** Reads one slice of the socket's state; the component re-renders only when that slice changes. */
export function useSocketState<T>(selector: (state: SocketState) => T): T {
  return useStore(getAppSocket().store, selector)
}

function selectStatus(state: SocketState): SocketStatus {
  return state.status
}

function selectReadyState(state: SocketState): ReadyState {
  return state.readyState
}

function selectPending(state: SocketState): number {
  return state.queue.length
}
