/**
 * The demo backend's orders (the dashboard of the original mini-program). OrderBook keeps them in
 * the embedded database, beside the sessions, so a method's effect and its remembered answer
 * commit together; the Redis store keeps them in Redis for the same reason.
 */
import type { Statement } from 'better-sqlite3'
import type { Database } from '../database'
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  amount_fen INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_newest_first ON orders (created_at DESC, n DESC);
`

interface OrderRow {
  id: string
  title: string
  amount_fen: number
  kind: OrderKind
  status: OrderStatus
  created_at: number
}

const COLUMNS = 'id, title, amount_fen, kind, status, created_at'

export class OrderBook {
  private readonly sql: {
    newest: Statement
    olderThan: Statement
    position: Statement
    totals: Statement
    get: Statement
    upsert: Statement
    setStatus: Statement
    count: Statement
  }

  /** Creates the table when needed. */
  constructor(db: Database) {
    const sqlite = db.sqlite
    sqlite.exec(SCHEMA)
    this.sql = {
      newest: sqlite.prepare(`SELECT ${COLUMNS} FROM orders ORDER BY created_at DESC, n DESC LIMIT ?`),
      olderThan: sqlite.prepare(
        `SELECT ${COLUMNS} FROM orders WHERE created_at < @createdAt OR (created_at = @createdAt AND n < @n) ` +
          'ORDER BY created_at DESC, n DESC LIMIT @limit',
      ),
      position: sqlite.prepare('SELECT created_at AS createdAt, n FROM orders WHERE id = ?'),
      totals: sqlite.prepare(
        "SELECT COALESCE(SUM(amount_fen), 0) AS allFen, COALESCE(SUM(CASE WHEN kind = 'jdc' THEN amount_fen END), 0) AS jdcFen, " +
          "COALESCE(SUM(CASE WHEN kind = 'jsz' THEN amount_fen END), 0) AS jszFen, COUNT(*) AS count FROM orders",
      ),
      get: sqlite.prepare(`SELECT ${COLUMNS} FROM orders WHERE id = ?`),
      upsert: sqlite.prepare(
        `INSERT INTO orders (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ` +
          'title = excluded.title, amount_fen = excluded.amount_fen, kind = excluded.kind, status = excluded.status, created_at = excluded.created_at',
      ),
      setStatus: sqlite.prepare('UPDATE orders SET status = ? WHERE id = ?'),
      count: sqlite.prepare('SELECT COUNT(*) FROM orders').pluck(),
    }
  }

  /**
   * One page of orders, newest first, with the totals of every order computed in fen. Returns
   * null when `before` names no order.
   */
  list(page: PageRequest = { limit: DEFAULT_PAGE_SIZE }): OrderList | null {
    const totals = this.sql.totals.get() as { allFen: number; jdcFen: number; jszFen: number; count: number }
    let rows: OrderRow[]
    if (page.before === undefined) {
      rows = this.sql.newest.all(page.limit + 1) as OrderRow[]
    } else {
      const position = this.sql.position.get(page.before) as { createdAt: number; n: number } | undefined
      if (!position) return null
      rows = this.sql.olderThan.all({ ...position, limit: page.limit + 1 }) as OrderRow[]
    }
    const hasMore = rows.length > page.limit
    return {
      allAmount: formatFen(totals.allFen),
      orderNum: totals.count,
      jdcAmount: formatFen(totals.jdcFen),
      jszAmount: formatFen(totals.jszFen),
      list: (hasMore ? rows.slice(0, page.limit) : rows).map(toOrder),
      hasMore,
    }
  }

  /** The order with this id, or undefined. */
  get(id: string): Order | undefined {
    const row = this.sql.get.get(id) as OrderRow | undefined
    return row && toOrder(row)
  }

  /** Number of orders stored. */
  count(): number {
    return this.sql.count.get() as number
  }

  /** Stores an order, replacing one with the same id. The amount must be a valid yuan string. */
  put(order: Order): void {
    const fen = parseYuanToFen(order.amount)
    if (fen === null) throw new RangeError(`order ${order.id} has an invalid amount "${order.amount}"`)
    this.sql.upsert.run(order.id, order.title, fen, order.kind, order.status, order.createdAt)
  }

  /** Sets an order's status (nothing when there is no such order). */
  setStatus(id: string, status: OrderStatus): void {
    this.sql.setStatus.run(status, id)
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

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    title: row.title,
    amount: formatFen(row.amount_fen),
    kind: row.kind,
    status: row.status,
    createdAt: row.created_at,
  }
}
