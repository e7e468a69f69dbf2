import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Compares a presented secret with the expected one in constant time (both are hashed first, so
 * neither length nor content leaks through timing). Returns false when `presented` is missing.
 */
export function secretMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false
  return timingSafeEqual(digest(expected), digest(presented))
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer +(\S+) *$/i.exec(header)
  return match ? match[1] : undefined
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
