// The packages' READMEs cannot drift from the code: their examples are the files the typecheck
// compiles, and their API sections name every export of every entry point.
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const PACKAGES = path.resolve(__dirname, '../../packages')

describe.each([
  { name: 'client', entries: ['src/index.ts', 'src/taro/index.ts', 'src/react/index.ts', 'src/plain/index.ts'], minExports: 30, minBlocks: 4 },
  { name: 'server', entries: ['src/index.ts'], minExports: 15, minBlocks: 2 },
])('$name', ({ name, entries, minExports, minBlocks }) => {
  const root = path.join(PACKAGES, name)
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')

  test('every example block is the example file it names, byte for byte, and every example is shown', () => {
    const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```tsx?\n([\s\S]*?)```/g)]
    expect(blocks.length).toBeGreaterThanOrEqual(minBlocks)
    for (const [, file, code] of blocks) {
      expect({ file, code }).toEqual({ file, code: fs.readFileSync(path.join(root, file), 'utf8') })
    }
    const shown = new Set(blocks.map(([, file]) => file))
    const files = listFiles(path.join(root, 'examples')).map((file) => path.relative(root, file))
    expect(files.filter((file) => !shown.has(file))).toEqual([])
  })

  test('the API section names every export of every entry point', () => {
    const api = readme.slice(readme.indexOf('## API'), readme.indexOf('## What it guarantees'))
    expect(api.length).toBeGreaterThan(1000)
    const program = ts.createProgram(entries.map((entry) => path.join(root, entry)), { strict: true, skipLibCheck: true, jsx: ts.JsxEmit.ReactJSX })
    const checker = program.getTypeChecker()
    const missing: string[] = []
    let exported = 0
    for (const entry of entries) {
      const source = program.getSourceFile(path.join(root, entry))
      const symbol = source && checker.getSymbolAtLocation(source)
      if (!symbol) throw new Error(`${entry}: no module symbol`)
      for (const item of checker.getExportsOfModule(symbol)) {
        exported += 1
        if (!new RegExp(`\\b${item.name}\\b`).test(api)) missing.push(`${entry}: ${item.name}`)
      }
    }
    expect(exported).toBeGreaterThanOrEqual(minExports)
    expect(missing).toEqual([])
  })
})

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const full = path.join(dir, item.name)
    return item.isDirectory() ? listFiles(full) : [full]
  })
}
