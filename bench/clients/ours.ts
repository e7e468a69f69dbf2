import { createSocketEngine } from '../../packages/client/src/core/engine'
import type { SocketState } from '../../packages/client/src/core/types'
import { createWsPlatform } from '../../test/helpers/ws-platform'
import { withTimeout } from '../lib/wait'
import type { BenchClient, ClientEndpoints } from './types'

/** A request made by the benchmarks must not time out before the figure's own cap does. */
const BENCH_REQUEST_TIMEOUT_MS = 120_000

/**
 * Our engine with its defaults on the `ws` platform (test/helpers/ws-platform.ts), v1 against
 * the reference server. The only option set besides url and token is a per-client storage
 * prefix and a request deadline above the figures' caps.
 */
export function createOursClient(endpoints: ClientEndpoints, tag: string): BenchClient {
  const platform = createWsPlatform({ recordFrames: false })
  const engine = createSocketEngine(platform, { url: endpoints.v1Url, token: endpoints.token, storageKeyPrefix: `bench-${tag}:` })
  engine.connect()
  const isOpen = (state: SocketState): boolean => state.status === 'open'
  return {
    name: 'ours',
    ready: (timeoutMs) =>
      withTimeout(
        new Promise<void>((resolve) => {
          if (isOpen(engine.store.getState())) return resolve()
          const off = engine.store.subscribe((state) => {
            if (!isOpen(state)) return
            off()
            resolve()
          })
        }),
        timeoutMs,
        'ours ready',
      ),
    request: (payload) => engine.request('echo', payload, { timeoutMs: BENCH_REQUEST_TIMEOUT_MS }),
    attempts: () => engine.counters().connectAttempts,
    onDrop: (listener) =>
      engine.store.subscribe((state, previous) => {
        if (isOpen(previous) && !isOpen(state)) listener()
      }),
    close: () => {
      engine.destroy()
      platform.dispose()
    },
  }
}
