// The backend of the client's quick start: `list` (safe: read-only), `order.confirm` (run once
// per request id, however often it is re-sent) and `notify` pushes, on an SQLite file.
import { AuthRefused, CodedError, createSocketServer, type MethodEntry } from 'reliable-socket-server'

interface Order {
  id: string
  title: string
  status: 'new' | 'confirmed'
}

const methods: Record<string, MethodEntry> = {
  list: {
    safe: true,
    run: async (_params, { records }) => {
      const page = await records.page('orders', { limit: 50 })
      return { list: (page?.records ?? []).map((record) => JSON.parse(record.doc) as Order) }
    },
  },
  'order.confirm': async (params, { records, change, publish }) => {
    const id = (params as { id?: unknown } | undefined)?.id
    if (typeof id !== 'string') throw new CodedError('bad_request', 'params must be { id: string }')
    const record = await records.get('orders', id)
    if (!record) throw new CodedError('not_found', `no order ${id}`)
    const order = JSON.parse(record.doc) as Order
    if (order.status === 'confirmed') throw new CodedError('already_confirmed', `order ${id} is already confirmed`)
    const confirmed: Order = { ...order, status: 'confirmed' }
    // Committed with the answer, and only if the order is still as read (else this runs again).
    change({ collection: 'orders', id, doc: JSON.stringify(confirmed), rank: record.rank, ifDoc: record.doc })
    publish('order.updated', { order: confirmed })
    return { id, status: 'confirmed' }
  },
}

export async function startShopServer(port: number, dataDir: string | null = './data') {
  const server = await createSocketServer({
    port,
    dataDir, // an SQLite file in this folder; null: in memory; or redisUrl for several instances
    methods,
    // Who is calling: the identity a token stands for (jwtAuth(secret) verifies signed tokens).
    authenticate: (token) => {
      if (token !== 'the-token-your-login-gave') throw new AuthRefused('unknown token')
      return 'shop-1'
    },
    // A `notify` push stores the order it announces, in the same commit as the push.
    beforePush: (topic, data, nowMs) => {
      const order = (data as { order?: Order } | undefined)?.order
      if (topic !== 'notify' || !order) return { data, writes: [] }
      return { data, writes: [{ collection: 'orders', id: order.id, doc: JSON.stringify(order), rank: nowMs }] }
    },
  })
  // Pushes from your own code (or POST /admin/push): every session, one user's, or a topic's.
  await server.push('notify', { order: { id: `o-${Date.now()}`, title: 'First order', status: 'new' } })
  return server
}
