import fc from 'fast-check'
import { addYuan, fromFen, toFen } from '../../../src/utils/money'

describe('money in yuan strings', () => {
  it('adds without float error', () => {
    expect(addYuan('0.10', '0.20')).toBe('0.30')
    expect(addYuan('19.99', '0.01', '100')).toBe('120.00')
    expect(addYuan('1.5', '2.25')).toBe('3.75')
  })

  it('round-trips every fen amount', () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), (fen) => toFen(fromFen(fen)) === fen))
  })

  it('refuses what is not an amount, naming it', () => {
    expect(() => toFen('1.234')).toThrow('not a yuan amount: "1.234"')
    expect(() => toFen('abc')).toThrow(/abc/)
    expect(() => toFen('')).toThrow(/not a yuan amount/)
  })
})
