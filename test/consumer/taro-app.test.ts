/**
 * The packages outside this repository, as a user gets them: both packed with `npm pack`; a
 * fresh Taro app made by Taro's own bundled template (`taro init`, offline); the client
 * package installed from its tarball with zustand, as its README says; the README's quick start
 * files added; built for weapp, H5, Alipay and ByteDance; the three mini-program builds run in
 * the harness on their hosts' APIs against a backend made from the server package's quick start.
 * `open`, a request answered, a push shown.
 *
 * The template names packages this registry does not have at 4.2.1 (@tarojs/plugin-generator,
 * eslint-config-taro, the platform plugins of hosts other than WeChat, H5, Alipay and
 * ByteDance): they are taken out of its package.json and config before `npm install`, with the
 * lint and commit tooling that needs them (this test builds and runs the app; it does not lint
 * it). The Alipay and ByteDance plugins go to 4.2.0 with the `overrides` the client README
 * gives. The quick start's URL is the one line changed: the test server's.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { SocketServer } from 'reliable-socket-server'
import { startShopServer } from '../../packages/server/examples/server'
import { getFreePort } from '../helpers/reference-server'
import { launchWeapp, storageOptionsFor, WeappStorage, type MiniHost, type WeappHarness } from '../weapp/harness'

const ROOT = path.resolve(__dirname, '../..')
const run = promisify(execFile)
const KEEP_PLATFORMS = new Set(['@tarojs/plugin-platform-weapp', '@tarojs/plugin-platform-h5', '@tarojs/plugin-platform-alipay', '@tarojs/plugin-platform-tt'])
/** The Alipay and ByteDance plugins as the client README has a user add them: 4.2.0, held to Taro 4.2.1. */
const HELD_PLATFORMS = ['@tarojs/plugin-platform-alipay', '@tarojs/plugin-platform-tt']
const LINT_TOOLING = /^(eslint|eslint-.*|stylelint|stylelint-.*|husky|lint-staged|@commitlint\/.*)$/

/** A template dependency this registry cannot give, or that only lints. */
function dropped(name: string): boolean {
  if (name === '@tarojs/plugin-generator' || LINT_TOOLING.test(name)) return true
  return name.startsWith('@tarojs/plugin-platform-') && !KEEP_PLATFORMS.has(name)
}

let dir = ''
let appDir = ''
let server: SocketServer | null = null
let harness: WeappHarness | null = null
const timings: Record<string, number> = {}

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now()
  try {
    return await work()
  } finally {
    timings[name] = Date.now() - started
  }
}

async function sh(cwd: string, file: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: 'true' } })
    return stdout
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${file} ${args.join(' ')} failed: ${failed.message}\n${(failed.stdout ?? '').slice(-3000)}\n${(failed.stderr ?? '').slice(-3000)}`)
  }
}

function pack(pkg: string): Promise<string> {
  return sh(path.join(ROOT, 'packages', pkg), 'npm', ['pack', '--json', '--pack-destination', dir], 120_000)
    .then((out) => path.join(dir, (JSON.parse(out) as Array<{ filename: string }>)[0].filename))
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-'))
  const clientTarball = await timed('packMs', () => pack('client'))
  await timed('initMs', () => sh(dir, path.join(ROOT, 'node_modules/.bin/taro'), [
    'init', 'shop', '--description', 'shop', '--template', 'default', '--typescript', '--css', 'None', '--npm', 'Npm',
    '--framework', 'React', '--compiler', 'Webpack5', '--no-build-es5', '--no-autoInstall',
  ], 120_000))
  appDir = path.join(dir, 'shop')

  // What the registry lacks, out of the template's package.json and config.
  const manifestFile = path.join(appDir, 'package.json')
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    scripts: Record<string, string>
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
    overrides?: Record<string, Record<string, string>>
  }
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const name of Object.keys(deps)) {
      if (dropped(name)) delete deps[name]
    }
  }
  const taroVersion = manifest.dependencies['@tarojs/taro']
  manifest.overrides = {}
  for (const name of HELD_PLATFORMS) {
    delete manifest.devDependencies[name]
    manifest.dependencies[name] = '4.2.0'
    manifest.overrides[name] = { '@tarojs/service': taroVersion, '@tarojs/shared': taroVersion }
  }
  delete manifest.scripts.prepare // husky's git hooks: nothing to do with the app
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2))
  const configFile = path.join(appDir, 'config/index.ts')
  fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace(/["']@tarojs\/plugin-generator["'],?/, ''))

  // The client README: `npm install taro-reliable-socket zustand`.
  await timed('installMs', () => sh(appDir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', clientTarball, 'zustand@^5'], 600_000))

  // The quick start's four files, as the README shows them; the URL is this test's server.
  server = await startShopServer(await getFreePort(), null)
  const examples = path.join(ROOT, 'packages/client/examples/src')
  for (const file of ['api.ts', 'socket.ts', 'app.tsx', 'pages/index/index.tsx']) {
    let text = fs.readFileSync(path.join(examples, file), 'utf8')
    if (file === 'socket.ts') text = text.replace("'wss://example.com/ws'", `'${server.wsUrl}'`)
    fs.writeFileSync(path.join(appDir, 'src', file), text)
  }
  fs.rmSync(path.join(appDir, 'src/app.ts'))
}, 900_000)

afterAll(async () => {
  harness?.kill()
  await server?.close()
  console.log(`[consumer] ${JSON.stringify(timings)}`)
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

test('the app builds for weapp and H5 with the package installed from its tarball', async () => {
  // The template builds both into dist/: H5 first, then weapp, which the next test runs.
  const taro = path.join(appDir, 'node_modules/.bin/taro')
  await timed('h5BuildMs', () => sh(appDir, taro, ['build', '--type', 'h5'], 300_000))
  expect(fs.existsSync(path.join(appDir, 'dist/index.html'))).toBe(true)
  await timed('weappBuildMs', () => sh(appDir, taro, ['build', '--type', 'weapp'], 300_000))
  expect(fs.existsSync(path.join(appDir, 'dist/app.js'))).toBe(true)
  // The package came from the tarball, not from this repository.
  const installed = fs.realpathSync(path.join(appDir, 'node_modules/taro-reliable-socket'))
  expect(installed.startsWith(appDir)).toBe(true)
}, 600_000)

/** Runs the mini-program build in dist/ on `host`: `open`, the `list` answer, a push. */
async function opensAnswersAndShowsAPush(host: MiniHost): Promise<void> {
  harness?.kill()
  harness = await launchWeapp({ distDir: path.join(appDir, 'dist'), host, storage: new WeappStorage(storageOptionsFor(host)) })
  const app = harness
  await app.waitFor('open', () => app.page().text().includes('open'), 10_000)
  // `list` answered: the order the quick-start backend pushed before anyone connected.
  await app.waitFor('the list answer', () => app.page().text().includes('First order'), 10_000)
  const title = `Pushed to ${host} while open`
  await server?.push('notify', { order: { id: `o-live-${host}`, title, status: 'new' } })
  await app.waitFor('the push', () => app.page().text().includes(title), 10_000)
  expect(app.errors).toEqual([])
}

test('the weapp build opens, renders the answer to its request and shows a push', async () => {
  await opensAnswersAndShowsAPush('weapp')
}, 600_000)

test.each(['alipay', 'tt'] as const)('the %s build opens, renders the answer to its request and shows a push', async (host) => {
  const taro = path.join(appDir, 'node_modules/.bin/taro')
  await timed(`${host}BuildMs`, () => sh(appDir, taro, ['build', '--type', host], 300_000))
  await opensAnswersAndShowsAPush(host)
}, 600_000)
