import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { MiniHost } from '../harness/host-apis'

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..')
const BUILD_INFO_FILE = 'weapp-build.json'
/** A cold weapp build takes 10–15 s on 2 cores; a busy machine gets some slack. */
export const BUILD_TIMEOUT_MS = 90_000

export interface WeappBuild {
  /** Which host it was built for (`taro build --type <host>`). */
  host: MiniHost
  /** The compiled mini-program (holds app.js, app.json). */
  distDir: string
  /** The port baked into TARO_APP_WS_URL. */
  wsPort: number
  wsUrl: string
  /** TARO_APP_WS_TOKEN of the build (the app's `hello.token`). */
  token: string
  builtMs: number
  /** Sum of the sizes of every file in the dist folder. */
  sizeBytes: number
}

/** A build that failed; `output` holds the end of the compiler's output. */
export class WeappBuildError extends Error {
  readonly code = 'weapp_build_failed'
  constructor(message: string, readonly output: string) {
    super(`${message}\n${output}`)
    this.name = 'WeappBuildError'
  }
}

/**
 * Runs `taro build --type <host>` (weapp unless told) with `TARO_APP_WS_URL=ws://127.0.0.1:<wsPort>/ws` (plain mode:
 * no path, like the original backend, and `keepaliveMs` as TARO_APP_WS_KEEPALIVE_MS) and
 * `TARO_OUTPUT_ROOT=<workDir>/dist`; resolves with where it went and how big it is.
 */
export async function buildWeapp(options: { workDir: string; wsPort: number; token: string; host?: MiniHost; protocol?: 'v1' | 'plain'; keepaliveMs?: number }): Promise<WeappBuild> {
  const protocol = options.protocol ?? 'v1'
  const host = options.host ?? 'weapp'
  const distDir = path.join(options.workDir, 'dist')
  const wsUrl = protocol === 'plain' ? `ws://127.0.0.1:${options.wsPort}` : `ws://127.0.0.1:${options.wsPort}/ws`
  const startedAt = Date.now()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TARO_APP_WS_URL: wsUrl,
    TARO_APP_WS_PROTOCOL: protocol,
    TARO_APP_WS_KEEPALIVE_MS: options.keepaliveMs === undefined ? '' : String(options.keepaliveMs),
    TARO_OUTPUT_ROOT: distDir,
    TARO_APP_WS_TOKEN: options.token,
    // jest runs with NODE_ENV=test; the build must be the production one the host gets.
    NODE_ENV: 'production',
  }
  const output = await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'taro'), ['build', '--type', host], env)
  if (!fs.existsSync(path.join(distDir, 'app.js'))) throw new WeappBuildError(`the ${host} build wrote no app.js`, output)
  const build: WeappBuild = { host, distDir, wsPort: options.wsPort, wsUrl, token: options.token, builtMs: Date.now() - startedAt, sizeBytes: folderSizeBytes(distDir) }
  fs.writeFileSync(path.join(options.workDir, BUILD_INFO_FILE), JSON.stringify(build, null, 2))
  return build
}

/** Reads a build left by `buildWeapp` in `workDir` (to skip rebuilding while iterating). */
export function readWeappBuild(workDir: string): WeappBuild {
  const file = path.join(workDir, BUILD_INFO_FILE)
  if (!fs.existsSync(file)) throw Object.assign(new Error(`${file} not found: not a kept weapp build`), { code: 'weapp_build_missing' })
  return JSON.parse(fs.readFileSync(file, 'utf8')) as WeappBuild
}

/** Bytes of every file under `dir`. */
export function folderSizeBytes(dir: string): number {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    total += entry.isDirectory() ? folderSizeBytes(full) : fs.statSync(full).size
  }
  return total
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const what = args.join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new WeappBuildError(`taro ${what} took over ${BUILD_TIMEOUT_MS} ms`, tail(output)))
    }, BUILD_TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new WeappBuildError(`could not start taro: ${error.message}`, ''))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new WeappBuildError(`taro ${what} exited with ${code}`, tail(output)))
    })
  })
}

function tail(output: string): string {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').split('\n').filter((line) => line.trim() !== '').slice(-40).join('\n')
}
