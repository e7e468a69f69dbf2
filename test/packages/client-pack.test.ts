// The client package as npm publishes it: `npm pack`, unpacked into a fresh node_modules, then
// loaded by Node through its exports map (ES modules, no sources, no bundler) and talking to the
// real reference server; and its type declarations compiled by a consumer's strict tsc.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { startReferenceServer, type ReferenceServer } from '../../server/app'

const ROOT = path.resolve(__dirname, '../..')
const PACKAGE = path.join(ROOT, 'packages/client')

let dir: string
let tarball: string
let server: ReferenceServer

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-pack-'))
  // prepack builds dist/ (esbuild for the modules, tsc for the declarations).
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as Array<{ filename: string; files: Array<{ path: string }> }>
  tarball = path.join(dir, packed[0].filename)
  const modules = path.join(dir, 'node_modules')
  fs.mkdirSync(path.join(modules, 'taro-reliable-socket'), { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', path.join(modules, 'taro-reliable-socket'), '--strip-components=1'])
  // The peers and the consumer's own WebSocket library, as the consumer's install would bring them.
  for (const name of ['zustand', 'ws']) fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name))
  server = await startReferenceServer({ port: 0, dataDir: null })
}, 120_000)

afterAll(async () => {
  await server?.close()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

test('the tarball holds the built modules, their declarations and the docs, and no sources', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((file) => file.replace(/^package\//, ''))
  for (const entry of ['index', 'taro/index', 'react/index', 'plain/index']) {
    expect(files).toContain(`dist/${entry}.js`)
    expect(files).toContain(`dist/${entry}.mjs`)
    expect(files).toContain(`dist/${entry}.d.ts`)
  }
  expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md']))
  expect(files.filter((file) => file.startsWith('src/') || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([])
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/taro-reliable-socket/package.json'), 'utf8')) as Record<string, unknown>
  expect(manifest.sideEffects).toBe(false)
  expect(Object.keys(manifest.peerDependencies as object).sort()).toEqual(['@tarojs/taro', 'react', 'zustand'])
  expect(manifest.dependencies).toBeUndefined()
})

test('Node loads the engine and plain mode by their package names, and the engine answers over a real socket', async () => {
  const script = path.join(dir, 'check.mjs')
  fs.writeFileSync(script, `
import WebSocket from 'ws'
import { createSocketEngine, SocketError } from 'taro-reliable-socket'
import { createPlainEngine } from 'taro-reliable-socket/plain'

const storage = new Map()
const platform = {
  async connectSocket({ url }) {
    const ws = new WebSocket(url)
    ws.on('error', () => {})
    return {
      get readyState() { return ws.readyState },
      send({ data, success, fail }) { ws.send(data, (error) => (error ? fail?.({ errMsg: error.message }) : success?.())) },
      close({ code, reason }) { ws.close(code, reason) },
      onOpen(listener) { ws.on('open', listener) },
      onClose(listener) { ws.on('close', (code, reason) => listener({ code, reason: String(reason) })) },
      onError(listener) { ws.on('error', (error) => listener({ errMsg: error.message })) },
      onMessage(listener) { ws.on('message', (data) => listener({ data: String(data) })) },
    }
  },
  getStorage: (key) => storage.get(key) ?? null,
  setStorage: (key, value) => void storage.set(key, value),
  removeStorage: (key) => void storage.delete(key),
  getNetworkConnected: async () => true,
  onNetworkChange: () => () => {},
}

const engine = createSocketEngine(platform, { url: process.env.WS_URL, token: 'dev-token' })
engine.connect()
const echoed = await engine.request('echo', { packed: true })
let refused = null
try { engine.send('') } catch (error) { refused = error instanceof SocketError ? error.code : String(error) }
const deep = await import('taro-reliable-socket/dist/core/engine.js').then(() => 'loaded', (error) => error.code)
console.log(JSON.stringify({ echoed, status: engine.store.getState().status, refused, plain: typeof createPlainEngine, deep }))
engine.destroy()
`)
  // Asynchronously: the server answering it runs in this process.
  const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: dir, encoding: 'utf8', env: { ...process.env, WS_URL: server.wsUrl }, timeout: 30_000 })
  expect(JSON.parse(stdout)).toEqual({ echoed: { packed: true }, status: 'open', refused: 'invalid_argument', plain: 'function', deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
}, 60_000)

test("a consumer's strict tsc compiles against the declarations and types calls by the declared API", () => {
  fs.writeFileSync(path.join(dir, 'consumer.ts'), `
import { createSocketEngine, type SocketApi, type SocketPlatform } from 'taro-reliable-socket'
import { createPlainEngine } from 'taro-reliable-socket/plain'
import { createSocketHooks, useSocketLifecycle } from 'taro-reliable-socket/react'
import { createTaroSocket } from 'taro-reliable-socket/taro'

interface Api extends SocketApi {
  methods: { add: { params: [number, number]; result: number } }
  topics: { tick: { n: number } }
}
declare const platform: SocketPlatform
const engine = createSocketEngine<Api>(platform, { url: 'ws://127.0.0.1:1/ws' })
export const sum: Promise<number> = engine.request('add', [1, 2])
engine.subscribe('tick', (data) => void data.n.toFixed())
// @ts-expect-error params are checked against the declaration
void engine.request('add', ['1', 2])
export const hooks = createSocketHooks(createTaroSocket<Api>({ url: 'ws://127.0.0.1:1/ws' }))
export const plain = createPlainEngine(platform, { url: 'ws://127.0.0.1:1/ws' })
export const lifecycle = useSocketLifecycle
`)
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler', lib: ['es2020', 'dom'], types: [], skipLibCheck: false },
    files: ['consumer.ts'],
  }))
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })
  expect(result.stdout + result.stderr).toBe('')
  expect(result.status).toBe(0)
}, 60_000)
