/**
 * Cluster mode end to end: three reference server processes on one real redis-server, behind a
 * round-robin TCP proxy on loopback, spoken to at the frame level. What PROTOCOL.md promises in
 * cluster mode: any instance resumes any session, one connection per session across instances
 * (4410), a push made anywhere reaches its sessions everywhere, exactly-once across instances
 * and across a Redis crash (AOF), and an instance that shuts down hands its clients over.
 */
import { signToken } from '../../server/app'
import { spawnServerProcess, type ServerProcess } from '../helpers/reference-server'
import { startRedis, type RedisProcess } from '../helpers/redis-server'
import { RoundRobinProxy } from '../helpers/round-robin-proxy'
import { expectErrorThenClose, RawClient, type ServerFrame } from '../server/support/raw-client'

jest.setTimeout(90_000)

const SECRET = 'cluster-test-secret-of-at-least-32-chars'
const ADMIN = 'cluster-admin'

let redis: RedisProcess
let instances: ServerProcess[]
let proxy: RoundRobinProxy
const clients: RawClient[] = []

beforeAll(async () => {
  redis = await startRedis()
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: 'cluster:', AUTH_SECRET: SECRET, ADMIN_TOKEN: ADMIN, HEARTBEAT_MS: '20000', SHUTDOWN_RETRY_MS: '500', SEED_ORDERS: 'false' }
  instances = await Promise.all([0, 1, 2].map(() => spawnServerProcess({ env })))
  proxy = await RoundRobinProxy.start(instances.map((instance) => instance.port))
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
})

afterAll(async () => {
  await proxy?.close()
  await Promise.all((instances ?? []).map((instance) => instance.stop()))
  await redis?.stop()
})

async function as(url: string, user: string, hello: { sid?: string; ack?: number } = {}): Promise<{ client: RawClient; welcome: ServerFrame }> {
  const opened = await RawClient.open(url, { token: await signToken(SECRET, user), ...hello })
  clients.push(opened.client)
  if (opened.welcome.type !== 'welcome') throw new Error(`no welcome: ${JSON.stringify(opened.welcome)}`)
  return opened
}

