/**
 * `npm run bench:profile`: where the client's CPU goes per round trip. One engine (ours bundled
 * by esbuild as an app ships it; `--sources` through tsx as `npm run bench` loads it; `--old`
 * the old engine of 0339d21, bundled from git history) makes pipelined echo requests (a window of 100, 64-byte
 * payloads) to the reference server in a child process for `--ms` (default 5000) under the V8
 * sampling profiler, then prints self time by source file and the top functions (`--top`, default 20). For issue
 * notes and for finding what to cut; figures for comparisons come from `npm run bench`.
 */
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import { createSocketEngine } from '../packages/client/src/core/engine'
import type { SocketPlatform } from '../packages/client/src/core/platform'
import { createWsPlatform } from '../test/helpers/ws-platform'
import { parseFlags } from './lib/args'
import { loadOldEngine } from './lib/old-engine'
import { startPeerHost } from './lib/peer-host'
import { requireBundle } from './lib/require-bundle'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

/** What the profile uses of either engine. */
interface ProfiledModule {
  createSocketEngine(platform: SocketPlatform, options: { url: string; token: string; storageKeyPrefix: string }): {
    connect(): void
    request(method: string, params?: unknown): Promise<unknown>
    destroy(): void
  }
}

const TOKEN = 'bench-token'
const WINDOW = 100
const PAYLOAD = { text: 'x'.repeat(48) }

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['old', 'sources', 'ms', 'top'])
  const old = flags.has('old')
  // --sources: ours as `npm run bench` loads it, through tsx (whose keepNames wraps functions).
  const sources = flags.has('sources')
  const durationMs = flags.number('ms', 5000)
  const host = await startPeerHost({ token: TOKEN, heartbeatMs: 20_000 })
  try {
    const platform = createWsPlatform({ recordFrames: false })
    const options = { url: `ws://127.0.0.1:${host.referencePort}/ws`, token: TOKEN, storageKeyPrefix: 'profile:' }
    const module: ProfiledModule = old ? await loadOldEngine() : sources ? { createSocketEngine } : await bundleOurs()
    const engine = module.createSocketEngine(platform, options)
    engine.connect()
    await engine.request('echo', PAYLOAD)
    // Warm-up, unmeasured.
    await pump((payload) => engine.request('echo', payload), 1000)
    const session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
    const cpuBefore = process.cpuUsage()
    const trips = await pump((payload) => engine.request('echo', payload), durationMs)
    const cpu = process.cpuUsage(cpuBefore)
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } }
    session.disconnect()
    engine.destroy()
    platform.dispose()
    report(old ? 'old engine (0339d21)' : sources ? 'ours (sources through tsx)' : 'ours (bundled)', trips, (cpu.user + cpu.system) / trips, profile.nodes, flags.number('top', 20))
  } finally {
    await host.stop()
  }
}

/** Ours bundled by esbuild as an app's build would (not through tsx, whose keepNames adds calls), like the old engine. */
async function bundleOurs(): Promise<ProfiledModule> {
  return requireBundle<ProfiledModule>(path.resolve(__dirname, '../packages/client/src/index.ts'), 'engine')
}

async function pump(request: (payload: unknown) => Promise<unknown>, durationMs: number): Promise<number> {
  const until = Date.now() + durationMs
  let trips = 0
  const lane = async (): Promise<void> => {
    while (Date.now() < until) {
      await request(PAYLOAD)
      trips += 1
    }
  }
  await Promise.all(Array.from({ length: WINDOW }, lane))
  return trips
}

function report(name: string, trips: number, cpuMicrosPerTrip: number, nodes: ProfileNode[], topFunctions = 20): void {
  const total = nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0)
  const byFile = new Map<string, number>()
  const byFunction = new Map<string, number>()
  for (const node of nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    const file = shortFile(node.callFrame.url)
    byFile.set(file, (byFile.get(file) ?? 0) + hits)
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${file}:${node.callFrame.lineNumber + 1}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits)
  }
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
  const share = (hits: number) => `${((hits / total) * 100).toFixed(1)}%`.padStart(6)
  console.log(`${name}: ${trips} round trips, client CPU ${cpuMicrosPerTrip.toFixed(1)} µs per trip`)
  console.log('self time by file:')
  for (const [file, hits] of top(byFile, 15)) console.log(`  ${share(hits)}  ${file}`)
  console.log('self time by function:')
  for (const [fn, hits] of top(byFunction, topFunctions)) console.log(`  ${share(hits)}  ${fn}`)
}

function shortFile(url: string): string {
  if (url === '') return '(native / idle / gc)'
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('node_modules/')
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length).split('/').slice(0, path.includes('/@') ? 2 : 1).join('/') + ' (package)'
  const repo = path.indexOf('/packages/client/')
  if (repo >= 0) return path.slice(repo + 1)
  return path.replace(/^.*\/(bench|test|server)\//, '$1/')
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
