import { TokenRefresh } from '../../../packages/client/src/core/token-refresh'
import { flushMicrotasks } from '../../helpers/fake-platform'

test('a sync or async token is handed over as current', async () => {
  const refresh = new TokenRefresh()
  const tokens: Array<[string, boolean]> = []
  refresh.start(() => 'a', (token, current) => tokens.push([token, current]), () => undefined)
  expect(refresh.pending).toBe(true)
  await flushMicrotasks()
  refresh.start(async () => 'b', (token, current) => tokens.push([token, current]), () => undefined)
  await flushMicrotasks()
  expect(tokens).toEqual([['a', true], ['b', true]])
  expect(refresh.pending).toBe(false)
})

test('throws, rejections and non-strings fail with token_provider_failed', async () => {
  const refresh = new TokenRefresh()
  const codes: string[] = []
  const onToken = jest.fn()
  refresh.start(() => {
    throw new Error('sync')
  }, onToken, (error) => codes.push(error.code))
  refresh.start(() => Promise.reject(new Error('async')), onToken, (error) => codes.push(error.code))
  await flushMicrotasks()
  refresh.start(() => 42 as unknown as string, onToken, (error) => codes.push(error.code))
  await flushMicrotasks()
  expect(codes).toEqual(['token_provider_failed', 'token_provider_failed', 'token_provider_failed'])
  expect(onToken).not.toHaveBeenCalled()
})

test('a cancelled call still hands its token over, as not current; its failure is silent', async () => {
  const refresh = new TokenRefresh()
  const tokens: Array<[string, boolean]> = []
  const failures = jest.fn()
  refresh.start(async () => 'late', (token, current) => tokens.push([token, current]), failures)
  refresh.cancel()
  expect(refresh.pending).toBe(false)
  refresh.start(() => Promise.reject(new Error('x')), () => undefined, failures)
  refresh.cancel()
  await flushMicrotasks()
  expect(tokens).toEqual([['late', false]])
  expect(failures).not.toHaveBeenCalled()
})
