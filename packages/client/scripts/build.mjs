// Builds dist/: one ES module per entry point (shared code in chunks, so an app that imports two
// entries carries the engine once), ES2017 for the mini-program hosts' JS engines; then the type
// declarations with tsc.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

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

const tsc = path.join(root, 'node_modules/.bin/tsc')
const tscBin = fs.existsSync(tsc) ? tsc : path.resolve(root, '../../node_modules/.bin/tsc')
execFileSync(tscBin, ['-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' })

// tsc keeps the sources' extensionless relative imports; Node's own resolution (moduleResolution
// node16/nodenext in a consumer's tsconfig) needs them spelled out.
for (const file of declarationFiles(path.join(root, 'dist'))) {
  const text = fs.readFileSync(file, 'utf8')
  const fixed = text.replace(/(from |import\()(['"])(\.\.?\/[^'"]*)\2/g, (whole, lead, quote, spec) => {
    if (/\.(js|mjs|cjs|json)$/.test(spec)) return whole
    const base = path.resolve(path.dirname(file), spec)
    const target = fs.existsSync(`${base}.d.ts`) ? `${spec}.js` : fs.existsSync(path.join(base, 'index.d.ts')) ? `${spec}/index.js` : spec
    return `${lead}${quote}${target}${quote}`
  })
  if (fixed !== text) fs.writeFileSync(file, fixed)
}

function declarationFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const full = path.join(dir, item.name)
    return item.isDirectory() ? declarationFiles(full) : item.name.endsWith('.d.ts') ? [full] : []
  })
}
