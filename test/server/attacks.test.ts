/**
 * Attacks on the real server, each while a bystander (another address, another identity) keeps
 * doing echo requests: its answers must all come, and their latency is measured and written to
 * test/server/out/attacks.json. The attacker binds 127.0.0.2, so per-address limits apply to it
 * alone; the server listens on 127.0.0.1 as every test server does.
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { signToken, type ReferenceServer, type ServerLimits } from '../../server/app'
import { startReferenceServer } from '../../server/app'
import { RawClient, type ServerFrame } from './support/raw-client'

jest.setTimeout(60_000)

const SECRET = 'a-test-secret-of-at-least-32-characters!'
const ATTACKER = '127.0.0.2'
const OUT_FILE = path.resolve(__dirname, 'out', 'attacks.json')
/** Real limits, small enough that the attacks reach them in a test. */
const LIMITS: Partial<ServerLimits> = {
  maxConnections: 500,
  maxConnectionsPerAddress: 20,
  maxPendingPerAddress: 10,
  hellosPerSecondPerAddress: 20,
  maxSessionsPerIdentity: 5,
  maxSessions: 1000,
  requestsPerSecondPerIdentity: 50,
  upgradeTimeoutMs: 500,
}

const figures: Record<string, unknown> = {}
let server: ReferenceServer
const clients: RawClient[] = []

beforeEach(async () => {
  server = await startReferenceServer({ port: 0, dataDir: null, seedOrders: false, authSecret: SECRET, limits: LIMITS, maxFrameBytes: 16 * 1024 })
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)))
  await server.close()
})

afterAll(() => {
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true })
  fs.writeFileSync(OUT_FILE, `${JSON.stringify(figures, null, 2)}\n`)
  console.log(`[attacks] bystander echo latency during each attack (ms): ${Object.entries(figures).map(([name, value]) => `${name} ${JSON.stringify(value)}`).join('; ')}`)
})

async function connectAs(user: string, localAddress?: string): Promise<{ client: RawClient; welcome: ServerFrame }> {
  const client = await RawClient.connect(server.wsUrl, localAddress ? { localAddress } : {})
  clients.push(client)
  const welcome = await client.hello({ token: await signToken(SECRET, user) })
  return { client, welcome }
}

/**
 * The bystander: alice from 127.0.0.1, an echo every 25 ms until stopped: at most 40 a second,
 * within her own requestsPerSecondPerIdentity (50) however quick the server answers.
 */
