/**
 * PROTOCOL.md "Sessions, resume and exactly-once": per-session seq, cumulative acks, resume with
 * in-order replay, resumed:false instead of a hole, 4409 and 4410, session expiry.
 */
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { RawClient, expectErrorThenClose } from './support/raw-client'
import type { ServerFrame } from './support/raw-client'

const servers: ReferenceServer[] = []
const clients: RawClient[] = []

async function serve(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const server = await startTestServer({ seedOrders: false, ...options })
  servers.push(server)
  return server
}

async function open(server: ReferenceServer, hello: { sid?: string; ack?: number } = {}): Promise<{ client: RawClient; welcome: ServerFrame }> {
  const opened = await RawClient.open(server.wsUrl, hello)
  clients.push(opened.client)
  return opened
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

const seqs = (frames: ServerFrame[]): unknown[] => frames.map((frame) => frame.seq)

describe('pushes', () => {
  it('numbers pushes 1, 2, 3 … per session, with topic and data', async () => {
    const server = await serve()
    const { client } = await open(server)
    expect(await server.push('t.one', { n: 1 })).toBe(1)
    server.push('t.two')
    server.push('t.three', [1, 'two'])
    expect(await client.pushes(3)).toEqual([
      { type: 'push', seq: 1, topic: 't.one', data: { n: 1 } },
      { type: 'push', seq: 2, topic: 't.two' },
      { type: 'push', seq: 3, topic: 't.three', data: [1, 'two'] },
    ])
  })

  it('keeps a separate sequence for each session', async () => {
    const server = await serve()
    const { client: early } = await open(server)
    server.push('only-early')
    await early.pushes(1)
    const { client: late } = await open(server)
    expect(await server.push('both')).toBe(2)
    expect(seqs(await early.pushes(1))).toEqual([2])
    expect(seqs(await late.pushes(1))).toEqual([1])
  })

  it('appends pushes to sessions whose connection is gone and counts them as delivered', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    await client.close()
    expect(await server.push('while-away', 1)).toBe(1)
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 0 })
    expect(again.resumed).toBe(true)
    expect(await back.pushes(1)).toEqual([{ type: 'push', seq: 1, topic: 'while-away', data: 1 }])
  })

  it('refuses a push that would be over the frame limit (too_large) and one with a bad topic (bad_request)', async () => {
    const server = await serve({ maxFrameBytes: 1024 })
    await open(server)
    await expect(server.push('big', 'x'.repeat(2000))).rejects.toThrow(expect.objectContaining({ code: 'too_large' }))
    await expect(server.push('', 1)).rejects.toThrow(expect.objectContaining({ code: 'bad_request' }))
    const circular: Record<string, unknown> = {}
    circular.self = circular
    await expect(server.push('loop', circular)).rejects.toThrow(expect.objectContaining({ code: 'bad_request' }))
    expect(await server.push('fine', 1)).toBe(1)
  })
})

describe('resume', () => {
  it('replays every push after hello.ack, in order, right after welcome and before any res', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    for (let i = 1; i <= 5; i += 1) server.push('n', i)
    await client.pushes(5)
    client.send({ type: 'ack', seq: 2 })
    await client.close()
    for (let i = 6; i <= 7; i += 1) server.push('n', i)

    const back = await RawClient.connect(server.wsUrl)
    clients.push(back)
    back.send({ type: 'hello', v: 1, token: 'dev-token', sid: welcome.sid, ack: 2 })
    back.send({ type: 'req', id: 'after-resume', method: 'echo', params: 'x' })
    const frames: ServerFrame[] = []
    for (let i = 0; i < 7; i += 1) frames.push(await back.next())
    expect(frames[0]).toMatchObject({ type: 'welcome', sid: welcome.sid, resumed: true })
    expect(frames.slice(1, 6).map((frame) => [frame.type, frame.seq, frame.data])).toEqual([
      ['push', 3, 3],
      ['push', 4, 4],
      ['push', 5, 5],
      ['push', 6, 6],
      ['push', 7, 7],
    ])
    expect(frames[6]).toMatchObject({ type: 'res', id: 'after-resume', ok: true })
  })

  it('replays nothing when the client has every push, and carries on with the next seq', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    server.push('a')
    await client.pushes(1)
    await client.close()
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 1 })
    expect(again).toMatchObject({ resumed: true, sid: welcome.sid })
    server.push('b')
    expect(await back.next()).toMatchObject({ type: 'push', seq: 2, topic: 'b' })
  })

  it('answers resumed:false with a new sid for an unknown sid; the new session starts at seq 1', async () => {
    const server = await serve()
    const { client, welcome } = await open(server, { sid: 'never-issued', ack: 5 })
    expect(welcome).toMatchObject({ resumed: false })
    expect(welcome.sid).not.toBe('never-issued')
    server.push('fresh')
    expect(seqs(await client.pushes(1))).toEqual([1])
  })

  it('answers resumed:false when the trimmed log no longer holds every push after ack', async () => {
    const server = await serve({ pushLogLimit: 5 })
    const { client, welcome } = await open(server)
    for (let i = 1; i <= 20; i += 1) server.push('n', i)
    await client.pushes(20)
    await client.close()
    const { welcome: again } = await open(server, { sid: welcome.sid as string, ack: 1 })
    expect(again.resumed).toBe(false)
    expect(again.sid).not.toBe(welcome.sid)
  })

  it('still resumes within the log limit (at least pushLogLimit unacked pushes are kept)', async () => {
    const server = await serve({ pushLogLimit: 5 })
    const { client, welcome } = await open(server)
    for (let i = 1; i <= 20; i += 1) server.push('n', i)
    await client.pushes(20)
    await client.close()
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 15 })
    expect(again.resumed).toBe(true)
    expect(seqs(await back.pushes(5))).toEqual([16, 17, 18, 19, 20])
  })

  it('keeps the last 1,000 pushes per session by default, and only those', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    await client.close()
    for (let i = 1; i <= 1_500; i += 1) server.push('n', i)
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 500 })
    expect(again.resumed).toBe(true)
    const replayed = await back.pushes(1_000)
    expect(replayed[0].seq).toBe(501)
    expect(replayed[999].seq).toBe(1_500)
    await back.close()
    const { welcome: tooOld } = await open(server, { sid: welcome.sid as string, ack: 0 })
    expect(tooOld.resumed).toBe(false)
  })

  it('answers resumed:false when hello.ack is beyond the last push of the session', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    server.push('one')
    await client.pushes(1)
    await client.close()
    const { welcome: again } = await open(server, { sid: welcome.sid as string, ack: 9 })
    expect(again.resumed).toBe(false)
  })

  it('keeps acked pushes within pushLogLimit: a resume from an older ack replays them again', async () => {
    const server = await serve()
    const { client, welcome } = await open(server)
    for (let i = 1; i <= 3; i += 1) server.push('n', i)
    await client.pushes(3)
    client.send({ type: 'ack', seq: 3 })
    await client.request('echo')
    await client.close()
    await waitForFlush()
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 0 })
    expect(again.resumed).toBe(true)
    expect(seqs(await back.pushes(3))).toEqual([1, 2, 3])
  })

  it('remembers answered ids of the old session after resumed:false (no second run)', async () => {
    let runs = 0
    // Effectful (a bare handler): its answers are remembered, unlike the safe echo's.
    const server = await serve({ pushLogLimit: 2, methods: new Map([['note', (params: unknown) => ({ params, run: ++runs })]]) })
    const { client, welcome } = await open(server)
    expect(await client.request('note', 'first', 'kept-id')).toMatchObject({ ok: true, result: { params: 'first', run: 1 } })
    for (let i = 1; i <= 10; i += 1) server.push('n', i)
    await client.close()
    const { client: back, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 0 })
    expect(again.resumed).toBe(false)
    expect(await back.request('note', 'second', 'kept-id')).toMatchObject({ ok: true, result: { params: 'first', run: 1 } })
    expect(runs).toBe(1)
  })
})

