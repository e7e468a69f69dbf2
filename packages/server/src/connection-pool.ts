/**
 * The open connections: one sweep checks every hello and idle deadline (instead of a timer per
 * connection), and shutdown closes them all with 1001, cutting the ones that do not answer.
 */
import type { Connection } from './connection'

export class ConnectionPool {
  private readonly connections = new Set<Connection>()
  /** Set while closeAll() waits for the last socket to close. */
  private onEmpty: (() => void) | null = null

  /** Number of open connections. */
  get size(): number {
    return this.connections.size
  }

  add(connection: Connection): void {
    this.connections.add(connection)
  }

  /** Forgets a closed connection. */
  remove(connection: Connection): void {
    this.connections.delete(connection)
    if (this.connections.size === 0) this.onEmpty?.()
  }

  /** Closes the connections whose hello or idle deadline has passed. */
  checkDeadlines(nowMs: number): void {
    for (const connection of this.connections) connection.checkDeadline(nowMs)
  }

  /**
   * Closes every connection with 1001 and resolves once all have closed; the ones still open
   * after `graceMs` are cut without a close handshake.
   */
  async closeAll(graceMs: number, retryMs: number): Promise<void> {
    const empty = new Promise<void>((resolve) => {
      this.onEmpty = resolve
      if (this.connections.size === 0) resolve()
    })
    for (const connection of this.connections) connection.shutdown(retryMs)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs)
    })
    const outcome = await Promise.race([empty, late])
    clearTimeout(timer)
    if (outcome === 'late') {
      for (const connection of this.connections) connection.terminate()
      await empty
    }
  }
}
