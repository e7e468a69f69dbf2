/**
 * Request ids unique for the app's install (PROTOCOL.md: "never reused"), from the engine's
 * random source (cryptographic where the host has a synchronous one):
 * `<install prefix>-<launch>-<counter>`, all base 36.
 * - the install prefix is random and kept in storage;
 * - the launch part is the stored launch number plus a few random characters (two H5 tabs
 *   that share storage and start together still differ), or only random characters when
 *   storage does not work;
 * - the counter counts within the launch.
 * Ids stay well under the protocol's 64 characters.
 */

export interface IdStorage {
  read(key: string): string | null
  write(key: string, value: string): boolean
}

export interface RequestIdOptions {
  storage: IdStorage
  key: string
  random: () => number
  /** Ids for which this returns true are skipped (e.g. one restored into the outbox). */
  isTaken?: (id: string) => boolean
}

const INSTALL_PREFIX_LENGTH = 8
const LAUNCH_RANDOM_LENGTH = 4
const FALLBACK_LAUNCH_RANDOM_LENGTH = 8
const STORED_PATTERN = /^([0-9a-z]{8}):(\d{1,15})$/

/** Returns the id generator of this launch. Reads and writes storage once. */
export function createRequestIds(options: RequestIdOptions): () => string {
  const { storage, key, random } = options
  let install: string
  let launchNumber = 0
  const stored = storage.read(key)
  const match = stored === null ? null : STORED_PATTERN.exec(stored)
  if (match) {
    install = match[1]
    launchNumber = Number(match[2]) + 1
  } else {
    install = randomBase36(random, INSTALL_PREFIX_LENGTH)
  }
  const saved = storage.write(key, `${install}:${launchNumber}`)
  const launch = saved
    ? `${launchNumber.toString(36)}${randomBase36(random, LAUNCH_RANDOM_LENGTH)}`
    : randomBase36(random, FALLBACK_LAUNCH_RANDOM_LENGTH)
  const base = `${install}-${launch}-`
  let counter = 0
  return () => {
    let id: string
    do {
      counter++
      id = base + counter.toString(36)
    } while (options.isTaken?.(id))
    return id
  }
}

/** `length` random base-36 characters from `random` (values in [0, 1)). */
export function randomBase36(random: () => number, length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) {
    const draw = random()
    const digit = Number.isFinite(draw) ? Math.min(35, Math.max(0, Math.floor(draw * 36))) : 0
    text += digit.toString(36)
  }
  return text
}
