import type { DataWrite } from './types'

/**
 * The total that counts a collection's records, kept beside its sums (sum names are the app's
 * and cannot hold a NUL; this one starts with one).
 */
export const COUNT_TOTAL = '\0count'

/** The longest collection name and record id a store keeps. */
export const RECORD_KEY_MAX_LENGTH = 128

/**
 * Throws RangeError for a write no store should keep: names outside 1..128 characters or with
 * a NUL (Redis keys are built from them), a rank that is not a safe integer ≥ 0 or a sum that
 * is not a safe integer (SQLite and Redis count in 64-bit integers, JSON in doubles), a doc that
 * is not a string.
 */
export function checkDataWrite(write: DataWrite): void {
  for (const [what, value] of [['collection', write.collection], ['id', write.id]] as const) {
    if (typeof value !== 'string' || value.length < 1 || value.length > RECORD_KEY_MAX_LENGTH || value.includes('\0')) {
      throw new RangeError(`a data write's ${what} must be 1..${RECORD_KEY_MAX_LENGTH} characters without NUL`)
    }
  }
  if (typeof write.doc !== 'string') throw new RangeError(`record ${write.collection}/${write.id}: doc must be JSON text`)
  // Redis orders a collection by the rank's digits: no sign.
  if (!Number.isSafeInteger(write.rank) || write.rank < 0) throw new RangeError(`record ${write.collection}/${write.id}: rank must be a safe integer ≥ 0`)
  for (const [name, value] of Object.entries(write.sums ?? {})) {
    if (name === '' || name.includes('\0') || !Number.isSafeInteger(value)) {
      throw new RangeError(`record ${write.collection}/${write.id}: sum "${name}" must be a named safe integer`)
    }
  }
}
