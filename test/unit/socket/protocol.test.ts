import {
  encodeAck, encodeHello, encodePing, encodePlain, encodeRequest, exceedsBytes, parsePlainMessage, parseServerFrame, utf8ByteLength,
} from '../../../src/socket/protocol'

describe('utf8ByteLength', () => {
  const samples = ['', 'abc', 'é', '订单', '€', '😀', 'a😀b订€', '\u0000', '\u07ff\u0800', '\uffff']
  test.each(samples)('matches Buffer.byteLength for %j', (text) => {
    expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'))
  })

  test('counts a lone surrogate as U+FFFD (3 bytes), as encoders do', () => {
    expect(utf8ByteLength('\ud800')).toBe(3)
    expect(utf8ByteLength('\udc00x')).toBe(4)
    expect(utf8ByteLength('\ud800\ud800')).toBe(Buffer.byteLength('\ud800\ud800', 'utf8'))
  })

  test('matches Buffer.byteLength on random strings of every range', () => {
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 200; round++) {
      let text = ''
      const length = Math.floor(next() * 40)
      for (let i = 0; i < length; i++) text += String.fromCharCode(Math.floor(next() * 0x10000))
      expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'))
    }
  })
})

describe('exceedsBytes', () => {
  test('decides by length alone when it can, and counts in between', () => {
    expect(exceedsBytes('a'.repeat(11), 10)).toBe(true)
    expect(exceedsBytes('abc', 10)).toBe(false)
    expect(exceedsBytes('订单订单', 10)).toBe(true) // 12 bytes, 4 units
    expect(exceedsBytes('订单订', 9)).toBe(false) // exactly 9
  })
})

describe('encoders', () => {
  test('hello carries sid and ack only when resuming, token when given', () => {
    expect(JSON.parse(encodeHello({ sid: null, ack: 5 }))).toEqual({ type: 'hello', v: 1 })
    expect(JSON.parse(encodeHello({ sid: 'S', ack: 5, token: 't' }))).toEqual({ type: 'hello', v: 1, sid: 'S', ack: 5, token: 't' })
  })

  test('req, ack and ping frames', () => {
    expect(JSON.parse(encodeRequest('a-1', 'echo', { x: 1 }))).toEqual({ type: 'req', id: 'a-1', method: 'echo', params: { x: 1 } })
    expect(JSON.parse(encodeRequest('a-2', 'list', undefined))).toEqual({ type: 'req', id: 'a-2', method: 'list' })
    expect(JSON.parse(encodeAck(9))).toEqual({ type: 'ack', seq: 9 })
    expect(JSON.parse(encodePing(123))).toEqual({ type: 'ping', ts: 123 })
  })

  test('a req frame starts with its type and id (stored frames are recognised by it)', () => {
    expect(encodeRequest('x-1', 'm', 1).startsWith('{"type":"req","id":"x-1"')).toBe(true)
  })

  test('plain messages spread plain objects and wrap anything else in data', () => {
    expect(JSON.parse(encodePlain('confirm', { id: '7' }))).toEqual({ method: 'confirm', id: '7' })
    expect(JSON.parse(encodePlain('echo', [1, 2]))).toEqual({ method: 'echo', data: [1, 2] })
    expect(JSON.parse(encodePlain('echo', 'hi'))).toEqual({ method: 'echo', data: 'hi' })
    expect(JSON.parse(encodePlain('list', undefined))).toEqual({ method: 'list' })
    expect(JSON.parse(encodePlain('real', { method: 'fake', a: 1 }))).toEqual({ method: 'real', a: 1 })
  })

  test('params that cannot be JSON throw', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => encodeRequest('a', 'm', cyclic)).toThrow()
    expect(() => encodeRequest('a', 'm', { n: BigInt(1) })).toThrow()
  })
})

describe('parseServerFrame', () => {
  test.each([
    [{ type: 'welcome', v: 1, sid: 'S', resumed: true, hb: 100 }, { type: 'welcome', sid: 'S', resumed: true, hb: 100 }],
    [{ type: 'res', id: 'a', ok: true, result: [1] }, { type: 'res', id: 'a', ok: true, result: [1] }],
    [{ type: 'res', id: 'a', ok: true }, { type: 'res', id: 'a', ok: true, result: undefined }],
    [{ type: 'res', id: 'a', ok: false, error: { code: 'x', message: 'm' } }, { type: 'res', id: 'a', ok: false, error: { code: 'x', message: 'm' } }],
    [{ type: 'res', id: 'a', ok: false, error: { code: 'x' } }, { type: 'res', id: 'a', ok: false, error: { code: 'x', message: '' } }],
    [{ type: 'push', seq: 3, topic: 't', data: { a: 1 } }, { type: 'push', seq: 3, topic: 't', data: { a: 1 } }],
    [{ type: 'pong', ts: 5 }, { type: 'pong', ts: 5 }],
    [{ type: 'pong' }, { type: 'pong' }],
    [{ type: 'error', code: 'idle', message: 'bye' }, { type: 'error', code: 'idle', message: 'bye' }],
    [{ type: 'push', seq: 1, topic: 't', extra: true }, { type: 'push', seq: 1, topic: 't', data: undefined }],
  ])('accepts %j', (input, expected) => {
    expect(parseServerFrame(JSON.stringify(input))).toEqual({ ok: true, frame: expected })
  })

  test.each([
    ['not json', 'hello'],
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['no type', '{"seq":1}'],
    ['welcome of v2', '{"type":"welcome","v":2,"sid":"S","resumed":true,"hb":1}'],
    ['welcome without sid', '{"type":"welcome","v":1,"resumed":true,"hb":1}'],
    ['welcome with string hb', '{"type":"welcome","v":1,"sid":"S","resumed":true,"hb":"1"}'],
    ['res without id', '{"type":"res","ok":true}'],
    ['res with ok "yes"', '{"type":"res","id":"a","ok":"yes"}'],
    ['failed res without error', '{"type":"res","id":"a","ok":false}'],
    ['push with seq 0', '{"type":"push","seq":0,"topic":"t"}'],
    ['push with seq 1.5', '{"type":"push","seq":1.5,"topic":"t"}'],
    ['push without topic', '{"type":"push","seq":1}'],
    ['error without code', '{"type":"error","message":"m"}'],
  ])('rejects %s as bad_frame', (_name, text) => {
    const parsed = parseServerFrame(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.code).toBe('bad_frame')
  })

  test('an unknown type is unknown_frame_type', () => {
    expect(parseServerFrame('{"type":"shiny"}')).toMatchObject({ ok: false, code: 'unknown_frame_type' })
  })
})

describe('parsePlainMessage', () => {
  test('accepts any JSON object and refuses the rest', () => {
    expect(parsePlainMessage('{"method":"x","a":1}')).toEqual({ ok: true, message: { method: 'x', a: 1 } })
    expect(parsePlainMessage('[1]').ok).toBe(false)
    expect(parsePlainMessage('{oops').ok).toBe(false)
  })
})
