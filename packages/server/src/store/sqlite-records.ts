/**
 * The app's data in the embedded database (the demo's orders, or a user's own collections):
 * records of JSON text in collections, ranked for paging, with running totals per collection,
 * in the same SQLite file as the sessions so a method's effect and its answer commit together.
 */
import type { Statement } from 'better-sqlite3'
import type { Database } from '../database'
import { COUNT_TOTAL } from './data-writes'
import type { DataWrite, RecordPage, StoredRecord } from './types'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  n INTEGER PRIMARY KEY,
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  rank INTEGER NOT NULL,
  doc TEXT NOT NULL,
  sums TEXT,
  UNIQUE (collection, id)
);
CREATE INDEX IF NOT EXISTS records_newest_first ON records (collection, rank DESC, n DESC);
CREATE TABLE IF NOT EXISTS record_totals (
  collection TEXT NOT NULL,
  name TEXT NOT NULL,
  total INTEGER NOT NULL,
  PRIMARY KEY (collection, name)
) WITHOUT ROWID;
`


interface RecordRow {
  n: number
  id: string
  rank: number
  doc: string
  sums: string | null
}

export class RecordBook {
  private readonly sql: Record<'newest' | 'olderThan' | 'get' | 'insert' | 'replace' | 'totals' | 'addTotal', Statement>

  constructor(db: Database) {
    const sqlite = db.sqlite
    sqlite.exec(SCHEMA)
    this.sql = {
      newest: sqlite.prepare('SELECT n, id, rank, doc, sums FROM records WHERE collection = ? ORDER BY rank DESC, n DESC LIMIT ?'),
      olderThan: sqlite.prepare(
        'SELECT n, id, rank, doc, sums FROM records WHERE collection = @collection AND (rank < @rank OR (rank = @rank AND n < @n)) ' +
          'ORDER BY rank DESC, n DESC LIMIT @limit',
      ),
      get: sqlite.prepare('SELECT n, id, rank, doc, sums FROM records WHERE collection = ? AND id = ?'),
      insert: sqlite.prepare('INSERT INTO records (collection, id, rank, doc, sums) VALUES (?, ?, ?, ?, ?)'),
      replace: sqlite.prepare('UPDATE records SET rank = ?, doc = ?, sums = ? WHERE n = ?'),
      totals: sqlite.prepare('SELECT name, total FROM record_totals WHERE collection = ?'),
      addTotal: sqlite.prepare(
        'INSERT INTO record_totals (collection, name, total) VALUES (?, ?, ?) ON CONFLICT (collection, name) DO UPDATE SET total = total + excluded.total',
      ),
    }
  }

  get(collection: string, id: string): StoredRecord | undefined {
    const row = this.sql.get.get(collection, id) as RecordRow | undefined
    return row && toRecord(row)
  }

  count(collection: string): number {
    return this.totals(collection)[COUNT_TOTAL] ?? 0
  }

  page(collection: string, limit: number, before?: string): RecordPage | null {
    let rows: RecordRow[]
    if (before === undefined) {
      rows = this.sql.newest.all(collection, limit + 1) as RecordRow[]
    } else {
      const from = this.sql.get.get(collection, before) as RecordRow | undefined
      if (!from) return null
      rows = this.sql.olderThan.all({ collection, rank: from.rank, n: from.n, limit: limit + 1 }) as RecordRow[]
    }
    const { [COUNT_TOTAL]: count = 0, ...sums } = this.totals(collection)
    const hasMore = rows.length > limit
    return { records: (hasMore ? rows.slice(0, limit) : rows).map(toRecord), hasMore, count, sums }
  }

  /** True when the write's precondition holds now. */
  holds(write: DataWrite): boolean {
    if (write.ifDoc === undefined) return true
    const row = this.sql.get.get(write.collection, write.id) as RecordRow | undefined
    return write.ifDoc === null ? row === undefined : row?.doc === write.ifDoc
  }

  apply(write: DataWrite): void {
    const sums = write.sums && Object.keys(write.sums).length > 0 ? JSON.stringify(write.sums) : null
    const old = this.sql.get.get(write.collection, write.id) as RecordRow | undefined
    if (old) {
      this.sql.replace.run(write.rank, write.doc, sums, old.n)
      if (old.sums) this.addSums(write.collection, JSON.parse(old.sums) as Record<string, number>, -1)
    } else {
      this.sql.insert.run(write.collection, write.id, write.rank, write.doc, sums)
      this.sql.addTotal.run(write.collection, COUNT_TOTAL, 1)
    }
    if (write.sums) this.addSums(write.collection, write.sums, 1)
  }

  private addSums(collection: string, sums: Readonly<Record<string, number>>, sign: 1 | -1): void {
    for (const [name, value] of Object.entries(sums)) this.sql.addTotal.run(collection, name, sign * value)
  }

  private totals(collection: string): Record<string, number> {
    const totals: Record<string, number> = {}
    for (const { name, total } of this.sql.totals.all(collection) as Array<{ name: string; total: number }>) totals[name] = total
    return totals
  }
}

function toRecord(row: RecordRow): StoredRecord {
  return { id: row.id, doc: row.doc, rank: row.rank }
}
