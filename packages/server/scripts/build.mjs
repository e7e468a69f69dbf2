// Builds dist/: one ES module for Node 20 (the dependencies stay imports, so better-sqlite3's
// native binding and ioredis are the user's installed ones), then the declarations with tsc.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildDeclarations } from '../../../scripts/package-declarations.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true })

await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
})

buildDeclarations(root)
