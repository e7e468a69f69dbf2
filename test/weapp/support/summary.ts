import fs from 'node:fs'
import path from 'node:path'

/** Where the weapp suite writes what it measured (git-ignored). */
export const SUMMARY_FILE = path.join(__dirname, '..', 'out', 'weapp-summary.json')

/** Figures measured during one run, printed and written to SUMMARY_FILE at the end. */
export class RunSummary {
  private readonly figures: Record<string, number | string> = {}

  record(name: string, value: number | string): void {
    this.figures[name] = value
  }

  /** Prints the figures and writes them as JSON; returns the file written. */
  write(): string {
    const lines = Object.entries(this.figures).map(([name, value]) => `  ${name}: ${value}`)
    console.log(`[weapp] measured:\n${lines.join('\n')}`)
    fs.mkdirSync(path.dirname(SUMMARY_FILE), { recursive: true })
    fs.writeFileSync(SUMMARY_FILE, `${JSON.stringify({ measuredAt: new Date().toISOString(), ...this.figures }, null, 2)}\n`)
    return SUMMARY_FILE
  }
}
