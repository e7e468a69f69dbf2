import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

const PROJECT_ROOT = path.resolve(__dirname, '../../..')
const TARO_BIN = path.join(PROJECT_ROOT, 'node_modules/.bin/taro')
const OUTPUT_TAIL_CHARS = 6000

/** An H5 build of the app, pointed at one socket URL. */
export interface H5Build {
  /** The built site (index.html, js/, css/). */
  dir: string
  wsPort: number
  token: string
  protocol: 'v1' | 'plain'
  /** How long `taro build` took, or 0 for a reused build. */
  builtMs: number
}

/** The plain-mode build's keepalive (TARO_APP_WS_KEEPALIVE_MS): short, so a test can watch it work. */
export const PLAIN_KEEPALIVE_MS = 1000

/**
 * Builds the H5 app into `<workDir>/h5` (`h5-plain` for plain mode) with
 * `TARO_APP_WS_URL=ws://127.0.0.1:<wsPort>/ws` (plain mode: no path, like the original backend)
 * and the given token, and records the settings in `<workDir>/build[-plain].json` so that
 * `readBuild` can reuse it. Rejects with code `E2E_BUILD_FAILED` (and the build's output) when
 * the build fails.
 */
export async function buildH5(options: { workDir: string; wsPort: number; token: string; protocol?: 'v1' | 'plain' }): Promise<H5Build> {
  const protocol = options.protocol ?? 'v1'
  const dir = path.join(options.workDir, protocol === 'plain' ? 'h5-plain' : 'h5')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Jest sets NODE_ENV=test; this is the production build `npm run build:h5` makes.
    NODE_ENV: 'production',
    TARO_APP_WS_URL: protocol === 'plain' ? `ws://127.0.0.1:${options.wsPort}` : `ws://127.0.0.1:${options.wsPort}/ws`,
    TARO_APP_WS_TOKEN: options.token,
    TARO_APP_WS_PROTOCOL: protocol,
    TARO_APP_WS_KEEPALIVE_MS: protocol === 'plain' ? String(PLAIN_KEEPALIVE_MS) : '',
    TARO_OUTPUT_ROOT: dir,
  }
  const startedAt = Date.now()
  await run(TARO_BIN, ['build', '--type', 'h5'], env)
  const builtMs = Date.now() - startedAt
  if (!existsSync(path.join(dir, 'index.html'))) {
    throw Object.assign(new Error(`taro build wrote no index.html into ${dir}`), { code: 'E2E_BUILD_FAILED' })
  }
  const build: H5Build = { dir, wsPort: options.wsPort, token: options.token, protocol, builtMs }
  await writeFile(path.join(options.workDir, buildFile(protocol)), JSON.stringify(build, null, 2))
  return build
}

/** A build written earlier by `buildH5` into `workDir`, for quick re-runs (`E2E_REUSE_BUILD`). */
export async function readBuild(workDir: string, protocol: 'v1' | 'plain' = 'v1'): Promise<H5Build> {
  const build = JSON.parse(await readFile(path.join(workDir, buildFile(protocol)), 'utf8')) as H5Build
  return { ...build, builtMs: 0 }
}

function buildFile(protocol: 'v1' | 'plain'): string {
  return protocol === 'plain' ? 'build-plain.json' : 'build.json'
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve()
        return
      }
      const reason = signal ? `signal ${signal}` : `exit code ${code}`
      reject(Object.assign(new Error(`taro build --type h5 failed (${reason}):\n${output}`), { code: 'E2E_BUILD_FAILED' }))
    })
  })
}
