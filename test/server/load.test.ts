/**
 * A bounded load test on loopback: 500 concurrent clients each doing requests and receiving
 * pushes, with zero errors. Kept to a few seconds.
 */
import WebSocket from 'ws'
import type { ReferenceServer } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'

const CLIENT_COUNT = 500
const REQUESTS_PER_CLIENT = 5
const PUSH_COUNT = 5
const LOAD_DEADLINE_MS = 20_000

interface LoadClient {
  socket: WebSocket
  answered: Set<string>
  pushSeqs: number[]
  errors: string[]
  done: Promise<void>
}

let server: ReferenceServer

beforeAll(async () => {
  server = await startTestServer({ seedOrders: false })
})

afterAll(async () => {
  await server.close()
})

function startClient(index: number): Promise<LoadClient> {
  return new Promise((resolveOpen, rejectOpen) => {
    const socket = new WebSocket(server.wsUrl)
    let finish: () => void = () => undefined
    const client: LoadClient = {
      socket,
      answered: new Set(),
      pushSeqs: [],
      errors: [],
      done: new Promise<void>((resolve) => {
        finish = resolve
      }),
    }
    const check = (): void => {
      if (client.answered.size === REQUESTS_PER_CLIENT && client.pushSeqs.length === PUSH_COUNT) finish()
    }
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>
      if (frame.type === 'welcome') {
        resolveOpen(client)
      } else if (frame.type === 'res') {
        const expected = `${index}:${String(frame.id).split('-')[1]}`
        if (frame.ok !== true || frame.result !== expected) client.errors.push(`bad res ${JSON.stringify(frame)}`)
        client.answered.add(String(frame.id))
      } else if (frame.type === 'push') {
        client.pushSeqs.push(frame.seq as number)
        socket.send(JSON.stringify({ type: 'ack', seq: frame.seq }))
      } else {
        client.errors.push(`unexpected ${JSON.stringify(frame)}`)
      }
      check()
    })
    socket.on('close', (code) => {
      if (code !== 1000) client.errors.push(`closed ${code}`)
      finish()
    })
    socket.on('error', (error) => {
      client.errors.push(`socket error ${error.message}`)
      rejectOpen(error)
    })
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'hello', v: 1, token: 'dev-token' }))
      for (let n = 0; n < REQUESTS_PER_CLIENT; n += 1) {
        socket.send(JSON.stringify({ type: 'req', id: `${index}-${n}`, method: 'echo', params: `${index}:${n}` }))
      }
    })
  })
}

it(`serves ${CLIENT_COUNT} concurrent clients doing requests and receiving pushes with 0 errors`, async () => {
  const started = Date.now()
  const clients = await Promise.all(Array.from({ length: CLIENT_COUNT }, (_unused, index) => startClient(index)))
  for (let n = 0; n < PUSH_COUNT; n += 1) expect(await server.push('load', { n })).toBe(CLIENT_COUNT)

  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`load not done within ${LOAD_DEADLINE_MS} ms`)), LOAD_DEADLINE_MS)
  })
  await Promise.race([Promise.all(clients.map((client) => client.done)), deadline]).finally(() => clearTimeout(timer))
  const elapsedMs = Date.now() - started

  const errors = clients.flatMap((client) => client.errors)
  expect(errors).toEqual([])
  for (const client of clients) {
    expect(client.answered.size).toBe(REQUESTS_PER_CLIENT)
    expect(client.pushSeqs).toEqual([1, 2, 3, 4, 5])
  }
  const closing = clients.map((client) => new Promise((resolve) => client.socket.once('close', resolve)))
  for (const client of clients) client.socket.close(1000)
  await Promise.all(closing)
  expect(elapsedMs).toBeLessThan(LOAD_DEADLINE_MS)
})
