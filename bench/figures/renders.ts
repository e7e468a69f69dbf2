import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { build, type Plugin } from 'esbuild'
import type { RendersReport } from '../renders/renders-child'
import { BenchError } from '../lib/wait'

export type { RendersReport }

const ROOT = path.resolve(__dirname, '../..')
const OUT_FILE = path.join(ROOT, 'bench/out/renders-child.cjs')
const CHILD_TIMEOUT_MS = 60_000

/**
 * Leaves every package to node_modules at run time, except `@tarojs/taro` (aliased to the stub)
 * and this repository's own packages (bundled from their sources, through tsconfig's paths).
 */
const OWN_PACKAGE = /^(taro-reliable-socket|reliable-socket-server)(\/|$)/
const packagesExternal: Plugin = {
  name: 'packages-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path === '@tarojs/taro' || args.path.startsWith('@/') || OWN_PACKAGE.test(args.path)) return undefined
      return { path: args.path, external: true }
    })
  },
}

/**
 * React renders per push: bundles renders/renders-child.tsx (Taro aliased to a stub), runs it
 * in its own Node process with jsdom and react-dom, and returns its report.
 */
export async function measureRenders(pushes: number): Promise<RendersReport> {
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true })
  await build({
    entryPoints: [path.join(ROOT, 'bench/renders/renders-child.tsx')],
    outfile: OUT_FILE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    jsx: 'automatic',
    alias: { '@tarojs/taro': path.join(ROOT, 'bench/renders/taro-stub.ts') },
    plugins: [packagesExternal],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const output = await runNode(OUT_FILE, [String(pushes)])
  return JSON.parse(output.trim().split('\n').pop() ?? '') as RendersReport
}

function runNode(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // React's production build, as the app ships it.
    const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new BenchError('child_failed', `renders child exited with ${code ?? signal}: ${stderr.slice(-2000)}`))
    })
  })
}
