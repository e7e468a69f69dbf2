import net from 'node:net'

/** A port that was free a moment ago on 127.0.0.1 (asked of the OS with port 0). */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no port'))))
    })
  })
}
