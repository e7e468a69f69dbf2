// The client package's README cannot drift from the code: its examples are the files the
// typecheck compiles, and its API section names every export of every entry point.
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const PACKAGE = path.resolve(__dirname, '../../packages/client')
const README = fs.readFileSync(path.join(PACKAGE, 'README.md'), 'utf8')
const ENTRIES = ['src/index.ts', 'src/taro/index.ts', 'src/react/index.ts', 'src/plain/index.ts']

test('every example block is the example file it names, byte for byte', () => {
  const blocks = [...README.matchAll(/<!-- example: (\S+) -->\n```tsx?\n([\s\S]*?)```/g)]
  expect(blocks.length).toBeGreaterThanOrEqual(4)
  for (const [, file, code] of blocks) {
    expect({ file, code }).toEqual({ file, code: fs.readFileSync(path.join(PACKAGE, file), 'utf8') })
  }
  // Every example file is shown.
  const shown = new Set(blocks.map(([, file]) => file))
  const files = listFiles(path.join(PACKAGE, 'examples')).map((file) => path.relative(PACKAGE, file))
  expect(files.filter((file) => !shown.has(file))).toEqual([])
})

test('the API section names every export of every entry point', () => {
  const api = README.slice(README.indexOf('## API'), README.indexOf('## What it guarantees'))
  expect(api.length).toBeGreaterThan(1000)
  const program = ts.createProgram(ENTRIES.map((entry) => path.join(PACKAGE, entry)), { strict: true, skipLibCheck: true, jsx: ts.JsxEmit.ReactJSX })
  const checker = program.getTypeChecker()
  const missing: string[] = []
  let exported = 0
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(path.join(PACKAGE, entry))
    const symbol = source && checker.getSymbolAtLocation(source)
    if (!symbol) throw new Error(`${entry}: no module symbol`)
    for (const name of checker.getExportsOfModule(symbol).map((item) => item.name)) {
      exported += 1
      if (!new RegExp(`\\b${name}\\b`).test(api)) missing.push(`${entry}: ${name}`)
    }
  }
  expect(exported).toBeGreaterThan(30)
  expect(missing).toEqual([])
})

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const full = path.join(dir, item.name)
    return item.isDirectory() ? listFiles(full) : [full]
  })
}
