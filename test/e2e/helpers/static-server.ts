import http from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
}

/** A static file server for a built H5 app. */
export interface StaticServer {
  readonly port: number
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  /** Stops listening and drops open connections; resolves once closed. */
  close(): Promise<void>
}

/**
 * Serves `rootDir` on 127.0.0.1 at a free port: GET and HEAD only, `/` is `index.html`,
 * nothing outside `rootDir`, no caching. Resolves once listening.
 */
export async function serveStatic(rootDir: string): Promise<StaticServer> {
  const root = path.resolve(rootDir)
  const server = http.createServer((request, response) => {
    handle(root, request, response).catch((error: unknown) => {
      console.error('[static-server] request failed', request.url, error)
      if (!response.headersSent) response.writeHead(500)
      response.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()))
      server.closeAllConnections()
    }),
  }
}

async function handle(root: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end()
    return
  }
  const file = await resolveFile(root, new URL(request.url ?? '/', 'http://localhost').pathname)
  if (!file) {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found')
    return
  }
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': file.size,
    'Cache-Control': 'no-store',
  })
  if (request.method === 'HEAD') {
    response.end()
    return
  }
  createReadStream(file.path).pipe(response)
}

async function resolveFile(root: string, pathname: string): Promise<{ path: string; size: number } | null> {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return null
  }
  const candidate = path.resolve(root, `.${path.posix.normalize(decoded)}`)
  if (candidate !== root && !candidate.startsWith(`${root}${path.sep}`)) return null
  for (const filePath of [candidate, path.join(candidate, 'index.html')]) {
    const info = await stat(filePath).catch(() => null)
    if (info?.isFile()) return { path: filePath, size: info.size }
  }
  return null
}
