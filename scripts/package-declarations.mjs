// The packages' type declarations, built by tsc into dist/ (used by each package's build.mjs).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Runs tsc with the package's tsconfig.build.json, then spells out the relative imports tsc
 * keeps extensionless: Node's own resolution (moduleResolution node16/nodenext in a consumer's
 * tsconfig) needs them.
 */
export function buildDeclarations(root) {
  const local = path.join(root, 'node_modules/.bin/tsc')
  const tsc = fs.existsSync(local) ? local : path.resolve(root, '../../node_modules/.bin/tsc')
  execFileSync(tsc, ['-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
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
}

function declarationFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const full = path.join(dir, item.name)
    return item.isDirectory() ? declarationFiles(full) : item.name.endsWith('.d.ts') ? [full] : []
  })
}
