import { useCallback, useEffect, useRef } from 'react'
import { useDidHide, useDidShow } from '@tarojs/taro'
import { useStore } from 'zustand'
import type { RequestFn, SendFn, SocketApi, SubscribeFn, TypedPush, UntypedApi } from '../core/api'
import type { AnySocketEngine, SocketEngine } from '../core/socket-engine'
import type { ReadyState, SocketState, SocketStatus } from '../core/types'
import { PageRouter } from './page-router'

/** What a page's handler receives: the shown page's pushes, and resets. */
export type TypedPageMessage<A extends SocketApi = UntypedApi> =
  | TypedPush<A>
  /** The server lost the session (`welcome.resumed: false`): what the page holds is stale. */
  | { kind: 'reset' }

export type TypedPageMessageHandler<A extends SocketApi = UntypedApi> = (message: TypedPageMessage<A>) => void

export interface UseSocketResult<A extends SocketApi = UntypedApi> {
  /** Queues a request without awaiting it; returns its id. Throws `invalid_argument`, `too_large` or `outbox_full` at once. */
  send: SendFn<A>
  /** Resolves with the server's result; rejects with a SocketError carrying the server's `code`, `timeout` or `not_sent`. */
  request: RequestFn<A>
  /** Listens to one push topic whatever page is shown; returns the unsubscribe function. */
  subscribe: SubscribeFn<A>
  status: SocketStatus
  readyState: ReadyState
  /** Requests without a response yet, queued or in flight. */
  pending: number
}

export interface SocketHooks<A extends SocketApi = UntypedApi> {
  /**
   * The page's (or component's) view of the app's one socket. `onMessage` receives the pushes
   * while its page is shown: it is bound on the page's show and released on hide and unmount,
   * and always calls the latest closure. A page and its components may each have their own.
   * Function identities are stable for the app's lifetime.
   */
  useSocket(onMessage?: TypedPageMessageHandler<A>): UseSocketResult<A>
  /** Reads one slice of the socket's state; the component re-renders only when that slice changes. */
  useSocketState<T>(selector: (state: SocketState) => T): T
}

const routers = new WeakMap<AnySocketEngine, PageRouter>()

/** The page router of `engine`, created on first use. */
export function pageRouterOf(engine: AnySocketEngine): PageRouter {
  let router = routers.get(engine)
  if (!router) {
    router = new PageRouter(engine)
    routers.set(engine, router)
  }
  return router
}

/**
 * The hooks of one engine, typed by its API. `socket` is the engine or a function that returns
 * it (read on every render, so an app may create its engine lazily or tests may replace it).
 */
export function createSocketHooks<A extends SocketApi = UntypedApi>(socket: SocketEngine<A> | (() => SocketEngine<A>)): SocketHooks<A> {
  const engineOf = typeof socket === 'function' ? socket : () => socket

  function useSocket(onMessage?: TypedPageMessageHandler<A>): UseSocketResult<A> {
    const engine = engineOf() as unknown as SocketEngine
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
      pageRouterOf(engine).bind(owner, (message) => latestHandler.current?.(message as TypedPageMessage<A>))
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
      (method: string, params?: unknown, options?: Parameters<SocketEngine['request']>[2]) => engine.request(method, params, options),
      [engine],
    )
    const subscribe = useCallback<SocketEngine['subscribe']>((topic, listener) => engine.subscribe(topic, listener), [engine])
    // The engine's calls are typed by A at the API; underneath they are the untyped engine's.
    return { send, request, subscribe, status, readyState, pending } as unknown as UseSocketResult<A>
  }

  function useSocketState<T>(selector: (state: SocketState) => T): T {
    return useStore(engineOf().store, selector)
  }

  return { useSocket, useSocketState }
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
