import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { BenchError, withTimeout } from './wait'

/** How the child's servers are set up. */
export interface PeerHostSettings {
  token: string
  /** welcome.hb of the reference server. */
  heartbeatMs: number
}

/** Messages between the bench and its server child. */
export type PeerHostMessage =
  | { type: 'ready'; referencePort: number; socketIoPort: number }
  | { type: 'failed'; message: string }
  | { type: 'push'; topic: string; data?: unknown }
  | { type: 'push-series'; topic: string; count: number; intervalMs: number; bytes: number }
  | { type: 'push-series-done' }
  | { type: 'cpu' }
  | { type: 'cpu-usage'; micros: number }
  | { type: 'stop' }

/** The running server child: ports of the reference server and of the socket.io server. */
export interface PeerHost {
  readonly referencePort: number
  readonly socketIoPort: number
  readonly settings: PeerHostSettings
  /** Asks the reference server to push to every session. */
  push(topic: string, data?: unknown): void
  /**
   * `count` pushes of `topic`, one every `intervalMs` on the server's own clock (the bench
   * process's event loop does not pace them), each `{ n, text }` with `bytes` of text; resolves
   * once the last one is committed.
   */
  pushSeries(topic: string, count: number, intervalMs: number, bytes: number): Promise<void>
  /** CPU time (user + system, µs) the server child has used so far. */
  cpuMicros(): Promise<number>
  /** Stops the servers and waits for the child to exit (killed after 5 s). */
  stop(): Promise<void>
}

const CHILD_ENTRY = path.join(__dirname, 'peer-host-child.ts')
const START_TIMEOUT_MS = 30_000

/** Forks the server child (through tsx) and resolves once both servers listen. */
export async function startPeerHost(settings: PeerHostSettings): Promise<PeerHost> {
  const child = fork(CHILD_ENTRY, [JSON.stringify(settings)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.on('exit', killOnExit)
  const ready = await withTimeout(
    new Promise<Extract<PeerHostMessage, { type: 'ready' }>>((resolve, reject) => {
      child.on('message', (message: PeerHostMessage) => {
        if (message.type === 'ready') resolve(message)
        if (message.type === 'failed') reject(new BenchError('child_failed', `server child failed: ${message.message}`))
      })
      child.once('exit', (code) => reject(new BenchError('child_failed', `server child exited with ${code} before it was ready`)))
    }),
    START_TIMEOUT_MS,
    'server child start',
  )
  return {
    referencePort: ready.referencePort,
    socketIoPort: ready.socketIoPort,
    settings,
    push: (topic, data) => {
      child.send({ type: 'push', topic, data } satisfies PeerHostMessage)
    },
    pushSeries: (topic, count, intervalMs, bytes) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const onMessage = (message: PeerHostMessage): void => {
            if (message.type !== 'push-series-done') return
            child.off('message', onMessage)
            resolve()
          }
          child.on('message', onMessage)
          child.send({ type: 'push-series', topic, count, intervalMs, bytes } satisfies PeerHostMessage)
        }),
        count * intervalMs + 30_000,
        'server child push series',
      ),
    cpuMicros: () =>
      withTimeout(
        new Promise<number>((resolve) => {
          const onMessage = (message: PeerHostMessage): void => {
            if (message.type !== 'cpu-usage') return
            child.off('message', onMessage)
            resolve(message.micros)
          }
          child.on('message', onMessage)
          child.send({ type: 'cpu' } satisfies PeerHostMessage)
        }),
        5000,
        'server child cpu usage',
      ),
    stop: () => stopChild(child, killOnExit),
  }
}

async function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.off('exit', killOnExit)
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.send({ type: 'stop' } satisfies PeerHostMessage)
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
