/**
 * The first engine's stored outbox (one array of { id, method, frame, createdAt, sends } under
 * the outbox key), read once by outbox-storage.ts and moved into segments.
 */
import type { StoredRequest } from './outbox'
import { isPlainObject } from './protocol'

/** An entry of the first engine's outbox ({ id, method, frame, createdAt, sends }) as a StoredRequest. */
export function legacyRequest(value: unknown): StoredRequest | null {
  if (!isPlainObject(value) || typeof value.id !== 'string' || value.id === '' || typeof value.method !== 'string') return null
  if (typeof value.frame !== 'string' || typeof value.createdAt !== 'number') return null
  const request: StoredRequest = { id: value.id, method: value.method, createdAt: value.createdAt }
  let frame: unknown
  try {
    frame = JSON.parse(value.frame)
  } catch {
    return request
  }
  if (isPlainObject(frame) && frame.type === 'req' && frame.params !== undefined) request.params = frame.params
  return request
}