async function push(instance: ServerProcess, topic: string, data: unknown, to?: { user: string }): Promise<number> {
  const response = await fetch(`${instance.httpUrl}/admin/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(to ? { topic, data, to } : { topic, data }),
  })
  const body = (await response.json()) as { delivered: number }
  if (response.status !== 200) throw new Error(`push answered ${response.status}: ${JSON.stringify(body)}`)
  return body.delivered
}

const seqsAndData = (frames: ServerFrame[]): Array<[unknown, unknown]> => frames.map((frame) => [frame.seq, frame.data])
const wsUrl = (instance: ServerProcess): string => instance.wsUrl

test('a push made on any instance reaches its sessions on every instance, in seq order per session', async () => {
  const [a, b, c] = instances
  const { client: aliceOnA } = await as(wsUrl(a), 'alice')
  const { client: aliceOnB } = await as(wsUrl(b), 'alice')
  const { client: bobOnC } = await as(wsUrl(c), 'bob')
  for (let n = 1; n <= 9; n += 1) await push(instances[n % 3], 'all', n)
  const expected = Array.from({ length: 9 }, (_unused, i): [unknown, unknown] => [i + 1, i + 1])
  for (const client of [aliceOnA, aliceOnB, bobOnC]) expect(seqsAndData(await client.pushes(9))).toEqual(expected)
  expect(await push(c, 'for-alice', 'hi', { user: 'alice' })).toBe(2)
  await push(a, 'all', 'last')
  for (const client of [aliceOnA, aliceOnB]) expect((await client.pushes(2)).map((frame) => frame.topic)).toEqual(['for-alice', 'all'])
  expect((await bobOnC.pushes(1)).map((frame) => [frame.seq, frame.topic])).toEqual([[10, 'all']])
})

test('after its instance is SIGKILLed, a session resumes on another with an exact replay', async () => {
  const [a, b, c] = instances
  const { client, welcome } = await as(wsUrl(a), 'carol')
  const sid = welcome.sid as string
  for (let n = 1; n <= 5; n += 1) await push(b, 'n', n, { user: 'carol' })
  expect(seqsAndData(await client.pushes(5))).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]])
  client.send({ type: 'ack', seq: 2 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  await a.kill('SIGKILL')
  expect((await client.closed(5000)).code).not.toBe(1000)
  for (let n = 6; n <= 7; n += 1) await push(c, 'n', n, { user: 'carol' })
  const again = await as(wsUrl(b), 'carol', { sid, ack: 2 })
  expect(again.welcome).toMatchObject({ resumed: true, sid })
  expect(seqsAndData(await again.client.pushes(5))).toEqual([[3, 3], [4, 4], [5, 5], [6, 6], [7, 7]])
  await push(c, 'n', 8, { user: 'carol' })
  expect(seqsAndData(await again.client.pushes(1))).toEqual([[8, 8]])
  await a.restart()
})

test('the same request id on another instance gets the remembered answer: the method ran once', async () => {
  const [a, b, c] = instances
  const order = { id: `cl-${Date.now()}`, title: 'cluster order', amount: '12.50', kind: 'jdc' }
  await push(c, 'notify', { order })
  const { client: onA, welcome } = await as(wsUrl(a), 'dave')
  const first = await onA.request('order.confirm', { id: order.id }, 'dave-confirm-1')
  expect(first).toMatchObject({ ok: true, result: { id: order.id, status: 'confirmed' } })
  await onA.close()
  const { client: onB } = await as(wsUrl(b), 'dave', { sid: welcome.sid as string, ack: 0 })
  const repeated = await onB.request('order.confirm', { id: order.id }, 'dave-confirm-1')
  expect(repeated).toEqual(first)
  expect(await onB.request('order.confirm', { id: order.id }, 'dave-confirm-2')).toMatchObject({ ok: false, error: { code: 'already_confirmed' } })
  const listed = await onB.request('list', { limit: 200 })
  expect((listed.result as { list: Array<{ id: string; status: string }> }).list.find((item) => item.id === order.id)?.status).toBe('confirmed')
})

test('two connections of one session on two instances: the older one is closed with 4410', async () => {
  const [a, b] = instances
  const { client: older, welcome } = await as(wsUrl(a), 'erin')
  const { client: newer, welcome: resumed } = await as(wsUrl(b), 'erin', { sid: welcome.sid as string, ack: 0 })
  expect(resumed).toMatchObject({ resumed: true })
  await expectErrorThenClose(older, 'replaced', 4410)
  await push(a, 'after', 1, { user: 'erin' })
  expect((await newer.pushes(1)).map((frame) => frame.topic)).toEqual(['after'])
})

test('an instance that shuts down hands its clients to the others: they resume through the balancer, nothing lost', async () => {
  const opened = []
  for (let i = 0; i < 9; i += 1) opened.push(await as(proxy.wsUrl, `fleet-${i}`))
  const leaving = instances[1]
  const stopping = leaving.kill('SIGTERM')
  // Some of the fleet were on it: told to come back within retryMs, then 1001.
  const closedCodes = await Promise.all(opened.map(({ client }) => Promise.race([client.closed(8000).then((info) => info.code), new Promise<null>((resolve) => setTimeout(() => resolve(null), 1500))])))
  await stopping
  const movedIndexes = closedCodes.flatMap((code, index) => (code === 1001 ? [index] : []))
  expect(movedIndexes.length).toBeGreaterThan(0)
  for (const index of movedIndexes) {
    expect(opened[index].client.received.some((frame) => frame.type === 'error' && frame.code === 'shutting_down' && frame.retryMs === 500)).toBe(true)
  }
  for (let i = 0; i < 9; i += 1) await push(instances[0], 'during', i, { user: `fleet-${i}` })
  for (const index of movedIndexes) {
    const again = await as(proxy.wsUrl, `fleet-${index}`, { sid: opened[index].welcome.sid as string, ack: 0 })
    expect(again.welcome).toMatchObject({ resumed: true })
    expect(seqsAndData(await again.client.pushes(1))).toEqual([[1, index]])
  }
  for (let index = 0; index < 9; index += 1) {
    if (!movedIndexes.includes(index)) expect(seqsAndData(await opened[index].client.pushes(1))).toEqual([[1, index]])
  }
  await leaving.restart()
})

test('Redis killed and restarted from its AOF: sessions resume, answers are remembered, seqs go on', async () => {
  const [a, b, c] = instances
  const { client, welcome } = await as(wsUrl(a), 'frank')
  for (let n = 1; n <= 3; n += 1) await push(b, 'n', n, { user: 'frank' })
  expect(seqsAndData(await client.pushes(3))).toEqual([[1, 1], [2, 2], [3, 3]])
  const order = { id: `aof-${Date.now()}`, title: 'kept across a crash', amount: '3.00', kind: 'jsz' }
  await push(c, 'notify', { order })
  expect((await client.pushes(1)).map((frame) => frame.seq)).toEqual([4])
  const answered = await client.request('order.confirm', { id: order.id }, 'frank-confirm')
  expect(answered).toMatchObject({ ok: true })
  await client.close()
  await redis.crash()
  // The instances reconnect by themselves; a push after the crash takes the next seq.
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      await push(c, 'n', 5, { user: 'frank' })
      break
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  const again = await as(wsUrl(b), 'frank', { sid: welcome.sid as string, ack: 3 })
  expect(again.welcome).toMatchObject({ resumed: true })
  const replayed = await again.client.pushes(4)
  expect(replayed.map((frame) => [frame.seq, frame.topic])).toEqual([[4, 'notify'], [5, 'order.updated'], [6, 'notice'], [7, 'n']])
  expect(await again.client.request('order.confirm', { id: order.id }, 'frank-confirm')).toEqual(answered)
})
