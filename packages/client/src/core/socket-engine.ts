import type { StoreApi } from 'zustand/vanilla'
import type { RequestFn, SendFn, SocketApi, SubscribeFn, UntypedApi } from './api'
import type { SocketCounters, SocketEvents, SocketState } from './types'

/**
 * One long-lived connection (PROTOCOL.md v1, or plain mode): what the app and its pages call.
 * `A` is the app's declaration of its methods and topics (see api.ts); without one, names are
 * strings and values `unknown`.
 */
export interface SocketEngine<A extends SocketApi = UntypedApi> {
  /** The engine's state (zustand/vanilla); read it, subscribe to it, never write to it. */
  readonly store: StoreApi<SocketState>
  /** Starts, or reconnects at once when not open; leaves `unauthorized`/`closed`. Idempotent. */
  connect(): void
  /** Closes with 1000, status `closed`, no attempts until connect(). The outbox is kept and written. */
  close(): void
  /** The app is shown: connects at once when not open; after a long hide, replaces the old socket. */
  appShow(): void
  /** The app is hidden: no attempts until it shows again; everything waiting is written to storage. */
  appHide(): void
  /**
   * Queues a request; returns its id. Throws SocketError at once, queuing nothing:
   * 'invalid_argument' (method not 1..64 characters, params not JSON), 'too_large' (frame over
   * ours or the server's limit), 'outbox_full' (count or bytes), 'destroyed'.
   */
  send: SendFn<A>
  /**
   * Resolves with the result; rejects with a SocketError whose code is the server's
   * (`already_confirmed` …), 'timeout' (sent, may still take effect), 'not_sent' (dropped), or
   * one of send()'s codes.
   */
  request: RequestFn<A>
  /** Calls `listener` for every delivered push of `topic` (plain mode: every message of that method); returns the unsubscribe function. */
  subscribe: SubscribeFn<A>
  /** Adds an event listener; returns the function that removes it. */
  on<K extends keyof SocketEvents>(event: K, listener: SocketEvents[K]): () => void
  /** Running totals since the engine was created. */
  counters(): Readonly<SocketCounters>
  /** Stops timers, closes the task, writes storage, rejects waiting requests ('destroyed'), drops listeners. */
  destroy(): void
}

/** Any engine, whatever its API: the members that do not depend on it. */
export type AnySocketEngine = Omit<SocketEngine, 'send' | 'request' | 'subscribe'>
