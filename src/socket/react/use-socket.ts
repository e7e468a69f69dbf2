import { useCallback, useEffect, useRef } from 'react'
import { useDidHide, useDidShow } from '@tarojs/taro'
import { useStore } from 'zustand'
import type { SocketEngine } from '../core/socket-engine'
import type { PushMessage, ReadyState, RequestOptions, SocketState, SocketStatus } from '../core/types'
import { getAppSocket } from '../taro/app-socket'
import { PageRouter, type PageMessageHandler } from './page-router'

const routers = new WeakMap<SocketEngine, PageRouter>()

/** The page router of `engine`, created on first use. */
export function pageRouterOf(engine: SocketEngine): PageRouter {
  let router = routers.get(engine)
  if (!router) {
    router = new PageRouter(engine)
    routers.set(engine, router)
  }
  return router
}

export interface UseSocketResult {
  /** Queues a request without awaiting it; returns its id. Throws `invalid_argument`, `too_large` or `outbox_full` at once. */
  send: (method: string, params?: unknown) => string
  /** Resolves with the server's result; rejects with a SocketError carrying the server's `code`, `timeout` or `not_sent`. */
  request: <T = unknown>(method: string, params?: unknown, options?: RequestOptions) => Promise<T>
  /** Listens to one push topic whatever page is shown; returns the unsubscribe function. */
  subscribe: (topic: string, listener: (data: unknown, push: PushMessage) => void) => () => void
  status: SocketStatus
  readyState: ReadyState
  /** Requests without a response yet, queued or in flight. */
  pending: number
}

/**
 * The page's (or component's) view of the app's one socket. `onMessage` receives the pushes
 * while its page is shown: it is bound on the page's show and released on hide and unmount,
 * and always calls the latest closure. A page and its components may each have their own.
 * Function identities are stable for the app's lifetime.
 */
export function useSocket(onMessage?: PageMessageHandler): UseSocketResult {
  const engine = getAppSocket()
  const status = useStore(engine.store, selectStatus)
  const readyState = useStore(engine.store, selectReadyState)
  const pending = useStore(engine.store, selectPending)

  const latestHandler = useRef(onMessage)
  latestHandler.current = onMessage
  // One identity per mounted hook: it binds and releases only itself.
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
    <T = unknown>(method: string, params?: unknown, options?: RequestOptions) => engine.request<T>(method, params, options),
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
  return state.pending
}
