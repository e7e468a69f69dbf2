import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { build, type Plugin } from 'esbuild'

/**
 * Bundles `entry` with esbuild into one CommonJS module for Node (as an app's build would: no
 * tsx transform around it) and loads it. `plugins` resolve what the file system does not hold
 * (the old engine's files come from git history).
 */
export async function requireBundle<T>(entry: string, name: string, plugins: Plugin[] = []): Promise<T> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'cjs', platform: 'node', target: 'es2020', write: false, logLevel: 'silent', plugins })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bundle-'))
  const file = path.join(dir, `${name}.cjs`)
  try {
    fs.writeFileSync(file, result.outputFiles[0].contents)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as T
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
