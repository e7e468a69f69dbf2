/**
 * The child processes of `npm run bench:server`: servers under test (bench/server-target.ts) and
 * client load (bench/server-load.ts), each forked with an IPC channel and driven by messages
 * (bench/server-ipc.ts). Every child is killed when the bench process exits, however it ends.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import type { LoadCommand, LoadReply, ServerKind, TargetCommand, TargetReply } from '../server-ipc'

/** Generous: a full-size step on a loaded 2-core machine takes tens of seconds. */
const STEP_TIMEOUT_MS = 120_000
const BENCH_DIR = path.join(__dirname, '..')

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

export function start(file: string, args: string[], execArgv: string[]): ChildProcess {
  const child = fork(path.join(BENCH_DIR, file), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Sends `command` (when not null) and resolves with the child's next message of type `type`. */
export function ask<R extends { type: string }>(child: ChildProcess, command: unknown, type: R['type']): Promise<R> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no "${type}" within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS)
    const onMessage = (message: R): void => {
      if (message.type !== type) return
      cleanup()
      resolve(message)
    }
    const onExit = (code: number | null): void => fail(new Error(`child exited (${code}) while waiting for "${type}"`))
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const fail = (error: Error): void => {
      cleanup()
      reject(error)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    if (command !== null) child.send(command as object)
  })
}

/** Typed at the call site, so a misspelt command fails the type check rather than the run. */
export function loadCommand(command: LoadCommand): LoadCommand {
  return command
}

/** A server of `kind` in its own process; `args` follow the kind (the cluster's Redis URL and prefix). */
export async function startTarget(kind: ServerKind, args: string[] = []): Promise<{ target: ChildProcess; port: number }> {
  // --expose-gc: memory is read after forced GCs, so garbage does not count as cost.
  const target = start('server-target.ts', [kind, ...args], [...process.execArgv, '--expose-gc'])
  const ready = await ask<Extract<TargetReply, { type: 'ready' }>>(target, null, 'ready')
  return { target, port: ready.port }
}

export function startLoad(): ChildProcess {
  return start('server-load.ts', [], process.execArgv)
}

/** CPU time (user + system) the target used so far, in ms. */
export async function cpuMs(target: ChildProcess): Promise<number> {
  return (await ask<Extract<TargetReply, { type: 'cpu' }>>(target, { type: 'cpu' } satisfies TargetCommand, 'cpu')).ms
}

export function memory(target: ChildProcess): Promise<Extract<TargetReply, { type: 'memory' }>> {
  return ask<Extract<TargetReply, { type: 'memory' }>>(target, { type: 'memory' } satisfies TargetCommand, 'memory')
}

export async function stopTarget(target: ChildProcess): Promise<void> {
  await ask(target, { type: 'stop' } satisfies TargetCommand, 'stopped')
}

export type Connected = Extract<LoadReply, { type: 'connected' }>

/** Opens `count` more clients in `load`, spread over `ports` round-robin. */
export function connect(load: ChildProcess, kind: ServerKind, ports: number[], count: number): Promise<Connected> {
  return ask<Connected>(load, loadCommand({ type: 'connect', kind, ports, count }), 'connected')
}

export async function closeClients(load: ChildProcess): Promise<number> {
  return (await ask<Extract<LoadReply, { type: 'closed' }>>(load, loadCommand({ type: 'close' }), 'closed')).errors
}

/**
 * `count` pushes made on `target` to every client of `load`: `writtenMs` until that target has
 * handed its frames to the kernel, `deliveredMs` until every client has every push.
 */
export async function fanout(target: ChildProcess, load: ChildProcess, count: number): Promise<{ writtenMs: number; deliveredMs: number; errors: number }> {
  await ask(load, loadCommand({ type: 'expect-fanout', count }), 'fanout-armed')
  const delivered = ask<Extract<LoadReply, { type: 'fanout-done' }>>(load, null, 'fanout-done')
  const written = ask<Extract<TargetReply, { type: 'fanout-written' }>>(target, { type: 'fanout', count } satisfies TargetCommand, 'fanout-written')
  const started = performance.now()
  const [writtenReply, deliveredReply] = await Promise.all([written, delivered.then((reply) => ({ reply, ms: performance.now() - started }))])
  return { writtenMs: writtenReply.ms, deliveredMs: deliveredReply.ms, errors: deliveredReply.reply.errors }
}
