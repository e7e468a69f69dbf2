import { encodePlain, resolveMapping, valueAt } from '../../../packages/client/src/plain/mapping'

describe('the default mapping: the original backend', () => {
  const mapping = resolveMapping()

  test('requests spread plain-object params, wrap anything else in data, and the method always wins', () => {
    expect(JSON.parse(encodePlain(mapping, 'confirm', { id: '7' }))).toEqual({ method: 'confirm', id: '7' })
    expect(JSON.parse(encodePlain(mapping, 'echo', [1, 2]))).toEqual({ method: 'echo', data: [1, 2] })
    expect(JSON.parse(encodePlain(mapping, 'echo', 'hi'))).toEqual({ method: 'echo', data: 'hi' })
    expect(JSON.parse(encodePlain(mapping, 'list', undefined))).toEqual({ method: 'list' })
    expect(JSON.parse(encodePlain(mapping, 'real', { method: 'fake', a: 1 }))).toEqual({ method: 'real', a: 1 })
  })

  test('reads method and result of { method, result }', () => {
    const message = { method: 'list', result: { orderNum: 1 } }
    expect(valueAt(message, mapping.method)).toBe('list')
    expect(valueAt(message, mapping.result)).toEqual({ orderNum: 1 })
  })
})

describe('other shapes', () => {
  test('dotted paths both ways', () => {
    const mapping = resolveMapping({ method: 'head.cmd', result: 'body', params: 'body' })
    expect(JSON.parse(encodePlain(mapping, 'list', { page: 2 }))).toEqual({ head: { cmd: 'list' }, body: { page: 2 } })
    expect(valueAt({ head: { cmd: 'notify' }, body: [1] }, mapping.method)).toBe('notify')
    expect(valueAt({ head: { cmd: 'notify' }, body: [1] }, mapping.result)).toEqual([1])
  })

  test('own properties only', () => {
    const mapping = resolveMapping({ method: 'type' })
    expect(valueAt(JSON.parse('{"__proto__":{"type":"x"}}'), mapping.method)).toBeUndefined()
    expect(valueAt({ type: 3 }, ['type', 'inner'])).toBeUndefined()
  })

  test.each([
    [{ method: '' }, 'method'],
    [{ method: 7 }, 'method'],
    [{ result: 'a..b' }, 'result'],
    [{ result: '__proto__' }, 'result'],
    [{ params: 'method' }, 'params'],
    [{ resutl: 'x' }, 'unknown field "resutl"'],
  ])('refuses %j at start-up with a clear error', (mapping, words) => {
    expect(() => resolveMapping(mapping as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining(words) }))
  })
})
