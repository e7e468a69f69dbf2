/** Command-line flags of the form `--name` or `--name=value`. */
export interface Flags {
  has(name: string): boolean
  /** The value of `--name=value`, or `fallback` when absent. */
  string(name: string, fallback: string): string
  /** The numeric value of `--name=value`, or `fallback` when absent; throws on a non-number. */
  number(name: string, fallback: number): number
}

/** Parses `argv` (usually process.argv.slice(2)); rejects anything that is not a `--flag`. */
export function parseFlags(argv: readonly string[], known: readonly string[]): Flags {
  const values = new Map<string, string>()
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg)
    if (!match || !known.includes(match[1])) {
      throw new Error(`unknown argument ${JSON.stringify(arg)}; known: ${known.map((name) => `--${name}`).join(' ')}`)
    }
    values.set(match[1], match[2] ?? '')
  }
  return {
    has: (name) => values.has(name),
    string: (name, fallback) => values.get(name) ?? fallback,
    number: (name, fallback) => {
      const raw = values.get(name)
      if (raw === undefined) return fallback
      const value = Number(raw)
      if (!Number.isFinite(value)) throw new Error(`--${name} needs a number, got ${JSON.stringify(raw)}`)
      return value
    },
  }
}
