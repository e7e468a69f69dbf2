// Builds dist/: one ES module per entry point (shared code in chunks, so an app that imports two
// entries carries the engine once), ES2017 for the mini-program hosts' JS engines, which Taro does
// not transpile in node_modules; then the type declarations with tsc.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
fs.rmSync(dist, { recursive: true, force: true })

await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/index.ts', 'plain/index': 'src/plain/index.ts', 'taro/index': 'src/taro/index.ts', 'react/index': 'src/react/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'neutral',
  target: 'es2017',
  external: ['@tarojs/taro', 'react', 'zustand', 'zustand/*'],
  logLevel: 'warning',
})

const tsc = path.join(root, 'node_modules/.bin/tsc')
const tscBin = fs.existsSync(tsc) ? tsc : path.resolve(root, '../../node_modules/.bin/tsc')
execFileSync(tscBin, ['-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
