import type { Order } from './orders'

/**
 * The demo backend's methods and push topics (shared/PROTOCOL.md, "Methods of the demo
 * backend"), declared once: the socket's request, send and subscribe are typed by it. The
 * pages still check each answer's shape (parseOrderPage): a declaration is not a proof.
 */
export interface DemoApi {
  methods: {
    list: {
      params: { limit?: number; before?: string } | undefined
      result: { allAmount: string; orderNum: number; jdcAmount: string; jszAmount: string; list: Order[]; hasMore?: boolean }
    }
    'order.confirm': { params: { id: string }; result: { id: string; status: 'confirmed' } }
    echo: { params: unknown; result: unknown }
  }
  topics: {
    notify: { order: Order }
    'order.updated': { order: Order }
  }
}
