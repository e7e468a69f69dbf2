import fs from 'node:fs'
import path from 'node:path'

/** Where the app suite on `host` writes what it measured (git-ignored). */
export function summaryFile(host: string): string {
  return path.join(__dirname, '..', 'out', `${host}-summary.json`)
}

/** Figures measured during one run, printed and written to summaryFile(host) at the end. */
export class RunSummary {
  private readonly figures: Record<string, number | string> = {}

  constructor(private readonly host = 'weapp') {}

  record(name: string, value: number | string): void {
    this.figures[name] = value
  }

  /** Prints the figures and writes them as JSON; returns the file written. */
  write(): string {
    const lines = Object.entries(this.figures).map(([name, value]) => `  ${name}: ${value}`)
    console.log(`[${this.host}] measured:\n${lines.join('\n')}`)
    const file = summaryFile(this.host)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, `${JSON.stringify({ measuredAt: new Date().toISOString(), host: this.host, ...this.figures }, null, 2)}\n`)
    return file
  }
}
