/**
 * The demo backend's orders (the dashboard of the original mini-program), kept as records of
 * the store beside the sessions, so a method's effect and its remembered answer commit together.
 */
import type { DataWrite, RecordReader } from 'reliable-socket-server'
import { formatFen, parseYuanToFen } from './money'

export type OrderKind = 'jdc' | 'jsz'
export type OrderStatus = 'new' | 'confirmed'

/** An order as it travels on the wire (PROTOCOL.md "Methods of the demo backend"). */
export interface Order {
  id: string
  title: string
  amount: string
  kind: OrderKind
  status: OrderStatus
  createdAt: number
}

/** The `list` result, with the original mini-program's field names; totals cover every order. */
export interface OrderList {
  allAmount: string
  orderNum: number
  jdcAmount: string
  jszAmount: string
  /** One page of orders, newest first. */
  list: Order[]
  /** Older orders exist beyond this page. */
  hasMore: boolean
}

/** Which page of `list`: the newest `limit` orders older than the order `before`. */
export interface PageRequest {
  limit: number
  before?: string
}

export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 200

/** What a new order needs; the book assigns id (when absent), status and time. */
export interface NewOrder {
  title: string
  amountFen: number
  kind: OrderKind
}

export const ORDER_ID_MAX_LENGTH = 64
export const ORDER_TITLE_MAX_LENGTH = 200

/** The collection the orders are stored in (records of the store; see store/types.ts). */
export const ORDERS = 'orders'

/**
 * The write that stores `order` (replacing one with its id; its amount with two decimals),
 * newest by `createdAt`, counted in the collection's totals in fen: `all` and its kind. `ifDoc`
 * as DataWrite's.
 */
export function orderWrite(order: Order, ifDoc?: string | null): DataWrite {
  const fen = parseYuanToFen(order.amount)
  if (fen === null) throw new RangeError(`order ${order.id} has an invalid amount "${order.amount}"`)
  const stored: Order = { ...order, amount: formatFen(fen) }
  return { collection: ORDERS, id: order.id, doc: JSON.stringify(stored), rank: order.createdAt, sums: { all: fen, [order.kind]: fen }, ...(ifDoc === undefined ? {} : { ifDoc }) }
}

/** The order with this id and its stored text (the precondition of a change), or undefined. */
export async function findOrder(records: RecordReader, id: string): Promise<{ order: Order; doc: string } | undefined> {
  const record = await records.get(ORDERS, id)
  return record && { order: JSON.parse(record.doc) as Order, doc: record.doc }
}

/**
 * One page of orders, newest first, with the totals of every order (kept in fen by the store).
 * Returns null when `before` names no order.
 */
export async function listOrders(records: RecordReader, page: PageRequest = { limit: DEFAULT_PAGE_SIZE }): Promise<OrderList | null> {
  const found = await records.page(ORDERS, page)
  if (!found) return null
  return {
    allAmount: formatFen(found.sums.all ?? 0),
    orderNum: found.count,
    jdcAmount: formatFen(found.sums.jdc ?? 0),
    jszAmount: formatFen(found.sums.jsz ?? 0),
    list: found.records.map((record) => JSON.parse(record.doc) as Order),
    hasMore: found.hasMore,
  }
}

/** A new order (status `new`, created now) with an id no other instance will make. */
export function newOrder(input: NewOrder, nowMs: number, random: () => number = Math.random): Order {
  const suffix = Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0')
  return {
    id: `o-${nowMs.toString(36)}-${suffix}`,
    title: input.title,
    amount: formatFen(input.amountFen),
    kind: input.kind,
    status: 'new',
    createdAt: nowMs,
  }
}

/**
 * Validates an untrusted value as an Order and returns a normalized copy (amount with two
 * decimals; `status` defaults to `new`, `createdAt` to `nowMs`), or null when it is not one.
 */
export function parseOrder(value: unknown, nowMs: number): Order | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const fields = value as Record<string, unknown>
  const { id, title, amount, kind } = ownFields(fields, ['id', 'title', 'amount', 'kind'])
  const { status = 'new', createdAt = nowMs } = ownFields(fields, ['status', 'createdAt'])
  if (typeof id !== 'string' || id.length < 1 || id.length > ORDER_ID_MAX_LENGTH) return null
  if (typeof title !== 'string' || title.length > ORDER_TITLE_MAX_LENGTH) return null
  if (typeof amount !== 'string') return null
  const fen = parseYuanToFen(amount)
  if (fen === null) return null
  if (kind !== 'jdc' && kind !== 'jsz') return null
  if (status !== 'new' && status !== 'confirmed') return null
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) return null
  return { id, title, amount: formatFen(fen), kind, status, createdAt }
}

function ownFields(fields: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const key of keys) {
    if (Object.prototype.hasOwnProperty.call(fields, key) && fields[key] !== undefined) picked[key] = fields[key]
  }
  return picked
}
