import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { build } from 'esbuild'

/** One bundled entry: what it is and its minified and min+gzip bytes. */
export interface SizeRow {
  label: string
  entry: string
  minBytes: number
  gzipBytes: number
}

/** The weapp build on disk (dist/), measured as it is; null when there is none. */
export interface WeappBuildSize {
  files: number
  totalBytes: number
  jsBytes: number
  jsGzipBytes: number
  builtAt: string
}

export interface SizeResult {
  rows: SizeRow[]
  /** The engine bundle's minified bytes by source file, largest first. */
  engineByFile: Array<{ file: string; minBytes: number }>
  weapp: WeappBuildSize | null
}

/** Packages left out of every bundle, as the app's build provides them. */
export const SIZE_EXTERNALS = ['react', 'react-dom', '@tarojs/taro', 'zustand']

const ROOT = path.resolve(__dirname, '../..')

/**
 * What an app imports, by the package's entry points (from their sources, bundled as an app's
 * build would). A v1 app never imports plain mode, so it does not carry it.
 */
const ENTRIES: ReadonlyArray<{ label: string; entry: string; contents: () => string }> = [
  { label: 'ours: v1 engine', entry: 'taro-reliable-socket (createSocketEngine)', contents: () => "export { createSocketEngine } from './packages/client/src/index'" },
  { label: 'ours: plain engine', entry: 'taro-reliable-socket/plain', contents: () => "export { createPlainEngine } from './packages/client/src/plain/index'" },
  { label: 'ours: Taro adapter with the v1 engine', entry: 'taro-reliable-socket/taro', contents: () => "export * from './packages/client/src/taro/index'" },
  { label: 'ours: React hooks (no engine)', entry: 'taro-reliable-socket/react', contents: () => "export * from './packages/client/src/react/index'" },
  {
    label: 'ours: whole layer, v1 (engine, React hooks, Taro adapter)',
    entry: 'what a v1 app imports: /taro, /react and SocketError',
    contents: () => [
      "export { createTaroSocket } from './packages/client/src/taro/index'",
      "export { createSocketHooks, useSocketLifecycle } from './packages/client/src/react/index'",
      "export { SocketError } from './packages/client/src/index'",
    ].join('\n'),
  },
  { label: 'partysocket', entry: 'partysocket', contents: () => "export * from 'partysocket'" },
  { label: 'reconnecting-websocket', entry: 'reconnecting-websocket', contents: () => "export { default } from 'reconnecting-websocket'" },
  { label: 'socket.io-client', entry: 'socket.io-client', contents: () => "export * from 'socket.io-client'" },
]

/**
 * Bundles each entry with esbuild (`--bundle --minify --format=esm`, browser platform,
 * SIZE_EXTERNALS external) and gzips the output with Node's zlib (default level).
 * Also sums the weapp build in dist/ as it is on disk.
 */
export async function measureSizes(): Promise<SizeResult> {
  const rows: SizeRow[] = []
  let engineByFile: SizeResult['engineByFile'] = []
  for (const { label, entry, contents } of ENTRIES) {
    const { bytes, byFile } = await bundle(contents())
    rows.push({ label, entry, minBytes: bytes.length, gzipBytes: zlib.gzipSync(bytes).length })
    if (rows.length === 1) engineByFile = byFile
  }
  return { rows, engineByFile, weapp: measureWeappBuild(path.join(ROOT, 'dist')) }
}

async function bundle(contents: string): Promise<{ bytes: Buffer; byFile: SizeResult['engineByFile'] }> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: 'size-entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    external: SIZE_EXTERNALS,
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', 'process.env.TARO_APP_WS_PROTOCOL': '"v1"', 'process.env.TARO_ENV': '"weapp"' },
  })
  const output = Object.values(result.metafile.outputs)[0]
  const byFile = Object.entries(output?.inputs ?? {})
    .map(([file, input]) => ({ file, minBytes: input.bytesInOutput }))
    .filter((entry) => entry.minBytes > 0)
    .sort((a, b) => b.minBytes - a.minBytes)
  return { bytes: Buffer.from(result.outputFiles[0].contents), byFile }
}

function measureWeappBuild(dir: string): WeappBuildSize | null {
  if (!fs.existsSync(path.join(dir, 'app.json'))) return null
  let files = 0
  let totalBytes = 0
  const js: Buffer[] = []
  let newest = 0
  const walk = (current: string): void => {
    for (const item of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, item.name)
      if (item.isDirectory()) {
        walk(full)
        continue
      }
      const stat = fs.statSync(full)
      files += 1
      totalBytes += stat.size
      newest = Math.max(newest, stat.mtimeMs)
      if (item.name.endsWith('.js')) js.push(fs.readFileSync(full))
    }
  }
  walk(dir)
  const jsAll = Buffer.concat(js)
  return { files, totalBytes, jsBytes: jsAll.length, jsGzipBytes: zlib.gzipSync(jsAll).length, builtAt: new Date(newest).toISOString() }
}
