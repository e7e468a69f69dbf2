/**
 * Durable state across process death: `server/main.ts` in a child process (tsx), killed with
 * SIGKILL and started again on the same port and data dir. Sessions resume, missed pushes
 * replay, a re-sent request does not run twice. SIGTERM shuts down with 1001 and exit 0.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { spawnServerProcess } from '../helpers/reference-server'
import type { ServerProcess } from '../helpers/reference-server'
import { RawClient } from './support/raw-client'

jest.setTimeout(60_000)

let server: ServerProcess | null = null
const clients: RawClient[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await server?.stop()
  server = null
})

async function open(hello: { sid?: string; ack?: number } = {}): Promise<RawClient> {
  if (!server) throw new Error('no server')
  const { client } = await RawClient.open(server.wsUrl, hello)
  clients.push(client)
  return client
}

it('resumes a session after SIGKILL + restart: missed pushes replay in order, a re-sent confirm runs once', async () => {
  server = await spawnServerProcess()
  const client = await open()
  const welcome = client.received[0]
  const sid = welcome.sid as string
  expect(await server.adminPush('before', 1)).toBe(1)
  expect(await client.next()).toMatchObject({ type: 'push', seq: 1, topic: 'before' })
  client.send({ type: 'ack', seq: 1 })
  const confirmed = await client.request('order.confirm', { id: 'A1003' }, 'confirm-A1003')
  expect(confirmed).toMatchObject({ ok: true, result: { id: 'A1003', status: 'confirmed' } })
  await client.next((frame) => frame.topic === 'order.updated')
  expect(await server.adminPush('also-before', 2)).toBe(1)
  await client.next((frame) => frame.topic === 'also-before')

  await server.kill('SIGKILL')
  expect((await client.closed(5_000)).code).toBe(1006)
  await server.restart()

  expect(await server.adminPush('while-away', 3)).toBe(1)
  const back = await RawClient.connect(server.wsUrl)
  clients.push(back)
  back.send({ type: 'hello', v: 1, token: 'dev-token', sid, ack: 1 })
  back.send({ type: 'req', id: 'confirm-A1003', method: 'order.confirm', params: { id: 'A1003' } })
  expect(await back.next()).toMatchObject({ type: 'welcome', sid, resumed: true })
  const replayed = [await back.next(), await back.next(), await back.next(), await back.next()]
  expect(replayed.map((frame) => [frame.seq, frame.topic])).toEqual([
    [2, 'order.updated'],
    [3, 'notice'],
    [4, 'also-before'],
    [5, 'while-away'],
  ])
  expect(await back.next()).toEqual(confirmed)
  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
  expect(metrics).not.toMatch(/ws_requests_total\{method="order\.confirm"/)
  expect(metrics).toMatch(/^ws_dedupe_hits_total 1$/m)
  expect(await back.request('order.confirm', { id: 'A1003' })).toMatchObject({ ok: false, error: { code: 'already_confirmed' } })
})

it('keeps orders announced by POST /admin/push across SIGKILL', async () => {
  server = await spawnServerProcess()
  const order = { id: 'durable-1', title: '机动车过户登记', amount: '88.80', kind: 'jdc', status: 'new', createdAt: Date.now() }
  await server.adminPush('notify', { order })
  await server.kill('SIGKILL')
  await server.restart()
  const client = await open()
  const listed = (await client.request('list')).result as { list: Array<{ id: string }> }
  expect(listed.list[0]).toEqual(order)
})

it('shuts down on SIGTERM: every socket closed with 1001, exit code 0, the database flushed', async () => {
  server = await spawnServerProcess()
  const client = await open()
  const closed = client.closed(10_000)
  await server.kill('SIGTERM')
  expect((await closed).code).toBe(1001)
  expect(server.lastExit()).toEqual({ code: 0, signal: null })
  expect(server.output()).toMatch(/SIGTERM: shutting down[\s\S]*closed/)
  // After a clean close SQLite folds the WAL back into the database file.
  expect(fs.existsSync(`${server.dataDir}/reference-server.sqlite-wal`)).toBe(false)
})

it('refuses to start in production without SOCKET_TOKEN and ADMIN_TOKEN (exit 1, nothing listening)', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PORT: '0', DATA_DIR: ':memory:' }
  delete env.SOCKET_TOKEN
  delete env.ADMIN_TOKEN
  const child = spawn(path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), ['server/main.ts'], {
    cwd: path.join(__dirname, '..', '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  expect(code).toBe(1)
  expect(output).toContain('SOCKET_TOKEN must be set when NODE_ENV=production')
})
