import { createClient } from '../clients/factory'
import type { BenchClient, ClientEndpoints, ClientName } from '../clients/types'
import { TcpProxy } from '../lib/tcp-proxy'
import { delay, withTimeout } from '../lib/wait'

/** The servers a client can be pointed at, each reached through its own proxy. */
export interface ServerPorts {
  referencePort: number
  socketIoPort: number
  token: string
}

/** One client behind its own proxy: the proxy fails, the client does not know. */
export interface ProxiedClient {
  client: BenchClient
  proxy: TcpProxy
  close(): Promise<void>
}

const READY_TIMEOUT_MS = 15_000

/** Starts a proxy in front of the server `name` talks to, and the client through it; resolves once it answered a request. */
export async function startProxiedClient(name: ClientName, ports: ServerPorts, tag: string): Promise<ProxiedClient> {
  const proxy = await TcpProxy.start({ targetPort: name === 'socket.io-client' ? ports.socketIoPort : ports.referencePort })
  const endpoints: ClientEndpoints = { v1Url: proxy.url('/ws'), socketIoUrl: proxy.url('', 'http'), token: ports.token }
  const client = createClient(name, endpoints, tag)
  try {
    await client.ready(READY_TIMEOUT_MS)
    await withTimeout(client.request('warm-up'), READY_TIMEOUT_MS, `${name} first request`)
  } catch (error) {
    client.close()
    await proxy.close()
    throw error
  }
  return {
    client,
    proxy,
    close: async () => {
      client.close()
      await proxy.close()
    },
  }
}

/** Resolves when the client next reports a drop, or after `timeoutMs` (false then). */
export function nextDrop(client: BenchClient, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off()
      resolve(false)
    }, timeoutMs)
    const off = client.onDrop(() => {
      clearTimeout(timer)
      off()
      resolve(true)
    })
  })
}

/** What one outage did to a client. */
export interface OutageTrial {
  /** From listening again to the first answered request; Infinity when none within the cap. */
  recoveryMs: number
  /** Connection attempts the client made while nothing listened. */
  attemptsDuringOutage: number
}

/**
 * The server side stops listening for `outageMs` (open connections dropped with FIN, new ones
 * refused), then listens again; at that moment a request is made, and the time until its
 * answer is the recovery time (capped at `capMs`).
 */
export async function runOutage(target: ProxiedClient, outageMs: number, capMs: number): Promise<OutageTrial> {
  const { client, proxy } = target
  const dropped = nextDrop(client, 5000)
  await proxy.stopListening('fin')
  if (!(await dropped)) throw new Error(`${client.name} did not notice a closed connection within 5 s`)
  const attemptsBefore = client.attempts()
  await delay(outageMs)
  const attemptsDuringOutage = client.attempts() - attemptsBefore
  await proxy.listen()
  const listeningAt = performance.now()
  const answeredAt = await withTimeout(client.request(`probe-${Date.now()}`), capMs, 'recovery probe').then(
    () => performance.now(),
    () => Number.POSITIVE_INFINITY,
  )
  return { recoveryMs: answeredAt - listeningAt, attemptsDuringOutage }
}
