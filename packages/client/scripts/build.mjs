// Builds dist/: one ES module per entry point (shared code in chunks, so an app that imports two
// entries carries the engine once), ES2017 for the mini-program hosts' JS engines; then the type
// declarations with tsc.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildDeclarations } from '../../../scripts/package-declarations.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
fs.rmSync(dist, { recursive: true, force: true })

// Two copies of the same modules. `.js` for bundlers: the package is not "type": "module", so
// webpack treats them as javascript/auto and also follows the require() calls that Taro's babel
// makes of their imports (in a "type": "module" package it leaves those to run time, where they
// fail). `.mjs` for Node (the "node" condition), which reads .js here as CommonJS.
for (const extension of ['.js', '.mjs']) {
  await build({
    absWorkingDir: root,
    entryPoints: { index: 'src/index.ts', 'plain/index': 'src/plain/index.ts', 'taro/index': 'src/taro/index.ts', 'react/index': 'src/react/index.ts' },
    outdir: 'dist',
    outExtension: { '.js': extension },
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'neutral',
    target: 'es2017',
    external: ['@tarojs/taro', 'react', 'zustand', 'zustand/*'],
    logLevel: 'warning',
  })
}

buildDeclarations(root)
