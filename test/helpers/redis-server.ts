/**
 * A real `redis-server` for tests: on a free loopback port, its files in a fresh temp folder,
 * with AOF fsynced on every write (the setting the exactly-once promise needs). Stop it
 * yourself; it never outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { getFreePort } from './reference-server'

const READY_TIMEOUT_MS = 10_000

export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** SIGTERM (Redis writes what it holds and exits), then start again on the same port and files. */
  restart(): Promise<void>
  /** SIGKILL, then (after `downMs`, default 0) start again on the same port and files: only what AOF holds survives. */
  crash(downMs?: number): Promise<void>
  /** Stops it and removes its files. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Starts redis-server; `extra` are more `--name value` settings. */
export async function startRedis(extra: string[] = []): Promise<RedisProcess> {
  const port = await getFreePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-test-'))
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
    '--protected-mode', 'no', '--daemonize', 'no', '--logfile', '', ...extra,
  ]
  let child = await launch(args, port)
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    child.kill(signal)
    await exited
    running.delete(child)
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      await end('SIGTERM')
      child = await launch(args, port)
    },
    crash: async (downMs = 0) => {
      await end('SIGKILL')
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs))
      child = await launch(args, port)
    },
    stop: async () => {
      await end('SIGTERM')
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (!(await answersPing(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output.slice(-2000)}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not answer on port ${port} within ${READY_TIMEOUT_MS} ms: ${output.slice(-2000)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return child
}

/** True once the server answers PING with PONG (and is done loading its files). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let reply = ''
    socket.setTimeout(500)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) {
        socket.destroy()
        resolve(reply.startsWith('+PONG'))
      }
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}
