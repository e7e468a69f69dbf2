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
    pending: 0,
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

const COMPARED = Object.keys(initialSocketState()).filter((key) => key !== 'queue') as Array<keyof SocketState>

/** True when every field of the two states but `queue` is the same value (Object.is); the owner compares the outbox itself. */
export function sameState(a: SocketState, b: SocketState): boolean {
  for (const key of COMPARED) {
    if (!Object.is(a[key], b[key])) return false
  }
  return true
}
