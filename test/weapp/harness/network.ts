/**
 * The phone's network as the app sees it: `wx.getNetworkType` answers from here and
 * `wx.onNetworkStatusChange` listeners hear every `set()`. What happens to open sockets when
 * the network goes is wired up by the harness (see launch.ts).
 */

export type NetworkType = 'wifi' | '2g' | '3g' | '4g' | '5g' | 'unknown' | 'none'

export interface NetworkStatus {
  isConnected: boolean
  networkType: NetworkType
}

type StatusListener = (status: NetworkStatus) => void

export class NetworkState {
  private status: NetworkStatus = { isConnected: true, networkType: 'wifi' }
  private readonly listeners = new Set<StatusListener>()

  /** The current status (a copy). */
  get(): NetworkStatus {
    return { ...this.status }
  }

  /** True unless the network was set down. */
  get connected(): boolean {
    return this.status.isConnected
  }

  /**
   * Changes the network and tells every listener (the app's `onNetworkStatusChange`
   * callbacks and the harness's socket cutter), even if nothing changed, as WeChat may.
   */
  set(connected: boolean, networkType: NetworkType = connected ? 'wifi' : 'none'): void {
    this.status = { isConnected: connected, networkType: connected ? networkType : 'none' }
    for (const listener of [...this.listeners]) listener(this.get())
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: StatusListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Removes one listener (the `offNetworkStatusChange` form). */
  unsubscribe(listener: StatusListener): void {
    this.listeners.delete(listener)
  }

  /** Number of listeners, the harness's own included. */
  get listenerCount(): number {
    return this.listeners.size
  }

  clearListeners(): void {
    this.listeners.clear()
  }
}
