/**
 * `setData` as WeChat applies it: each key is a path into `data` (`a.b[0].c`; Taro writes
 * `root.cn.[0].cn.[1].v`), missing containers are created, everything else is left alone.
 */

type Container = Record<string, unknown> | unknown[]

/** Splits a setData path into keys; array indexes come back as numbers. Throws on an empty segment. */
export function parseDataPath(path: string): Array<string | number> {
  const keys: Array<string | number> = []
  const pattern = /\[(\d+)\]|([^.[\]]+)/g
  let match: RegExpExecArray | null
  while ((match = pattern.exec(path)) !== null) {
    keys.push(match[1] !== undefined ? Number(match[1]) : match[2]!)
  }
  if (keys.length === 0) throw new SyntaxError(`setData: empty path "${path}"`)
  return keys
}

/** Applies one `setData` payload to `data` in place; values are copied, as WeChat serializes them. */
export function applySetData(data: Record<string, unknown>, payload: Record<string, unknown>): void {
  for (const [path, value] of Object.entries(payload)) {
    const keys = parseDataPath(path)
    let target: Container = data
    for (let i = 0; i < keys.length - 1; i++) {
      const key = keys[i]!
      const next = (target as Record<string | number, unknown>)[key]
      if (next === null || typeof next !== 'object') {
        const created: Container = typeof keys[i + 1] === 'number' ? [] : {}
        ;(target as Record<string | number, unknown>)[key] = created
        target = created
      } else {
        target = next as Container
      }
    }
    ;(target as Record<string | number, unknown>)[keys[keys.length - 1]!] = cloneData(value)
  }
}

/** A JSON-style copy: functions and undefined are dropped, as they cannot cross to the view. */
export function cloneData(value: unknown): unknown {
  if (value === undefined) return undefined
  return JSON.parse(JSON.stringify(value)) as unknown
}
