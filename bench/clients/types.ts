/** The clients compared side by side. */
export type ClientName = 'ours' | 'raw-ws' | 'partysocket' | 'socket.io-client'

/** Every client in the order the tables list them: ours first, then the peers. */
export const CLIENT_NAMES: readonly ClientName[] = ['ours', 'raw-ws', 'partysocket', 'socket.io-client']

/** Where a client connects: v1 clients to the reference server, socket.io-client to socket.io. */
export interface ClientEndpoints {
  /** ws://…/ws of the reference server (or of a proxy in front of it). */
  v1Url: string
  /** http://… of the socket.io server (or of a proxy in front of it). */
  socketIoUrl: string
  /** hello.token the reference server expects. */
  token: string
}

/**
 * One client under test behind a common face. `request` is queued while disconnected by
 * every client (each in its own way, see the adapters) and resolves with the echoed payload.
 */
export interface BenchClient {
  readonly name: ClientName
  /** Resolves once the client is connected and able to answer requests. */
  ready(timeoutMs: number): Promise<void>
  /** One echo round trip of `payload`; resolves with what the server sent back. */
  request(payload: string): Promise<unknown>
  /** Connection attempts made so far (the first connect included). */
  attempts(): number
  /** Calls `listener` each time the client notices that its connection is gone; returns the unsubscribe. */
  onDrop(listener: () => void): () => void
  /** Stops the client for good: no more attempts, sockets closed. */
  close(): void
}
