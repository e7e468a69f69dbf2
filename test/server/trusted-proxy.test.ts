/**
 * Behind a load balancer every socket comes from the balancer: per-address limits count the
 * client address it passes in X-Forwarded-For, and only when the balancer is trusted.
 */
import net from 'node:net'
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { ClientAddresses } from '../../packages/server/src/client-address'
import { startTestServer } from '../helpers/reference-server'
import { RawClient } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer({ seedOrders: false, limits: { maxConnectionsPerAddress: 2, maxPendingPerAddress: 2 }, ...options })
  servers.push(server)
  return server
}

/** A hello through the "balancer" on 127.0.0.1, for the client `forwardedFor`; resolves with the first frame. */
async function helloFor(server: ReferenceServer, forwardedFor: string) {
  const client = await RawClient.connect(server.wsUrl, { headers: { 'X-Forwarded-For': forwardedFor } })
  clients.push(client)
  return client.hello({})
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('X-Forwarded-For from a trusted proxy', () => {
  it('counts each client under its own address, and one client is still held to its limit', async () => {
    const server = await serve({ trustedProxies: ['127.0.0.1'] })
    for (const client of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      expect(await helloFor(server, client)).toMatchObject({ type: 'welcome' })
    }
    expect(await helloFor(server, '10.0.0.5')).toMatchObject({ type: 'welcome' })
    expect(await helloFor(server, '10.0.0.5')).toMatchObject({ type: 'welcome' })
    expect(await helloFor(server, '10.0.0.5')).toMatchObject({ type: 'error', code: 'rate_limited' })
  })

  it('is not believed from an untrusted peer: a client cannot forge its way past the limit', async () => {
    const server = await serve()
    expect(await helloFor(server, '10.0.0.1')).toMatchObject({ type: 'welcome' })
    expect(await helloFor(server, '10.0.0.2')).toMatchObject({ type: 'welcome' })
    expect(await helloFor(server, '10.0.0.3')).toMatchObject({ type: 'error', code: 'rate_limited' })
  })

  it('does not hold a trusted proxy\'s waiting TCP connections to maxPendingPerAddress', async () => {
    const server = await serve({ trustedProxies: ['127.0.0.1'] })
    const sockets = await Promise.all([0, 1, 2, 3].map(() => new Promise<net.Socket>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => resolve(socket))
      socket.on('error', () => undefined)
    })))
    try {
      expect(await helloFor(server, '10.0.0.1')).toMatchObject({ type: 'welcome' })
    } finally {
      for (const socket of sockets) socket.destroy()
    }
  })
})

describe('ClientAddresses', () => {
  const request = (remoteAddress: string, forwardedFor?: string) =>
    ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as never

  it.each([
    ['an untrusted peer: its own address', '192.0.2.9', '10.0.0.1', '192.0.2.9'],
    ['a trusted proxy: the address it appended', '127.0.0.1', '10.0.0.1', '10.0.0.1'],
    ['the rightmost hop that is not a proxy (left of it is the client\'s to forge)', '127.0.0.1', '6.6.6.6, 10.0.0.1, 127.0.0.2', '10.0.0.1'],
    ['a dual-stack peer', '::ffff:127.0.0.1', '10.0.0.1', '10.0.0.1'],
    ['a trusted proxy without the header: the proxy', '127.0.0.1', undefined, '127.0.0.1'],
  ])('%s', (_name, remote, forwardedFor, expected) => {
    expect(new ClientAddresses(['127.0.0.1', '127.0.0.2']).of(request(remote, forwardedFor))).toBe(expected)
  })
})
