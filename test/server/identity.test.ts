/**
 * PROTOCOL.md v1.1 "Identity, topics and targeted pushes" and "Answered ids belong to the
 * identity", against the real server: signed tokens, sessions owned by their identity, pushes
 * to one identity or one topic (also across a restart with durable state), subscriptions that
 * survive resume, and exactly-once across a session's expiry.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SignJWT, UnsecuredJWT } from 'jose'
import { signToken, type MethodHandler, type ReferenceServer, type ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient, expectErrorThenClose, type HelloFields, type ServerFrame } from './support/raw-client'

const SECRET = 'a-test-secret-of-at-least-32-characters!'
const servers: ReferenceServer[] = []
const clients: RawClient[] = []
const dirs: string[] = []
let runs: string[] = []

const methods = new Map<string, MethodHandler>([['note', (params) => {
  runs.push(String(params))
  return { params, run: runs.length }
}]])

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer({ authSecret: SECRET, seedOrders: false, methods, ...options })
  servers.push(server)
  return server
}

async function as(server: ReferenceServer, user: string, hello: HelloFields = {}): Promise<{ client: RawClient; welcome: ServerFrame }> {
  const opened = await RawClient.open(server.wsUrl, { token: await signToken(SECRET, user), ...hello })
  clients.push(opened.client)
  return opened
}

async function closeServer(server: ReferenceServer): Promise<void> {
  servers.splice(servers.indexOf(server), 1)
  await server.close()
}

beforeEach(() => {
  runs = []
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe('signed tokens (AUTH_SECRET)', () => {
  it('takes the identity from sub', async () => {
    const server = await serve()
    const { client, welcome } = await as(server, 'alice')
    expect(welcome).toMatchObject({ type: 'welcome', resumed: false })
    expect(await client.request('note', 'hi')).toMatchObject({ ok: true })
  })

  const key = new TextEncoder().encode(SECRET)
  const refusals: Array<[string, () => Promise<string | undefined>]> = [
    ['a missing token', async () => undefined],
    ['the development token', async () => 'dev-token'],
    ['an expired token', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key)],
    ['a token signed with another secret', () => signToken('another-secret-of-at-least-32-characters', 'alice')],
    ['alg: none', async () => new UnsecuredJWT({ sub: 'alice' }).encode()],
    ['a token without sub', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(key)],
    ['garbage', async () => 'not.a.jwt'],
  ]
  it.each(refusals)('refuses %s with error unauthorized then 4401', async (_name, make) => {
    const server = await serve()
    const client = await RawClient.connect(server.wsUrl)
    clients.push(client)
    const token = await make()
    client.send(token === undefined ? { type: 'hello', v: 1 } : { type: 'hello', v: 1, token })
    const error = await expectErrorThenClose(client, 'unauthorized', 4401)
    expect(String(error.message).length).toBeGreaterThan(0)
  })

  it('answers frames sent right after the hello once the token is checked, in order', async () => {
    const server = await serve()
    const client = await RawClient.connect(server.wsUrl)
    clients.push(client)
    client.send({ type: 'hello', v: 1, token: await signToken(SECRET, 'alice') })
    for (let n = 0; n < 5; n++) client.send({ type: 'req', id: `early-${n}`, method: 'echo', params: n })
    const answers = []
    for (let n = 0; n < 5; n++) answers.push(await client.next((frame) => frame.type === 'res'))
    expect(answers.map((frame) => frame.id)).toEqual(['early-0', 'early-1', 'early-2', 'early-3', 'early-4'])
    expect(client.received[0].type).toBe('welcome')
  })

  it('serves POST /dev/login in development: a signed token for a name', async () => {
    const server = await serve({ devLogin: true })
    const response = await fetch(`${server.httpUrl}/dev/login`, { method: 'POST', body: JSON.stringify({ name: 'carol' }) })
    expect(response.status).toBe(200)
    const { token, identity } = (await response.json()) as { token: string; identity: string }
    expect(identity).toBe('carol')
    const { welcome } = await RawClient.open(server.wsUrl, { token }).then((opened) => {
      clients.push(opened.client)
      return opened
    })
    expect(welcome.type).toBe('welcome')
    const bad = await fetch(`${server.httpUrl}/dev/login`, { method: 'POST', body: JSON.stringify({ name: '../x' }) })
    expect(bad.status).toBe(400)
  })

  it('has no /dev/login unless asked for (production never)', async () => {
    const server = await serve()
    expect((await fetch(`${server.httpUrl}/dev/login`, { method: 'POST', body: '{"name":"x"}' })).status).toBe(404)
  })
})

describe('sessions belong to their identity', () => {
  it('treats another identity\'s sid as unknown: a new session, and the owner is not touched', async () => {
    const server = await serve()
    const { client: owner, welcome } = await as(server, 'alice')
    await owner.request('note', 'alice-secret', 'same-id')
    server.push('for-alice', 1, { user: 'alice' })
    await owner.pushes(1)
    const { client: thief, welcome: stolen } = await as(server, 'mallory', { sid: welcome.sid as string, ack: 0 })
    expect(stolen.resumed).toBe(false)
    expect(stolen.sid).not.toBe(welcome.sid)
    // No replay of the owner's pushes, none of its answers, and no 4410 for the owner.
    expect(await thief.request('note', 'mallory-own', 'same-id')).toMatchObject({ result: { params: 'mallory-own', run: 2 } })
    expect(thief.received.filter((frame) => frame.type === 'push')).toEqual([])
    expect(await owner.request('echo', 'still here')).toMatchObject({ result: 'still here' })
    expect(owner.isClosed).toBe(false)
    // The owner's session is intact: it resumes with everything.
    await owner.close()
    const { client: back, welcome: again } = await as(server, 'alice', { sid: welcome.sid as string, ack: 0 })
    expect(again).toMatchObject({ sid: welcome.sid, resumed: true })
    expect((await back.pushes(1))[0]).toMatchObject({ topic: 'for-alice' })
  })

  it('closes the older connection of the same identity with 4410 when a newer one resumes it', async () => {
    const server = await serve()
    const { client: first, welcome } = await as(server, 'alice')
    await as(server, 'alice', { sid: welcome.sid as string })
    await expectErrorThenClose(first, 'replaced', 4410)
  })

  it('gives unguessable session ids (UUID v4: 122 random bits), each different', async () => {
    const server = await serve()
    const sids = new Set<string>()
    for (let i = 0; i < 20; i++) sids.add((await as(server, 'alice')).welcome.sid as string)
    expect(sids.size).toBe(20)
    for (const sid of sids) expect(sid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})

describe('targeted pushes', () => {
  async function fourDevices(server: ReferenceServer) {
    const devices = {
      alice1: await as(server, 'alice'),
      alice2: await as(server, 'alice'),
      bob1: await as(server, 'bob'),
      bob2: await as(server, 'bob'),
    }
    expect(await devices.alice1.client.request('$subscribe', { topics: ['weather'] })).toMatchObject({ ok: true, result: { topics: ['weather'] } })
    expect(await devices.bob2.client.request('$subscribe', { topics: ['weather', 'sports'] })).toMatchObject({ ok: true, result: { topics: ['weather', 'sports'] } })
    return devices
  }

  const topicsSeen = (client: RawClient) => client.received.filter((frame) => frame.type === 'push').map((frame) => frame.topic)

  it('reach exactly the sessions they should: two users × two devices, one topic', async () => {
    const server = await serve()
    const devices = await fourDevices(server)
    expect(await server.push('to-alice', 1, { user: 'alice' })).toBe(2)
    expect(await server.push('rain', 2, { topic: 'weather' })).toBe(2)
    expect(await server.push('everyone', 3)).toBe(4)
    expect(await server.push('nobody', 4, { user: 'zed' })).toBe(0)
    const admin = await fetch(`${server.httpUrl}/admin/push`, {
      method: 'POST',
      headers: { Authorization: 'Bearer dev-admin', 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: 'to-bob', data: 5, to: { user: 'bob' } }),
    })
    expect(await admin.json()).toEqual({ delivered: 2 })
    await devices.alice1.client.pushes(3)
    await devices.alice2.client.pushes(2)
    await devices.bob1.client.pushes(2)
    await devices.bob2.client.pushes(3)
    expect(topicsSeen(devices.alice1.client)).toEqual(['to-alice', 'rain', 'everyone'])
    expect(topicsSeen(devices.alice2.client)).toEqual(['to-alice', 'everyone'])
    expect(topicsSeen(devices.bob1.client)).toEqual(['everyone', 'to-bob'])
    expect(topicsSeen(devices.bob2.client)).toEqual(['rain', 'everyone', 'to-bob'])
    // Each session numbers its own pushes 1, 2, 3 …
    expect(devices.bob2.client.received.filter((frame) => frame.type === 'push').map((frame) => frame.seq)).toEqual([1, 2, 3])
  })

  it('refuses a bad `to` at the admin route with 400', async () => {
    const server = await serve()
    for (const to of [{ user: '' }, { user: 5 }, { topic: 'x', user: 'y' }, 'alice', { group: 'x' }]) {
      const response = await fetch(`${server.httpUrl}/admin/push`, {
        method: 'POST',
        headers: { Authorization: 'Bearer dev-admin', 'Content-Type': 'application/json' },
        body: JSON.stringify({ topic: 't', to }),
      })
      expect(response.status).toBe(400)
    }
  })

  it('keep their targets across a restart with durable state: subscriptions survive, pushes wait in the logs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'identity-'))
    dirs.push(dataDir)
    const first = await serve({ dataDir })
    const devices = await fourDevices(first)
    const sids = Object.fromEntries(Object.entries(devices).map(([name, device]) => [name, device.welcome.sid as string]))
    for (const device of Object.values(devices)) await device.client.close()
    await closeServer(first)

    const second = await serve({ dataDir, port: 0 })
    expect(await second.push('hail', 1, { topic: 'weather' })).toBe(2)
    expect(await second.push('for-bob', 2, { user: 'bob' })).toBe(2)
    const back = {
      alice1: await as(second, 'alice', { sid: sids.alice1 }),
      alice2: await as(second, 'alice', { sid: sids.alice2 }),
      bob1: await as(second, 'bob', { sid: sids.bob1 }),
      bob2: await as(second, 'bob', { sid: sids.bob2 }),
    }
    for (const device of Object.values(back)) expect(device.welcome.resumed).toBe(true)
    await back.alice1.client.pushes(1)
    await back.bob1.client.pushes(1)
    await back.bob2.client.pushes(2)
    expect(topicsSeen(back.alice1.client)).toEqual(['hail'])
    expect(topicsSeen(back.alice2.client)).toEqual([])
    expect(topicsSeen(back.bob1.client)).toEqual(['for-bob'])
    expect(topicsSeen(back.bob2.client)).toEqual(['hail', 'for-bob'])
    expect(await back.bob2.client.request('$unsubscribe', { topics: ['weather'] })).toMatchObject({ result: { topics: ['sports'] } })
    expect(await second.push('fog', 3, { topic: 'weather' })).toBe(1)
  })

  it('answers bad $subscribe params with bad_request, and past 100 topics with limit', async () => {
    const server = await serve()
    const { client } = await as(server, 'alice')
    for (const params of [undefined, { topics: 'x' }, { topics: [''] }, { topics: ['x'.repeat(129)] }, { topics: [1] }]) {
      expect(await client.request('$subscribe', params)).toMatchObject({ ok: false, error: { code: 'bad_request' } })
    }
    const many = Array.from({ length: 100 }, (_unused, i) => `t${i}`)
    expect(await client.request('$subscribe', { topics: many })).toMatchObject({ ok: true })
    expect(await client.request('$subscribe', { topics: ['one-more'] })).toMatchObject({ ok: false, error: { code: 'limit' } })
  })
})

describe('answers belong to the identity', () => {
  it('runs a request once across its session\'s expiry: the same id later gets the remembered answer', async () => {
    const server = await serve({ sessionTtlMs: 50 })
    const { client, welcome } = await as(server, 'alice')
    expect(await client.request('note', 'confirm 7', 'confirm-7')).toMatchObject({ result: { run: 1 } })
    await client.close()
    // The session expires (the sweep runs every ~12 ms at this TTL).
    await new Promise((resolve) => setTimeout(resolve, 300))
    const { client: next, welcome: again } = await as(server, 'alice', { sid: welcome.sid as string, ack: 0 })
    expect(again.resumed).toBe(false)
    expect(await next.request('note', 'confirm 7', 'confirm-7')).toMatchObject({ ok: true, result: { params: 'confirm 7', run: 1 } })
    expect(runs).toEqual(['confirm 7'])
  })

  it('does not share them between identities', async () => {
    const server = await serve()
    const { client: alice } = await as(server, 'alice')
    const { client: bob } = await as(server, 'bob')
    await alice.request('note', 'a', 'shared-id')
    expect(await bob.request('note', 'b', 'shared-id')).toMatchObject({ result: { params: 'b', run: 2 } })
  })

  it('forgets them after answerTtlMs: the id runs again', async () => {
    const server = await serve({ answerTtlMs: 100 })
    const { client } = await as(server, 'alice')
    await client.request('note', 'first', 'r-1')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await client.request('note', 'second', 'r-1')).toMatchObject({ result: { params: 'second', run: 2 } })
  })
})
