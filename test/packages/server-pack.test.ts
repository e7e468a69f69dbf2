// The server package as npm publishes it: `npm pack`, unpacked into a fresh node_modules beside
// its dependencies, loaded by Node through its exports map, serving a real client on a durable
// SQLite file; and its declarations compiled by a consumer's strict tsc.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const ROOT = path.resolve(__dirname, '../..')
const PACKAGE = path.join(ROOT, 'packages/server')
const DEPENDENCIES = ['better-sqlite3', 'ioredis', 'jose', 'prom-client', 'ws', '@types/ws', '@types/better-sqlite3', '@types/node']

let dir: string
let tarball: string

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'server-pack-'))
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as Array<{ filename: string }>
  tarball = path.join(dir, packed[0].filename)
  const modules = path.join(dir, 'node_modules')
  fs.mkdirSync(path.join(modules, 'reliable-socket-server'), { recursive: true })
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', path.join(modules, 'reliable-socket-server'), '--strip-components=1'])
  // What `npm install reliable-socket-server` brings, from this repository's install.
  for (const name of DEPENDENCIES) fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name))
}, 120_000)

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

test('the tarball holds the built module, its declarations and the docs, and no sources', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((file) => file.replace(/^package\//, ''))
  expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'package.json', 'README.md', 'CHANGELOG.md']))
  expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([])
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/reliable-socket-server/package.json'), 'utf8')) as { dependencies: Record<string, string> }
  expect(Object.keys(manifest.dependencies).sort()).toEqual(DEPENDENCIES.filter((name) => name !== '@types/node').sort())
})

test('Node runs a server from the package on an SQLite file, answers once per id, and keeps the answer across a restart', async () => {
  const script = path.join(dir, 'serve.mjs')
  fs.writeFileSync(script, `
import WebSocket from 'ws'
import { createSocketServer, CodedError } from 'reliable-socket-server'

let runs = 0
const methods = {
  bump: () => { runs += 1; return runs },
  fail: () => { throw new CodedError('nope', 'refused on purpose') },
}
const dataDir = process.argv[2]

async function session(server, frames) {
  const ws = new WebSocket(server.wsUrl)
  const got = []
  await new Promise((resolve) => ws.once('open', resolve))
  const done = new Promise((resolve) => ws.on('message', (data) => { got.push(JSON.parse(String(data))); if (got.length === frames.length + 1) resolve() }))
  ws.send(JSON.stringify({ type: 'hello', v: 1, token: 'dev-token' }))
  for (const frame of frames) ws.send(JSON.stringify(frame))
  await done
  // What came in answer; the shutting_down notice of close() comes later.
  const answered = got.slice(0, frames.length + 1)
  ws.close()
  return answered
}

const first = await createSocketServer({ port: 0, dataDir, methods })
const one = await session(first, [{ type: 'req', id: 'b1', method: 'bump' }, { type: 'req', id: 'f1', method: 'fail' }])
await first.close()
const second = await createSocketServer({ port: 0, dataDir, methods })
const two = await session(second, [{ type: 'req', id: 'b1', method: 'bump' }])
await second.close()
console.log(JSON.stringify({ one: one.map((f) => f.type === 'res' ? [f.id, f.ok, f.result ?? f.error.code] : f.type), two: two.map((f) => f.type === 'res' ? [f.id, f.ok, f.result] : f.type), runs }))
`)
  const { stdout } = await promisify(execFile)(process.execPath, [script, path.join(dir, 'data')], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  expect(JSON.parse(stdout)).toEqual({ one: ['welcome', ['b1', true, 1], ['f1', false, 'nope']], two: ['welcome', ['b1', true, 1]], runs: 1 })
}, 60_000)

test("a consumer's strict tsc compiles against the declarations", () => {
  fs.writeFileSync(path.join(dir, 'consumer.ts'), `
import http from 'node:http'
import { createSocketServer, jwtAuth, type MethodEntry } from 'reliable-socket-server'

const methods: Record<string, MethodEntry> = {
  list: { safe: true, run: async (_params, context) => (await context.records.page('items', { limit: 10 }))?.records ?? [] },
  add: (params, context) => {
    context.change({ collection: 'items', id: String(params), doc: JSON.stringify({ params }), rank: context.nowMs })
    return 'added'
  },
}
export const started = createSocketServer({ server: http.createServer(), authenticate: jwtAuth('secret'), methods, redisUrl: 'redis://127.0.0.1:6379' })
`)
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], skipLibCheck: false },
    files: ['consumer.ts'],
  }))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' })
  expect(result.stdout + result.stderr).toBe('')
  expect(result.status).toBe(0)
}, 60_000)
