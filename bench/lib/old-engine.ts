/**
 * The engine as it was before Engine 2 (issue 12): src/socket/engine.ts at commit
 * OLD_ENGINE_COMMIT, read from git history (no worktree; the bundle is written to a temp dir,
 * loaded and removed) and bundled with esbuild, zustand included from this repo's node_modules.
 * Works on any clone with that commit in its history; a shallow clone gets a clear error.
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { Plugin } from 'esbuild'
import type { SocketPlatform } from '../../packages/client/src/core/platform'
import { requireBundle } from './require-bundle'
import { BenchError } from './wait'

/** The last commit before the Engine 2 rewrite: "today" in issue 12's storage goal. */
export const OLD_ENGINE_COMMIT = '0339d21'

const ROOT = path.resolve(__dirname, '../..')
const ENTRY = 'src/socket/engine.ts'
const NAMESPACE = 'old-engine'

/** What the benchmarks use of the old engine's API (its state had the counters inside). */
export interface OldSocketEngine {
  readonly store: {
    getState(): OldSocketState
    subscribe(listener: (state: OldSocketState, previous: OldSocketState) => void): () => void
  }
  connect(): void
  request<T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }): Promise<T>
  on(event: 'push', listener: (push: { seq: number; topic: string; data?: unknown }) => void): () => void
  destroy(): void
}

export interface OldSocketState {
  status: string
  counters: { connectAttempts: number; pushesDelivered: number }
}

export interface OldEngineModule {
  createSocketEngine(platform: SocketPlatform, options: { url: string; token?: string; storageKeyPrefix?: string }): OldSocketEngine
}

let loaded: Promise<OldEngineModule> | null = null

/** The old engine's module, bundled on first use. */
export function loadOldEngine(): Promise<OldEngineModule> {
  loaded ??= bundleOldEngine()
  return loaded
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] })
}

async function bundleOldEngine(): Promise<OldEngineModule> {
  let commit: string
  try {
    commit = git(['rev-parse', '--verify', `${OLD_ENGINE_COMMIT}^{commit}`]).trim()
  } catch {
    throw new BenchError('missing_dependency', `commit ${OLD_ENGINE_COMMIT} (the old engine) is not in this clone's history: fetch it (git fetch --unshallow)`)
  }
  const files = new Set(git(['ls-tree', '-r', '--name-only', commit, 'src/socket']).split('\n').filter((line) => line !== ''))
  return requireBundle<OldEngineModule>(`${NAMESPACE}:${ENTRY}`, `engine-${commit.slice(0, 12)}`, [fromCommit(commit, files)])
}

/** Resolves the old engine's relative imports to files of `commit`, read with git show; packages come from node_modules. */
function fromCommit(commit: string, files: ReadonlySet<string>): Plugin {
  const find = (base: string): string | undefined => [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((candidate) => files.has(candidate))
  return {
    name: 'old-engine-from-git',
    setup(setup) {
      setup.onResolve({ filter: new RegExp(`^${NAMESPACE}:`) }, (args) => ({ path: args.path.slice(NAMESPACE.length + 1), namespace: NAMESPACE }))
      setup.onResolve({ filter: /^\.\.?\//, namespace: NAMESPACE }, (args) => {
        const found = find(path.posix.normalize(path.posix.join(path.posix.dirname(args.importer), args.path)))
        if (!found) return { errors: [{ text: `${args.path} (from ${args.importer}) is not in ${commit}` }] }
        return { path: found, namespace: NAMESPACE }
      })
      setup.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: git(['show', `${commit}:${args.path}`]),
        loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts',
        // Packages (zustand) resolve from this repo's node_modules.
        resolveDir: ROOT,
      }))
    },
  }
}
