/**
 * Money as integer fen (1 yuan = 100 fen), shown as decimal yuan strings with two decimals.
 * Sums are exact because no float ever holds an amount.
 */

/** Largest amount accepted, in fen: sums of many orders stay far below 2^53. */
export const MAX_AMOUNT_FEN = 100_000_000_000 // 1,000,000,000.00 yuan

const AMOUNT_PATTERN = /^(\d{1,10})(?:\.(\d{1,2}))?$/

/**
 * Parses a yuan amount such as "12", "12.3" or "12.30" into fen. Returns null for anything
 * else (negative, exponent, more than two decimals, above MAX_AMOUNT_FEN).
 */
export function parseYuanToFen(text: string): number | null {
  const match = AMOUNT_PATTERN.exec(text)
  if (!match) return null
  const fen = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
  return fen <= MAX_AMOUNT_FEN ? fen : null
}

/** Formats fen as yuan with two decimals: 123456 → "1234.56", -5 → "-0.05". */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`amount in fen must be a safe integer, got ${fen}`)
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const cents = abs % 100
  return `${sign}${(abs - cents) / 100}.${cents < 10 ? '0' : ''}${cents}`
}
