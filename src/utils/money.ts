/**
 * Amounts travel as decimal strings in yuan ("12.30"); sums are done in integer fen so that
 * 0.1 + 0.2 stays 0.30.
 */
const AMOUNT = /^(-)?(\d+)(?:\.(\d{1,2}))?$/

/** True for a yuan amount such as "12.30" (what toFen accepts). */
export function isYuan(amount: string): boolean {
  return AMOUNT.test(amount.trim())
}

/** Parses "12.3" or "12.30" into 1230 fen; throws on anything else. */
export function toFen(amount: string): number {
  const match = AMOUNT.exec(amount.trim())
  if (!match) throw new Error(`not a yuan amount: "${amount}"`)
  const [, minus, yuan, fraction = ''] = match
  const fen = Number(yuan) * 100 + Number(fraction.padEnd(2, '0'))
  return minus ? -fen : fen
}

/** Formats fen as a two-decimal yuan string. */
export function fromFen(fen: number): string {
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.round(fen))
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** The sum of yuan amounts, as a yuan string. */
export function addYuan(...amounts: string[]): string {
  return fromFen(amounts.reduce((sum, amount) => sum + toFen(amount), 0))
}
