/**
 * What an app declares once about its server: each method's params and result, each push
 * topic's data. An engine created with it types `request`, `send` and `subscribe` by name:
 *
 *   interface ShopApi {
 *     methods: { list: { params: { page?: number }; result: OrderList }; 'order.confirm': { params: { id: string }; result: Order } }
 *     topics: { notify: Order }
 *   }
 *   const socket = createSocketEngine<ShopApi>(platform, options)
 *   const list = await socket.request('list', { page: 1 }) // OrderList
 *
 * Without a declaration every name is a string and every value `unknown` (request<T> still
 * names what the caller expects). Types only: nothing here reaches the bundle.
 */
import type { PushMessage, RequestOptions } from './types'

export interface SocketApi {
  methods: { [method: string]: { params?: unknown; result?: unknown } }
  topics: { [topic: string]: unknown }
}

/** The API of an app that declares none. */
export interface UntypedApi extends SocketApi {
  methods: { [method: string]: { params?: unknown; result?: unknown } }
  topics: { [topic: string]: unknown }
}

export type MethodOf<A extends SocketApi> = keyof A['methods'] & string
export type TopicOf<A extends SocketApi> = keyof A['topics'] & string
export type ParamsOf<A extends SocketApi, M extends MethodOf<A>> = A['methods'][M] extends { params: infer P } ? P : undefined
export type ResultOf<A extends SocketApi, M extends MethodOf<A>> = A['methods'][M] extends { result: infer R } ? R : unknown
export type DataOf<A extends SocketApi, T extends TopicOf<A>> = A['topics'][T]

/** A method whose params may be left out (none declared, or undefined allowed) takes them optionally. */
type ParamsArgs<P> = undefined extends P ? [params?: P] : [params: P]
type RequestArgs<P> = undefined extends P ? [params?: P, options?: RequestOptions] : [params: P, options?: RequestOptions]

/** True when A names its methods (not a bare string index). */
type Declared<A extends SocketApi> = string extends MethodOf<A> ? false : true

export type SendFn<A extends SocketApi> = Declared<A> extends true
  ? <M extends MethodOf<A>>(method: M, ...params: ParamsArgs<ParamsOf<A, M>>) => string
  : (method: string, params?: unknown) => string

export type RequestFn<A extends SocketApi> = Declared<A> extends true
  ? <M extends MethodOf<A>>(method: M, ...args: RequestArgs<ParamsOf<A, M>>) => Promise<ResultOf<A, M>>
  : <T = unknown>(method: string, params?: unknown, options?: RequestOptions) => Promise<T>

export type SubscribeFn<A extends SocketApi> = string extends TopicOf<A>
  ? (topic: string, listener: (data: unknown, push: PushMessage) => void) => () => void
  : <T extends TopicOf<A>>(topic: T, listener: (data: DataOf<A, T>, push: PushMessage) => void) => () => void

/** A push as a page sees it: one member per declared topic, so `switch (message.topic)` narrows `data`. */
export type TypedPush<A extends SocketApi> = string extends TopicOf<A>
  ? { kind: 'push'; topic: string; data: unknown; seq: number }
  : { [T in TopicOf<A>]: { kind: 'push'; topic: T; data: DataOf<A, T>; seq: number } }[TopicOf<A>]
