/**
 * Where plain mode finds things in a backend's messages (PROTOCOL.md "Plain mode"). The default
 * is the original backend's shape: `{ "method": "list", "result": {…} }` both for answers and
 * for pushes, and requests sent as `{ "method": "list", …params }`.
 */
import { SocketError } from '../core/errors'
import { isPlainObject } from '../core/protocol'

export interface PlainMapping {
  /** Dotted path of the method name, in messages both ways. Default 'method'. */
  method?: string
  /** Dotted path of the payload of incoming messages: an answer's result, a push's data. Default 'result'. */
  result?: string
  /** Dotted path of an error in an answer (a request with one rejects). Default 'error'. */
  error?: string
  /**
   * Where a request's params go: 'merge' spreads a plain-object params into the message (other
   * params go to `data`); a dotted path puts them there. Default 'merge'.
   */
  params?: 'merge' | string
}

/** A validated mapping: every path split into its keys. */
export interface ResolvedMapping {
  method: string[]
  result: string[]
  error: string[]
  params: 'merge' | string[]
}

const KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor'])

/** Checks and splits a mapping. Throws SocketError 'invalid_argument' naming the bad field. */
export function resolveMapping(mapping: PlainMapping = {}): ResolvedMapping {
  if (!isPlainObject(mapping)) throw new SocketError('invalid_argument', 'plain mapping must be an object like { method: "method", result: "result" }')
  for (const key of Object.keys(mapping)) {
    if (!['method', 'result', 'error', 'params'].includes(key)) {
      throw new SocketError('invalid_argument', `plain mapping has an unknown field "${key}" (known: method, result, error, params)`)
    }
  }
  const method = path('method', mapping.method ?? 'method')
  const result = path('result', mapping.result ?? 'result')
  const error = path('error', mapping.error ?? 'error')
  const params = mapping.params === undefined || mapping.params === 'merge' ? 'merge' : path('params', mapping.params)
  if (params !== 'merge' && same(params, method)) throw new SocketError('invalid_argument', 'plain mapping: params and method cannot be the same path')
  return { method, result, error, params }
}

/** The value at `keys` inside `value`, own properties only; undefined when absent. */
export function valueAt(value: unknown, keys: readonly string[]): unknown {
  let current = value
  for (const key of keys) {
    if (!isPlainObject(current) || !Object.prototype.hasOwnProperty.call(current, key)) return undefined
    current = current[key]
  }
  return current
}

/** The outgoing message of a request: the method at its path, the params where the mapping says. */
export function encodePlain(mapping: ResolvedMapping, method: string, params: unknown): string {
  const message: Record<string, unknown> = {}
  if (mapping.params === 'merge') {
    if (isPlainObject(params)) Object.assign(message, params)
    else if (params !== undefined) message.data = params
  } else if (params !== undefined) {
    setAt(message, mapping.params, params)
  }
  // Set last: a `method` key inside params cannot misroute the message.
  setAt(message, mapping.method, method)
  return JSON.stringify(message)
}

function setAt(target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let current = target
  for (const key of keys.slice(0, -1)) {
    const inner = current[key]
    const next: Record<string, unknown> = isPlainObject(inner) ? { ...inner } : {}
    current[key] = next
    current = next
  }
  current[keys[keys.length - 1]] = value
}

function path(field: string, value: unknown): string[] {
  if (typeof value !== 'string' || value === '') {
    throw new SocketError('invalid_argument', `plain mapping: ${field} must be a dotted path such as "data.type", got ${JSON.stringify(value)}`)
  }
  const keys = value.split('.')
  for (const key of keys) {
    if (!KEY.test(key) || FORBIDDEN_KEYS.has(key)) {
      throw new SocketError('invalid_argument', `plain mapping: ${field} "${value}" has an unusable key "${key}"`)
    }
  }
  return keys
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i])
}
