import { createRequestIds, randomBase36 } from '../../../packages/client/src/core/request-ids'
import { FakePlatform, createFakeEngine } from '../../helpers/fake-platform'

function mapStorage(initial: Record<string, string> = {}) {
  const map = new Map(Object.entries(initial))
  return { map, storage: { read: (key: string) => map.get(key) ?? null, write: (key: string, value: string) => (map.set(key, value), true) } }
}

function seeded(seed: number) {
  let state = seed
  return () => (state = (state * 16807) % 2147483647) / 2147483647
}

test('ids are unique within a launch and at most 64 characters', () => {
  const { storage } = mapStorage()
  const next = createRequestIds({ storage, key: 'k', random: seeded(1) })
  const ids = new Set<string>()
  for (let i = 0; i < 5000; i++) ids.add(next())
  expect(ids.size).toBe(5000)
  for (const id of ids) expect(id.length).toBeLessThanOrEqual(64)
})

test('the install prefix is kept in storage and the launch number grows', () => {
  const { storage, map } = mapStorage()
  const first = createRequestIds({ storage, key: 'k', random: seeded(1) })()
  const second = createRequestIds({ storage, key: 'k', random: seeded(99) })()
  expect(first.split('-')[0]).toBe(second.split('-')[0])
  expect(map.get('k')).toMatch(/^[0-9a-z]{8}:1$/)
  expect(first).not.toBe(second)
})

test('ids never repeat across launches even with a constant random source', () => {
  const { storage } = mapStorage()
  const seen = new Set<string>()
  for (let launch = 0; launch < 20; launch++) {
    const next = createRequestIds({ storage, key: 'k', random: () => 0.5 })
    for (let i = 0; i < 50; i++) seen.add(next())
  }
  expect(seen.size).toBe(1000)
})

test('without working storage the launch part is random instead', () => {
  const storage = { read: () => null, write: () => false }
  const a = createRequestIds({ storage, key: 'k', random: seeded(3) })()
  const b = createRequestIds({ storage, key: 'k', random: seeded(4) })()
  expect(a).not.toBe(b)
  expect(a).toMatch(/^[0-9a-z]{8}-[0-9a-z]{8}-1$/)
})

test('ids already taken (restored into the outbox) are skipped', () => {
  const { storage } = mapStorage()
  const probe = createRequestIds({ storage: mapStorage().storage, key: 'k', random: () => 0.5 })
  const firstId = probe()
  const next = createRequestIds({ storage, key: 'k', random: () => 0.5, isTaken: (id) => id === firstId })
  expect(next()).not.toBe(firstId)
})

test('randomBase36 uses only base-36 digits, whatever random gives', () => {
  expect(randomBase36(() => 0, 4)).toBe('0000')
  expect(randomBase36(() => 0.9999999, 3)).toBe('zzz')
  expect(randomBase36(() => 5, 2)).toBe('zz')
  expect(randomBase36(() => Number.NaN, 2)).toBe('00')
})

test('an engine draws its install prefix from the platform\'s random bytes when it has them', () => {
  const platform = new FakePlatform()
  let drawn = 0
  Object.assign(platform, {
    randomBytes: (length: number) => {
      drawn += 1
      return new Uint8Array(length).fill(0xff)
    },
  })
  // No `random` option: the engine's own source is used.
  const { engine } = createFakeEngine({ random: undefined }, platform)
  const id = engine.send('echo')
  expect(drawn).toBeGreaterThan(1)
  // Every draw is 0xffffffff / 2^32, just under 1: the last base-36 digit, z.
  expect(id.split('-')[0]).toBe('zzzzzzzz')
  engine.destroy()
})
