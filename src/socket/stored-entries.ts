import type { StoredEntry } from './persistence'
import { isPlainObject } from './protocol'
import type { OutboxEntry } from './types'

/**
 * Turns stored outbox entries back into entries of the current mode. The stored frame is
 * re-sent as it is when it fits the mode; a frame written in the other mode (the app switched
 * protocol between launches) is rebuilt with `encode` from its method and params.
 */
export function entriesFromStorage(
  stored: readonly StoredEntry[],
  plain: boolean,
  encode: (id: string, method: string, params: unknown) => string,
): OutboxEntry[] {
  return stored.map((item) => {
    const params = paramsOfFrame(item.frame)
    const frame = frameFitsMode(item.frame, item.id, plain) ? item.frame : encode(item.id, item.method, params)
    const entry: OutboxEntry = { id: item.id, method: item.method, frame, createdAt: item.createdAt, sends: item.sends }
    if (params !== undefined) entry.params = params
    return entry
  })
}

/** The params inside a frame: a v1 req's `params`; a plain message without `method` (or its `data`). */
export function paramsOfFrame(frame: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(frame)
  } catch {
    return undefined
  }
  if (!isPlainObject(value)) return undefined
  if (value.type === 'req') return value.params
  const { method: _method, ...rest } = value
  const keys = Object.keys(rest)
  if (keys.length === 0) return undefined
  if (keys.length === 1 && keys[0] === 'data' && !isPlainObject(rest.data)) return rest.data
  return rest
}

function frameFitsMode(frame: string, id: string, plain: boolean): boolean {
  const isRequestFrame = frame.startsWith(`{"type":"req","id":${JSON.stringify(id)}`)
  return plain ? !isRequestFrame : isRequestFrame
}
