// Builds dist/: one ES module for Node 20 (the dependencies stay imports, so better-sqlite3's
// native binding and ioredis are the user's installed ones), then the declarations with tsc.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

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

const local = path.join(root, 'node_modules/.bin/tsc')
const tsc = fs.existsSync(local) ? local : path.resolve(root, '../../node_modules/.bin/tsc')
execFileSync(tsc, ['-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' })

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
