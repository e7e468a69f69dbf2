/**
 * The reference server: the package `reliable-socket-server` with the demo backend's methods,
 * its orders (seeded once, stored with the `notify` that announces them) and an optional order
 * simulator. Tests, benchmarks and `npm start` run this.
 */
import { createSocketServer, type MethodEntry, type SocketServer, type SocketServerOptions } from 'reliable-socket-server'
import { announcedOrder } from './demo/announce'
import { createDemoMethods } from './demo/methods'
import { newOrder, ORDERS, orderWrite } from './demo/orders'
import { sampleOrders } from './demo/seed'
import { randomNewOrder, startSimulator } from './demo/simulator'

export interface ReferenceServerOptions extends Omit<SocketServerOptions, 'beforePush' | 'seed' | 'methods'> {
  /** Creates an order and pushes `notify` every N ms; 0 = off (default). */
  simulateOrdersMs?: number
  /** Store sample orders on the first start of a database; default true. */
  seedOrders?: boolean
  /** Methods to add to (or replace in) the demo backend's `list`, `order.confirm`, `echo`. */
  methods?: ReadonlyMap<string, MethodEntry>
}

export type ReferenceServer = SocketServer

/** Starts the reference server and resolves once it listens. */
export async function startReferenceServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const { simulateOrdersMs = 0, seedOrders = true, methods, ...rest } = options
  if (!Number.isSafeInteger(simulateOrdersMs) || simulateOrdersMs < 0) {
    throw new RangeError(`simulateOrdersMs must be an integer >= 0, got ${simulateOrdersMs}`)
  }
  const server = await createSocketServer({
    ...rest,
    methods: new Map([...createDemoMethods(), ...(methods ?? [])]),
    beforePush: announcedOrder,
    seed: seedOrders ? { flag: 'demo-orders', collection: ORDERS, writes: (nowMs) => sampleOrders(nowMs).map((order) => orderWrite(order)) } : undefined,
  })
  const log = options.log ?? (() => undefined)
  const stopSimulator = simulateOrdersMs > 0
    ? startSimulator(
        simulateOrdersMs,
        () => server.push('notify', { order: newOrder(randomNewOrder(), Date.now()) }),
        (error) => log(`order simulator failed: ${String(error)}`),
      )
    : () => undefined
  let closed: Promise<void> | null = null
  return { ...server, close: () => (closed ??= (stopSimulator(), server.close())) }
}

export type { MethodContext, MethodEntry, MethodHandler, PushAddress, Authenticate, ServerLimits } from 'reliable-socket-server'
export { AuthRefused, CodedError, jwtAuth, signToken, staticTokenAuth } from 'reliable-socket-server'
