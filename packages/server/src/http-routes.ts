/**
 * The HTTP side of the reference server: `GET /healthz`, `GET /metrics` (Prometheus text),
 * `POST /admin/push` (Bearer ADMIN_TOKEN; to everyone, one identity or one topic) and, in
 * development, `POST /dev/login`. Errors answer `{ "error": { "code", "message" } }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { bearerToken, secretMatches } from './auth'
import { MAX_ADMIN_BODY_BYTES, MAX_TOPIC_LENGTH } from './constants'
import type { PushAddress } from './dispatcher'
import { describeError, isCodedError } from './errors'
import type { ServerMetrics } from './metrics'
import { isStorableName } from './protocol'

export interface HttpRouteDeps {
  adminToken: string
  metrics: ServerMetrics
  /** Appends a push to every session (or those `to` names) once it is committed: sessions reached; rejects with CodedError on bad input. */
  publish(topic: string, data: unknown, to?: PushAddress): Promise<number>
  /** Signs a token for a name (POST /dev/login); absent: the route does not exist. */
  devLogin?: (name: string) => Promise<string>
  /** Largest push body accepted, in bytes. */
  maxBodyBytes?: number
  log(line: string): void
}

type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void

/** Returns the `request` listener for the server's http.Server (the WebSocket upgrade is separate). */
export function createHttpHandler(deps: HttpRouteDeps): HttpHandler {
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_ADMIN_BODY_BYTES
  return (req, res) => {
    const pathname = pathOf(req.url)
    if (pathname === '/healthz') {
      if (!isRead(req)) return methodNotAllowed(res, 'GET, HEAD')
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      res.end('ok')
      return
    }
    if (pathname === '/metrics') {
      if (!isRead(req)) return methodNotAllowed(res, 'GET, HEAD')
      deps.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType })
          res.end(text)
        },
        (error: unknown) => {
          deps.log(`metrics failed: ${String(error)}`)
          sendError(res, 500, 'internal', 'metrics could not be collected')
        },
      )
      return
    }
    if (pathname === '/admin/push') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST')
      if (!secretMatches(deps.adminToken, bearerToken(req.headers.authorization))) {
        return sendError(res, 401, 'unauthorized', 'Authorization: Bearer <ADMIN_TOKEN> is missing or wrong', true)
      }
      readBody(req, maxBodyBytes).then(
        (body) => (body === null ? sendError(res, 413, 'too_large', `the body is over ${maxBodyBytes} bytes`, true) : adminPush(deps, body, res)),
        (error: unknown) => deps.log(`admin push body failed: ${String(error)}`),
      )
      return
    }
    if (pathname === '/dev/login' && deps.devLogin) {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST')
      const login = deps.devLogin
      readBody(req, 4096).then(
        (body) => (body === null ? sendError(res, 413, 'too_large', 'the body is over 4096 bytes', true) : devLogin(login, body, res, deps.log)),
        (error: unknown) => deps.log(`dev login body failed: ${String(error)}`),
      )
      return
    }
    sendError(res, 404, 'not_found', `no route for ${pathname}`)
  }
}

/** Names the development login signs a token for. */
const LOGIN_NAME = /^[A-Za-z0-9_-]{1,64}$/

function devLogin(sign: (name: string) => Promise<string>, body: string, res: ServerResponse, log: (line: string) => void): void {
  let name: unknown
  try {
    name = (JSON.parse(body) as { name?: unknown } | null)?.name
  } catch {
    return sendError(res, 400, 'bad_request', 'the body is not valid JSON')
  }
  if (typeof name !== 'string' || !LOGIN_NAME.test(name)) {
    return sendError(res, 400, 'bad_request', 'body.name must be 1..64 letters, digits, _ or -')
  }
  sign(name).then(
    (token) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify({ token, identity: name }))
    },
    (error: unknown) => {
      log(`dev login failed: ${describeError(error)}`)
      sendError(res, 500, 'internal', 'internal error')
    },
  )
}

/** `to` of an admin push: absent, `{ user }` or `{ topic }`; a string for what is wrong otherwise. */
function pushAddress(value: unknown): PushAddress | string {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'body.to must be { "user": string } or { "topic": string }'
  const fields = value as Record<string, unknown>
  const keys = Object.keys(fields)
  const isName = (name: unknown): name is string => isStorableName(name, MAX_TOPIC_LENGTH)
  if (keys.length === 1 && keys[0] === 'user' && isName(fields.user)) return { user: fields.user }
  if (keys.length === 1 && keys[0] === 'topic' && isName(fields.topic)) return { topic: fields.topic }
  return `body.to must be { "user": string } or { "topic": string } (1..${MAX_TOPIC_LENGTH} characters)`
}

function adminPush(deps: HttpRouteDeps, body: string, res: ServerResponse): void {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return sendError(res, 400, 'bad_request', 'the body is not valid JSON')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return sendError(res, 400, 'bad_request', 'the body must be a JSON object { "topic": string, "data": any }')
  }
  const fields = parsed as Record<string, unknown>
  const topic = Object.prototype.hasOwnProperty.call(fields, 'topic') ? fields.topic : undefined
  if (typeof topic !== 'string') return sendError(res, 400, 'bad_request', 'body.topic must be a string')
  const data = Object.prototype.hasOwnProperty.call(fields, 'data') ? fields.data : undefined
  const to = pushAddress(Object.prototype.hasOwnProperty.call(fields, 'to') ? fields.to : undefined)
  if (typeof to === 'string') return sendError(res, 400, 'bad_request', to)
  deps.publish(topic, data, to).then(
    (delivered) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify({ delivered }))
    },
    (error: unknown) => {
      if (isCodedError(error)) {
        sendError(res, error.code === 'too_large' ? 413 : 400, error.code, error.message)
        return
      }
      deps.log(`admin push failed: ${describeError(error)}`)
      sendError(res, 500, 'internal', 'internal error')
    },
  )
}

/** Resolves with the body text, or null once it passes `limitBytes` (the rest is not read). */
function readBody(req: IncomingMessage, limitBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limitBytes) {
        done = true
        req.pause()
        resolve(null)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', (error) => {
      if (done) return
      done = true
      reject(error)
    })
  })
}

function sendError(res: ServerResponse, status: number, code: string, message: string, closeAfter = false): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
  // An unread body cannot be skipped on a kept-alive connection: close it instead.
  if (closeAfter) headers.connection = 'close'
  res.writeHead(status, headers)
  res.end(JSON.stringify({ error: { code, message } }))
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow)
  sendError(res, 405, 'method_not_allowed', `use ${allow}`)
}

function isRead(req: IncomingMessage): boolean {
  return req.method === 'GET' || req.method === 'HEAD'
}

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/'
  const query = raw.indexOf('?')
  return query === -1 ? raw : raw.slice(0, query)
}
