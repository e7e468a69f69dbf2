/**
 * The address a connection's per-address limits count it under. Behind a load balancer every
 * socket comes from the balancer, so one address would carry every client's connections and
 * hellos; a balancer named in `trustedProxies` passes the client's address in
 * X-Forwarded-For instead. Only the entries such proxies appended are believed: the rightmost
 * one not itself a trusted proxy is the client (anything left of it the client could forge).
 */
import type { IncomingMessage } from 'node:http'

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim()
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice('::ffff:'.length) : trimmed
}

export class ClientAddresses {
  private readonly trusted: ReadonlySet<string>

  constructor(trustedProxies: readonly string[]) {
    this.trusted = new Set(trustedProxies.map(normalizeAddress))
  }

  /** True when `remote` is a trusted proxy (its TCP connections stand for many clients). */
  isProxy(remote: string | undefined): boolean {
    return remote !== undefined && this.trusted.has(normalizeAddress(remote))
  }

  /** The client's address for an upgrade request. */
  of(req: IncomingMessage): string {
    const remote = normalizeAddress(req.socket.remoteAddress ?? 'unknown')
    if (!this.trusted.has(remote)) return remote
    const header = req.headers['x-forwarded-for']
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map(normalizeAddress).filter((hop) => hop !== '')
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      if (!this.trusted.has(hops[i])) return hops[i]
    }
    // Nothing but proxies: the nearest one is all we know.
    return hops[0] ?? remote
  }
}
