import { closeActionFor, closeCodeForErrorCode } from '../../../src/socket/close-policy'

test.each([
  [1000, 'backoff'],
  [1001, 'backoff'],
  [1006, 'backoff'],
  [1009, 'too-large'],
  [1011, 'backoff'],
  [4000, 'now'],
  [4002, 'backoff'],
  [4400, 'backoff'],
  [4401, 'auth'],
  [4408, 'backoff'],
  [4409, 'now'],
  [4410, 'replaced'],
  [4413, 'backoff'],
  [4429, 'rate-limited'],
  [4999, 'backoff'],
])('close code %i → %s', (code, action) => {
  expect(closeActionFor(code)).toBe(action)
})

test.each([
  ['idle', 4002],
  ['bad_request', 4400],
  ['unauthorized', 4401],
  ['hello_timeout', 4408],
  ['sequence', 4409],
  ['replaced', 4410],
  ['rate_limited', 4429],
  ['too_large', 1009],
  ['internal', null],
  ['already_confirmed', null],
  ['toString', null],
  ['__proto__', null],
])('error code %s announces close %p', (code, closeCode) => {
  expect(closeCodeForErrorCode(code)).toBe(closeCode)
})
