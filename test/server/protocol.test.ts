/** Unit tests of server/protocol.ts: frame parsing, validation and the frames the server writes. */
import fc from 'fast-check'
import {
  CLOSE_CODE_BY_ERROR,
  errorFrame,
  failureFrame,
  isMethodName,
  parseClientFrame,
  pongFrame,
  pushFrame,
  pushFrameFromTail,
  pushFrameTail,
  resultFrame,
  welcomeFrame,
} from '../../packages/server/src/protocol'

describe('parseClientFrame', () => {
  it('parses hello with defaults: ack 0, no sid, no token', () => {
    expect(parseClientFrame('{"type":"hello","v":1}')).toEqual({ ok: true, frame: { type: 'hello', v: 1, ack: 0, max: 65536 } })
  })

  it('parses a full hello and drops unknown fields', () => {
    expect(parseClientFrame('{"type":"hello","v":1,"sid":"s","ack":7,"token":"t","max":4096,"x":1}')).toEqual({
      ok: true,
      frame: { type: 'hello', v: 1, sid: 's', ack: 7, token: 't', max: 4096 },
    })
  })

  it('parses req with and without params (null params are kept)', () => {
    expect(parseClientFrame('{"type":"req","id":"a","method":"m"}')).toEqual({ ok: true, frame: { type: 'req', id: 'a', method: 'm' } })
    expect(parseClientFrame('{"type":"req","id":"a","method":"m","params":null}')).toEqual({
      ok: true,
      frame: { type: 'req', id: 'a', method: 'm', params: null },
    })
  })

  it('keeps a req whose method is unusable, with the problem, so it can be answered with a res', () => {
    for (const method of ['', 3, null, 'm'.repeat(65)]) {
      expect(parseClientFrame(JSON.stringify({ type: 'req', id: 'a', method }))).toEqual({
        ok: true,
        frame: { type: 'req', id: 'a', method: '', problem: expect.stringContaining('req.method') },
      })
    }
    expect(parseClientFrame('{"type":"req","id":"a"}')).toMatchObject({ ok: true, frame: { problem: expect.stringContaining('req.method') } })
  })

  it('parses ack and ping', () => {
    expect(parseClientFrame('{"type":"ack","seq":0}')).toEqual({ ok: true, frame: { type: 'ack', seq: 0 } })
    expect(parseClientFrame('{"type":"ping","ts":1.5}')).toEqual({ ok: true, frame: { type: 'ping', ts: 1.5 } })
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ ok: true, frame: { type: 'ping' } })
  })

  it.each([
    ['{', 'not valid JSON'],
    ['[]', 'JSON object'],
    ['{"type":"nope"}', 'unknown frame type "nope"'],
    ['{"type":"hello","v":"1"}', 'hello.v'],
    ['{"type":"hello","v":1,"ack":9007199254740992}', 'hello.ack'],
    ['{"type":"hello","v":1,"sid":"' + 's'.repeat(129) + '"}', 'hello.sid'],
    ['{"type":"req","id":"' + 'i'.repeat(65) + '","method":"m"}', 'req.id'],
    ['{"type":"hello","v":1,"max":100}', 'hello.max'],
    ['{"type":"hello","v":1,"max":"big"}', 'hello.max'],
    ['{"type":"ack","seq":1e400}', 'ack.seq'],
    ['{"type":"ping","ts":null}', 'ping.ts'],
  ])('refuses %s with a reason mentioning %s', (text, reason) => {
    const result = parseClientFrame(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toContain(reason)
  })

  it('reads only own properties: fields inherited through __proto__ do not count', () => {
    expect(parseClientFrame('{"__proto__":{"type":"ping"}}').ok).toBe(false)
    expect(parseClientFrame('{"type":"ack","__proto__":{"seq":1}}').ok).toBe(false)
    expect(({} as Record<string, unknown>).seq).toBeUndefined()
  })

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((value) => JSON.stringify({ type: 'req', id: 'x', method: 'm', params: value }))), (text) => {
        const result = parseClientFrame(text)
        expect(typeof result.ok).toBe('boolean')
      }),
    )
  })

  it('accepts every req whose id is 1..64 characters and whose method is 1..64 characters', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ minLength: 1, maxLength: 64 }), (id, method) => {
        const result = parseClientFrame(JSON.stringify({ type: 'req', id, method }))
        expect(result).toEqual({ ok: true, frame: { type: 'req', id, method } })
      }),
    )
  })
})

describe('isMethodName', () => {
  it.each(['list', 'order.confirm', 'a_b-c:d', 'X1'])('accepts %s', (name) => expect(isMethodName(name)).toBe(true))
  it.each(['', '1abc', '.x', '__proto__', 'a b', 'm'.repeat(65)])('refuses %j', (name) => expect(isMethodName(name)).toBe(false))
})

describe('server frames', () => {
  it('writes welcome, res, push, pong and error as the protocol spells them', () => {
    expect(JSON.parse(welcomeFrame('s1', true, 500, 65536))).toEqual({ type: 'welcome', v: 1, sid: 's1', resumed: true, hb: 500, max: 65536 })
    expect(JSON.parse(resultFrame('r', { a: 1 }))).toEqual({ type: 'res', id: 'r', ok: true, result: { a: 1 } })
    expect(JSON.parse(resultFrame('r', undefined))).toEqual({ type: 'res', id: 'r', ok: true })
    expect(JSON.parse(failureFrame('r', 'nope', 'why'))).toEqual({ type: 'res', id: 'r', ok: false, error: { code: 'nope', message: 'why' } })
    expect(JSON.parse(pushFrame(3, '"t"', '{"x":[1]}'))).toEqual({ type: 'push', seq: 3, topic: 't', data: { x: [1] } })
    expect(JSON.parse(pushFrame(4, '"t"', null))).toEqual({ type: 'push', seq: 4, topic: 't' })
    expect(JSON.parse(pongFrame(9))).toEqual({ type: 'pong', ts: 9 })
    expect(JSON.parse(pongFrame(undefined))).toEqual({ type: 'pong' })
    expect(JSON.parse(errorFrame('idle', 'quiet'))).toEqual({ type: 'error', code: 'idle', message: 'quiet' })
  })

  it('builds push frames that round-trip any JSON data and topic', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string(), fc.jsonValue(), (seq, topic, data) => {
        const frame = JSON.parse(pushFrame(seq, JSON.stringify(topic), JSON.stringify(data)))
        expect(frame).toEqual({ type: 'push', seq, topic, data: JSON.parse(JSON.stringify(data)) })
      }),
    )
  })

  it('builds the same push as bytes from a shared tail', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string(), fc.option(fc.jsonValue(), { nil: undefined }), (seq, topic, data) => {
        const dataJson = data === undefined ? null : JSON.stringify(data)
        const bytes = pushFrameFromTail(seq, pushFrameTail(JSON.stringify(topic), dataJson))
        expect(bytes.toString('utf8')).toBe(pushFrame(seq, JSON.stringify(topic), dataJson))
      }),
    )
  })

  it('maps each fatal error code to its close code', () => {
    expect(CLOSE_CODE_BY_ERROR).toEqual({
      idle: 4002,
      bad_request: 4400,
      unauthorized: 4401,
      hello_timeout: 4408,
      sequence: 4409,
      replaced: 4410,
      rate_limited: 4429,
    })
  })
})