describe('acks', () => {
  it('accepts cumulative and repeated acks without answering them', async () => {
    const server = await serve()
    const { client } = await open(server)
    for (let i = 1; i <= 3; i += 1) server.push('n', i)
    await client.pushes(3)
    client.send({ type: 'ack', seq: 2 })
    client.send({ type: 'ack', seq: 1 })
    client.send({ type: 'ack', seq: 3 })
    client.send({ type: 'ack', seq: 0 })
    expect(await client.request('echo', 'alive')).toMatchObject({ ok: true })
    expect(client.received.filter((frame) => frame.type !== 'push' && frame.type !== 'welcome' && frame.type !== 'res')).toEqual([])
  })

  it('closes with error sequence then 4409 when an ack is beyond the last push sent', async () => {
    const server = await serve()
    const { client } = await open(server)
    server.push('n', 1)
    await client.pushes(1)
    client.send({ type: 'ack', seq: 2 })
    await expectErrorThenClose(client, 'sequence', 4409)
  })
})

describe('one connection per session (4410)', () => {
  it('closes the older connection with error replaced then 4410 when a hello resumes its session', async () => {
    const server = await serve()
    const { client: older, welcome } = await open(server)
    const { client: newer, welcome: again } = await open(server, { sid: welcome.sid as string, ack: 0 })
    expect(again.resumed).toBe(true)
    await expectErrorThenClose(older, 'replaced', 4410)
    server.push('to-newer')
    expect(await newer.next()).toMatchObject({ type: 'push', seq: 1, topic: 'to-newer' })
  })

  it('keeps delivering to the newer connection after the older one closes', async () => {
    const server = await serve()
    const { client: older, welcome } = await open(server)
    const { client: newer } = await open(server, { sid: welcome.sid as string })
    await older.closed()
    server.push('after')
    expect(await newer.next()).toMatchObject({ type: 'push', topic: 'after' })
  })
})

describe('session lifetime', () => {
  it('keeps a session for sessionTtlMs after its connection closes, then forgets it', async () => {
    const server = await serve({ sessionTtlMs: 300 })
    const { client, welcome } = await open(server)
    await client.close()
    const { client: soon, welcome: again } = await open(server, { sid: welcome.sid as string })
    expect(again.resumed).toBe(true)
    await soon.close()
    // Watch the gauge (a probing hello would itself keep the session alive).
    await waitUntil(async () => (await sessionGauge(server)) === 0, 3_000)
    const { welcome: late } = await open(server, { sid: welcome.sid as string })
    expect(late.resumed).toBe(false)
  })

  it('never expires a session while it is connected', async () => {
    const server = await serve({ sessionTtlMs: 100 })
    const { client } = await open(server)
    await new Promise((resolve) => setTimeout(resolve, 350))
    server.push('still-there')
    expect(await client.next()).toMatchObject({ type: 'push', seq: 1 })
  })
})

async function waitForFlush(): Promise<void> {
  // Acks are written out by a 1 s flush; wait for the next one.
  await new Promise((resolve) => setTimeout(resolve, 1_100))
}

async function sessionGauge(server: ReferenceServer): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text()
  const match = /^ws_sessions (\d+)$/m.exec(text)
  if (!match) throw new Error(`no ws_sessions in metrics:\n${text}`)
  return Number(match[1])
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}
