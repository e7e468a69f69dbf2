import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws'
import { SocketPool } from './harness/socket-pool'
import type { WeappSocketTask } from './harness/socket-task'
import { SuspendableTimers } from './harness/timers'
import { waitFor } from './harness/wait'

interface Recorded {
  events: string[]
  messages: string[]
}

/** Attaches listeners in `success`, as an app using Taro's promise does. */
function connect(pool: SocketPool, url: string): { task: WeappSocketTask; seen: Recorded; answered: Promise<string> } {
  const seen: Recorded = { events: [], messages: [] }
  let task: WeappSocketTask | null = null
  const answered = new Promise<string>((resolve) => {
    task = pool.connect({
      url,
      success: () => {
        seen.events.push('success')
        task!.onOpen(() => seen.events.push('open'))
        task!.onMessage(({ data }) => seen.messages.push(String(data)))
        task!.onError(() => seen.events.push('error'))
        task!.onClose(({ code }) => seen.events.push(`close:${code}`))
        resolve('success')
      },
      fail: ({ errMsg }) => {
        seen.events.push(`fail:${errMsg}`)
        resolve(errMsg)
      },
    })
  })
  return { task: task!, seen, answered }
}

describe('WeChat-style SocketTask over ws', () => {
  let server: WebSocketServer
  let url: string
  const serverSockets: ServerSocket[] = []
  const received: string[] = []
  let networkUp = true
  let timers: SuspendableTimers
  let pool: SocketPool

  beforeEach(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`
    server.on('connection', (socket) => {
      serverSockets.push(socket)
      socket.on('message', (data) => {
        received.push(data.toString())
        socket.send(`echo:${data.toString()}`)
      })
    })
    networkUp = true
    timers = new SuspendableTimers({ onError: (error) => { throw error } })
    pool = new SocketPool({ deliver: (work) => timers.runWhenAwake(work), networkConnected: () => networkUp })
  })

  afterEach(async () => {
    pool.cutAll('silent', true)
    timers.dispose()
    for (const socket of serverSockets.splice(0)) socket.terminate()
    received.length = 0
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  test('success comes before any event; send, receive and close answer through callbacks', async () => {
    const { task, seen, answered } = connect(pool, url)
    await answered
    await waitFor('open', () => seen.events.includes('open'))
    expect(seen.events).toEqual(['success', 'open'])
    expect('readyState' in task).toBe(false)
    const sent = await new Promise<string>((resolve) => task.send({ data: 'hi', success: ({ errMsg }) => resolve(errMsg) }))
    expect(sent).toBe('sendSocketMessage:ok')
    await waitFor('echo', () => seen.messages.includes('echo:hi'))
    task.close({ code: 4000, reason: 'heartbeat' })
    await waitFor('close', () => seen.events.includes('close:4000'))
    const afterClose = await new Promise<string>((resolve) => task.send({ data: 'late', fail: ({ errMsg }) => resolve(errMsg) }))
    expect(afterClose).toBe('sendSocketMessage:fail WebSocket is not connected')
    expect(pool.liveTasks).toHaveLength(0)
  })

  test('a refused connection reports onError then onClose(1006)', async () => {
    const closedPort = (server.address() as AddressInfo).port
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const { seen } = connect(pool, `ws://127.0.0.1:${closedPort}/ws`)
    await waitFor('close', () => seen.events.includes('close:1006'))
    expect(seen.events).toEqual(['success', 'error', 'close:1006'])
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
  })

  test('at most 5 tasks at once: the sixth call fails until one is closed', async () => {
    const first = Array.from({ length: 5 }, () => connect(pool, url))
    await Promise.all(first.map((c) => c.answered))
    const sixth = connect(pool, url)
    expect(await sixth.answered).toBe('connectSocket:fail exceed max task count 5')
    await waitFor('five open', () => pool.openTasks.length === 5)
    first[0]!.task.close({})
    await waitFor('one closed', () => first[0]!.seen.events.includes('close:1000'))
    const seventh = connect(pool, url)
    expect(await seventh.answered).toBe('success')
    expect(pool.peakLive).toBe(5)
    expect(pool.connectCount).toBe(7)
    expect(pool.calls.filter((call) => call.failure !== null)).toHaveLength(1)
  })

  test('network down: connect fails at once and never reaches the server', async () => {
    networkUp = false
    const { answered } = connect(pool, url)
    expect(await answered).toBe('connectSocket:fail network is down')
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(serverSockets).toHaveLength(0)
  })

  test('cut error-close: onError then onClose(1006), and the server sees the link drop', async () => {
    const { task, seen, answered } = connect(pool, url)
    await answered
    await waitFor('open', () => task.isOpen && serverSockets.length === 1)
    const serverClosed = once(serverSockets[0]!, 'close')
    pool.cutAll('error-close')
    await serverClosed
    await waitFor('close', () => seen.events.includes('close:1006'))
    expect(seen.events).toEqual(['success', 'open', 'error', 'close:1006'])
  })

  test('cut silent: no event, sends vanish, the task still counts until the app closes it', async () => {
    const { task, seen, answered } = connect(pool, url)
    await answered
    await waitFor('open', () => task.isOpen && serverSockets.length === 1)
    const serverClosed = once(serverSockets[0]!, 'close')
    pool.cutAll('silent')
    await serverClosed
    expect(task.phase).toBe('dead')
    const sent = await new Promise<string>((resolve) => task.send({ data: 'lost', success: ({ errMsg }) => resolve(errMsg) }))
    expect(sent).toBe('sendSocketMessage:ok')
    expect(task.droppedSends).toBe(1)
    expect(received).toEqual([])
    expect(pool.liveTasks).toEqual([task])
    task.close({ code: 1000 })
    await waitFor('close', () => seen.events.includes('close:1000'))
    expect(seen.events).toEqual(['success', 'open', 'close:1000'])
    expect(pool.liveTasks).toEqual([])
  })

  test('events of a frozen app wait for it to resume', async () => {
    const { task, seen, answered } = connect(pool, url)
    await answered
    await waitFor('open', () => task.isOpen && serverSockets.length === 1)
    timers.suspend()
    serverSockets[0]!.send('while frozen')
    await waitFor('the frame to reach the client', () => task.log.some((entry) => entry.event === 'message'))
    pool.cutAll('close')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seen.messages).toEqual([])
    expect(seen.events).toEqual(['success', 'open'])
    timers.resume()
    expect(seen.messages).toEqual(['while frozen'])
    expect(seen.events).toEqual(['success', 'open', 'close:1006'])
  })
})
