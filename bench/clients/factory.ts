import { createOursClient } from './ours'
import { createPartySocketClient } from './partysocket'
import { createRawWsClient } from './raw-ws'
import { createSocketIoClient } from './socket-io'
import type { BenchClient, ClientEndpoints, ClientName } from './types'

/** A new client of kind `name` connecting to `endpoints`; `tag` keeps request ids apart. */
export function createClient(name: ClientName, endpoints: ClientEndpoints, tag: string): BenchClient {
  switch (name) {
    case 'ours':
      return createOursClient(endpoints, tag)
    case 'raw-ws':
      return createRawWsClient(endpoints, `raw-${tag}`)
    case 'partysocket':
      return createPartySocketClient(endpoints, `party-${tag}`)
    case 'socket.io-client':
      return createSocketIoClient(endpoints)
  }
}