async function bystander() {
  const { client } = await connectAs('alice')
  const latencies: number[] = []
  let failures = 0
  let running = true
  const loop = (async () => {
    let n = 0
    while (running) {
      const startedAt = performance.now()
      try {
        const res = await client.request('echo', `b-${n++}`)
        if (res.ok !== true) failures++
        latencies.push(performance.now() - startedAt)
      } catch {
        failures++
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  })()
  return {
    async stop(name: string) {
      // Watch for at least 20 echoes, however quick the attack was.
      while (latencies.length + failures < 20) await new Promise((resolve) => setTimeout(resolve, 10))
      running = false
      await loop
      const sorted = [...latencies].sort((a, b) => a - b)
      const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10
      figures[name] = { echoes: sorted.length, p50: at(0.5), p95: at(0.95), max: at(1), heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) }
      expect(failures).toBe(0)
      // Served, not merely alive: a generous bound, far above a healthy loopback's few ms.
      expect(sorted[sorted.length - 1]).toBeLessThan(2000)
    },
  }
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels}`))
  return line ? Number(line.split(' ').pop()) : 0
}

/** Opens a socket from the attacker's address and runs `act` on it; errors are the point. */
function attackSocket(act: (socket: import('ws').WebSocket) => void): Promise<number> {
  return RawClient.connect(server.wsUrl, { localAddress: ATTACKER }).then(
    (client) => {
      clients.push(client)
      act(client.socket)
      return client.closed(5000).then((info) => info.code, () => 0)
    },
    () => -1,
  )
}

describe('the server keeps serving a bystander', () => {
  it('while another identity resumes with a stolen sid', async () => {
    const watch = await bystander()
    const { client: owner, welcome } = await connectAs('carol')
    const thief = await RawClient.connect(server.wsUrl, { localAddress: ATTACKER })
    clients.push(thief)
    const stolen = await thief.hello({ token: await signToken(SECRET, 'mallory'), sid: welcome.sid as string, ack: 0 })
    expect(stolen).toMatchObject({ resumed: false })
    expect(stolen.sid).not.toBe(welcome.sid)
    expect(await owner.request('echo', 'mine')).toMatchObject({ result: 'mine' })
    await watch.stop('stolen sid')
  })

  it('during a flood of forged, expired and unsigned tokens', async () => {
    const watch = await bystander()
    const bad = ['forged.token.here', await signToken('another-secret-of-at-least-32-characters', 'x'), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']
    const codes = await Promise.all(Array.from({ length: 150 }, (_unused, i) =>
      attackSocket((socket) => socket.send(JSON.stringify({ type: 'hello', v: 1, token: bad[i % bad.length] })))))
    // Refused as unauthorized, or earlier by the limits of its address: never served.
    expect(codes.every((code) => code === 4401 || code === 4429)).toBe(true)
    expect(codes.filter((code) => code === 4401).length).toBeGreaterThan(0)
    await watch.stop('bad tokens')
  })

  it('during a flood of hellos from one address: refused beyond its rate with 4429', async () => {
    const watch = await bystander()
    const token = await signToken(SECRET, 'mallory')
    let refused = 0
    for (let round = 0; round < 6; round++) {
      const codes = await Promise.all(Array.from({ length: 15 }, () =>
        attackSocket((socket) => {
          socket.send(JSON.stringify({ type: 'hello', v: 1, token }))
          setTimeout(() => socket.close(1000), 50)
        })))
      refused += codes.filter((code) => code === 4429).length
    }
    expect(refused).toBeGreaterThan(0)
    expect(await metric('ws_limited_total', '{limit="hellos_per_address"}')).toBeGreaterThan(0)
    await watch.stop('hello flood')
  })

  it('during a flood of sessions from one identity: at most maxSessionsPerIdentity are kept', async () => {
    const watch = await bystander()
    const { welcome: aliceSession } = await connectAs('alice')
    for (let i = 0; i < 30; i++) {
      const { client } = await connectAs('mallory')
      await client.close()
    }
    // Held sessions: mallory's 5 at most, and alice's (the bystander's and this one), untouched.
    expect(await metric('ws_sessions')).toBeLessThanOrEqual(5 + 2)
    const again = await RawClient.open(server.wsUrl, { token: await signToken(SECRET, 'alice'), sid: aliceSession.sid as string })
    clients.push(again.client)
    expect(again.welcome.resumed).toBe(true)
    await watch.stop('session flood')
  })

  it('while one address opens far more connections than it may: the rest get 4429', async () => {
    const watch = await bystander()
    const held: RawClient[] = []
    const codes: number[] = []
    for (let i = 0; i < 60; i++) {
      try {
        const client = await RawClient.connect(server.wsUrl, { localAddress: ATTACKER })
        clients.push(client)
        held.push(client)
      } catch {
        codes.push(-1)
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    const open = held.filter((client) => !client.isClosed)
    expect(open.length).toBe(LIMITS.maxConnectionsPerAddress)
    for (const client of held.filter((candidate) => candidate.isClosed)) expect((await client.closed()).code).toBe(4429)
    expect(await metric('ws_limited_total', '{limit="connections_per_address"}')).toBe(60 - (LIMITS.maxConnectionsPerAddress ?? 0))
    await watch.stop('connection flood')
  })

  it('while an identity sends giant params as fast as it can: refused by its limits, never slowing others', async () => {
    const watch = await bystander()
    const attackers = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.wsUrl, { localAddress: ATTACKER }).then(async (client) => {
      clients.push(client)
      await client.hello({ token: await signToken(SECRET, 'mallory') })
      return client
    })))
    const giant = 'g'.repeat(15 * 1024)
    const deadline = Date.now() + 1500
    let sent = 0
    while (Date.now() < deadline) {
      for (const attacker of attackers) {
        if (attacker.isClosed) continue
        attacker.send({ type: 'req', id: `g-${sent++}`, method: 'echo', params: giant })
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = attackers.flatMap((attacker) => attacker.received.filter((frame) => frame.type === 'res'))
    const limited = answers.filter((frame) => (frame.error as { code?: string } | undefined)?.code === 'limit').length
    expect(limited + attackers.filter((attacker) => attacker.isClosed).length).toBeGreaterThan(0)
    figures['giant params sent'] = { sent, answered: answers.length, limited }
    await watch.stop('giant params')
  })

  it('while TCP connections from one address never upgrade: kept at maxPendingPerAddress, then cut', async () => {
    const watch = await bystander()
    const sockets: net.Socket[] = []
    const destroyedAt: number[] = []
    const startedAt = Date.now()
    for (let i = 0; i < 40; i++) {
      const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: ATTACKER })
      socket.on('error', () => undefined)
      socket.on('close', () => destroyedAt.push(Date.now() - startedAt))
      sockets.push(socket)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Beyond the pending limit they are cut at once; the ones kept are cut at upgradeTimeoutMs.
    expect(destroyedAt.length).toBeGreaterThanOrEqual(40 - (LIMITS.maxPendingPerAddress ?? 0))
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(destroyedAt.length).toBe(40)
    expect(await metric('ws_limited_total', '{limit="pending_per_address"}')).toBeGreaterThan(0)
    for (const socket of sockets) socket.destroy()
    // The attacker's address may connect properly once it stops.
    const { welcome } = await connectAs('mallory', ATTACKER)
    expect(welcome.type).toBe('welcome')
    await watch.stop('no upgrade')
  })
})
