import { encodePlain, encodeRequest } from '../../../src/socket/protocol'
import { entriesFromStorage, paramsOfFrame } from '../../../src/socket/stored-entries'

test('params come back out of v1 and plain frames', () => {
  expect(paramsOfFrame(encodeRequest('a', 'm', { x: [1] }))).toEqual({ x: [1] })
  expect(paramsOfFrame(encodeRequest('a', 'm', undefined))).toBeUndefined()
  expect(paramsOfFrame(encodePlain('m', { id: '7' }))).toEqual({ id: '7' })
  expect(paramsOfFrame(encodePlain('m', [1, 2]))).toEqual([1, 2])
  expect(paramsOfFrame(encodePlain('m', { data: { deep: true } }))).toEqual({ data: { deep: true } })
  expect(paramsOfFrame(encodePlain('m', undefined))).toBeUndefined()
  expect(paramsOfFrame('not json')).toBeUndefined()
})

test('a frame of the current mode is kept byte for byte; the other mode is rebuilt', () => {
  const v1Frame = encodeRequest('id-1', 'echo', { a: 1 })
  const stored = [{ id: 'id-1', method: 'echo', frame: v1Frame, createdAt: 1, sends: 3 }]
  const encode = jest.fn((_id: string, method: string, params: unknown) => encodePlain(method, params))
  expect(entriesFromStorage(stored, false, encode)).toEqual([{ id: 'id-1', method: 'echo', params: { a: 1 }, frame: v1Frame, createdAt: 1, sends: 3 }])
  expect(encode).not.toHaveBeenCalled()
  expect(entriesFromStorage(stored, true, encode)[0].frame).toBe('{"method":"echo","a":1}')
})
