import { createStore, type StoreApi } from 'zustand/vanilla'
import type { SocketCounters, SocketState } from './types'

/** All counters at zero. */
export function zeroCounters(): SocketCounters {
  return {
    connectAttempts: 0,
    opens: 0,
    framesIn: 0,
    framesOut: 0,
    pushesDelivered: 0,
    duplicatePushes: 0,
    badFrames: 0,
    storageErrors: 0,
    lateResponses: 0,
  }
}

/** The state before the first connect(): readyState -1, status 'connecting', nothing queued. */
export function initialSocketState(): SocketState {
  return {
    task: null,
    readyState: -1,
    status: 'connecting',
    queue: [],
    sessionId: null,
    lastSeq: 0,
    attempt: 0,
    nextRetryAt: null,
    networkConnected: true,
    appVisible: true,
    lastError: null,
    storageError: null,
  }
}

/** A vanilla zustand store of the socket state; only the engine writes to it. */
export function createSocketStore(initial: SocketState = initialSocketState()): StoreApi<SocketState> {
  return createStore<SocketState>()(() => initial)
}

/** True when every field of the two states is the same value (Object.is). */
export function sameState(a: SocketState, b: SocketState): boolean {
  for (const key of Object.keys(b) as Array<keyof SocketState>) {
    if (!Object.is(a[key], b[key])) return false
  }
  return true
}
