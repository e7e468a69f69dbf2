import {
  encodeAck, encodeHello, encodePing, encodeRequest, exceedsBytes, identifyOversized, parseJsonObject, parseServerFrame, utf8ByteLength,
} from '../../../packages/client/src/core/protocol'

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
  test('hello carries sid and ack only when resuming, token when given, and always our frame limit', () => {
    expect(JSON.parse(encodeHello({ sid: null, ack: 5, max: 4096 }))).toEqual({ type: 'hello', v: 1, max: 4096 })
    expect(JSON.parse(encodeHello({ sid: 'S', ack: 5, token: 't', max: 65536 }))).toEqual({ type: 'hello', v: 1, sid: 'S', ack: 5, token: 't', max: 65536 })
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
    [{ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 100, max: 4096 }, { type: 'welcome', sid: 'S', resumed: false, hb: 100, max: 4096 }],
    [{ type: 'push', seq: 2, topic: 't', error: { code: 'too_large', message: 'm' } }, { type: 'push', seq: 2, topic: 't', data: undefined, error: { code: 'too_large', message: 'm' } }],
    [{ type: 'error', code: 'shutting_down', message: 'bye', retryMs: 5000 }, { type: 'error', code: 'shutting_down', message: 'bye', retryMs: 5000 }],
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

describe('parseJsonObject', () => {
  test('accepts any JSON object and refuses the rest', () => {
    expect(parseJsonObject('{"method":"x","a":1}')).toEqual({ ok: true, value: { method: 'x', a: 1 } })
    expect(parseJsonObject('[1]').ok).toBe(false)
    expect(parseJsonObject('{oops').ok).toBe(false)
  })
})

describe('identifyOversized', () => {
  const big = 'x'.repeat(5000)
  test('names the request an over-limit answer is for, and the seq and topic of an over-limit push', () => {
    expect(identifyOversized(JSON.stringify({ type: 'res', id: 'r-1', ok: true, result: big }), 1024)).toEqual({ type: 'res', id: 'r-1' })
    expect(identifyOversized(JSON.stringify({ type: 'push', seq: 7, topic: 'notify', data: big }), 1024)).toEqual({ type: 'push', seq: 7, topic: 'notify' })
  })

  test('any field order when the frame is parsed whole; a peek at the head of a far larger one', () => {
    expect(identifyOversized(JSON.stringify({ result: big, ok: true, id: 'late', type: 'res' }), 2000)).toEqual({ type: 'res', id: 'late' })
    const huge = JSON.stringify({ type: 'res', id: 'huge', ok: true, result: 'y'.repeat(100_000) })
    expect(identifyOversized(huge, 1024)).toEqual({ type: 'res', id: 'huge' })
  })

  test('anything else is unknown', () => {
    expect(identifyOversized(big, 1024)).toEqual({ type: 'unknown' })
    expect(identifyOversized(JSON.stringify({ type: 'welcome', pad: big }), 1024)).toEqual({ type: 'unknown' })
    expect(identifyOversized(`{"type":"push","seq":0,"topic":"t","data":"${'z'.repeat(100_000)}"}`, 1024)).toEqual({ type: 'unknown' })
  })
})
