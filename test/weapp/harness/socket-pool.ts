import { WeappSocketTask, type CallbackOptions, type CutMode } from './socket-task'

/** WeChat lets a mini-program hold this many SocketTasks at once. */
export const MAX_SOCKETS = 5

export interface ConnectSocketOptions extends CallbackOptions {
  url: string
  header?: Record<string, string>
  protocols?: string[]
  timeout?: number
}

export interface SocketPoolHost {
  deliver(work: () => void): void
  /** False while the network is down: connects fail at once. */
  networkConnected(): boolean
}

/** One `wx.connectSocket` call as the test sees it. */
export interface ConnectCall {
  url: string
  atMs: number
  /** null when the call succeeded, else WeChat's errMsg. */
  failure: string | null
  task: WeappSocketTask
}

/**
 * Every SocketTask of one launch: enforces the 5-socket limit, counts calls and open
 * sockets, and cuts them all on network loss, suspension or kill.
 */
export class SocketPool {
  private readonly live = new Set<WeappSocketTask>()
  /** Every `connectSocket` call in order, refused ones included. */
  readonly calls: ConnectCall[] = []
  /** The most sockets open at the same moment. */
  peakOpen = 0
  /** The most tasks alive (connecting, open or silently dead) at the same moment. */
  peakLive = 0

  constructor(private readonly host: SocketPoolHost, private readonly maxSockets = MAX_SOCKETS) {}

  /** The `wx.connectSocket` implementation: returns the task at once, answers later. */
  connect(options: ConnectSocketOptions): WeappSocketTask {
    let failure: string | null = null
    if (!this.host.networkConnected()) failure = 'connectSocket:fail network is down'
    else if (this.live.size >= this.maxSockets) failure = `connectSocket:fail exceed max task count ${this.maxSockets}`
    const task = new WeappSocketTask(options.url, options.protocols, {
      deliver: (work) => this.host.deliver(work),
      released: (released) => this.live.delete(released),
      opened: () => {
        this.peakOpen = Math.max(this.peakOpen, this.openTasks.length)
      },
    }, failure)
    this.calls.push({ url: options.url, atMs: Date.now(), failure, task })
    if (failure === null) {
      this.live.add(task)
      this.peakLive = Math.max(this.peakLive, this.live.size)
    }
    // WeChat answers after the call has returned the task, and before any event of it.
    setImmediate(() => this.host.deliver(() => {
      const result = { errMsg: failure ?? 'connectSocket:ok' }
      try {
        if (failure === null) options.success?.(result)
        else options.fail?.(result)
        options.complete?.(result)
      } finally {
        // A macrotask later, the promise Taro built on `success` has settled and handlers are on.
        setImmediate(() => task.startEvents())
      }
    }))
    return task
  }

  /** Tasks connecting, open, or cut silently and not yet closed by the app. */
  get liveTasks(): WeappSocketTask[] {
    return [...this.live]
  }

  /** Tasks whose socket is open right now. */
  get openTasks(): WeappSocketTask[] {
    return [...this.live].filter((task) => task.isOpen)
  }

  /** `connectSocket` calls so far (refused ones included). */
  get connectCount(): number {
    return this.calls.length
  }

  /** Cuts every live socket; `quiet` also frees them without telling the app (kill). */
  cutAll(mode: CutMode, quiet = false): void {
    for (const task of [...this.live]) task.cut(mode, quiet)
  }
}
