import fs from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'

/**
 * A CommonJS `require` over the files of a compiled mini-program, evaluated inside one
 * `vm` context, as WeChat's base library evaluates them in its JS engine.
 */
export class ModuleLoader {
  private readonly cache = new Map<string, { exports: unknown }>()

  constructor(private readonly distDir: string, private readonly context: vm.Context) {}

  /** Loads `file` (relative to the dist folder, `.js` optional) once; returns its exports. */
  require(file: string, fromDir = this.distDir): unknown {
    const resolved = this.resolve(file, fromDir)
    const cached = this.cache.get(resolved)
    if (cached) return cached.exports
    const module = { exports: {} as unknown }
    this.cache.set(resolved, module)
    const source = fs.readFileSync(resolved, 'utf8')
    const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`
    const script = new vm.Script(wrapper, { filename: resolved })
    const run = script.runInContext(this.context) as (...args: unknown[]) => void
    const dir = path.dirname(resolved)
    const localRequire = (request: string) => this.require(request, dir)
    run.call(module.exports, module.exports, localRequire, module, resolved, dir)
    return module.exports
  }

  /** Files loaded so far, relative to the dist folder. */
  get loaded(): string[] {
    return [...this.cache.keys()].map((file) => path.relative(this.distDir, file))
  }

  private resolve(file: string, fromDir: string): string {
    const base = file.startsWith('.') ? path.resolve(fromDir, file) : path.resolve(this.distDir, file)
    const candidates = [base, `${base}.js`, path.join(base, 'index.js')]
    const found = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile())
    if (!found) throw Object.assign(new Error(`module "${file}" not found from ${path.relative(this.distDir, fromDir) || '.'}`), { code: 'module_not_found' })
    if (!found.startsWith(path.resolve(this.distDir))) {
      throw Object.assign(new Error(`module "${file}" is outside the dist folder`), { code: 'module_not_found' })
    }
    return found
  }
}
