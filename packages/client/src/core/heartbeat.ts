/** Liveness of one open connection (PROTOCOL.md, "Heartbeat"; plain mode's keepalive). */

export interface HeartbeatOptions {
  /** Ping interval: welcome.hb (plain mode: the keepalive interval). */
  intervalMs: number
  /** Silence after which the connection is dead (hb + heartbeatGraceMs); null: silence is never death. */
  timeoutMs: number | null
  now: () => number
  sendPing: () => void
  /** Called once, after which the heartbeat is stopped. */
  onTimeout: () => void
}

export interface Heartbeat {
  /** Notes that a frame of any kind arrived. Cheap: no timer is touched. */
  frameReceived(): void
  /** Stops both timers; calling it again does nothing. */
  stop(): void
}

/**
 * Pings every `intervalMs` and calls `onTimeout` once no frame arrived for `timeoutMs`.
 * The silence check re-arms itself from the last frame's time instead of being reset on
 * every frame, so a busy connection costs one timer per timeout period, not per frame.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { timeoutMs } = options
  let lastFrameAt = options.now()
  let stopped = false
  const pingTimer = setInterval(options.sendPing, options.intervalMs)
  let checkTimer = timeoutMs === null ? null : setTimeout(check, timeoutMs)

  function check(): void {
    if (stopped || timeoutMs === null) return
    const silentMs = options.now() - lastFrameAt
    if (silentMs >= timeoutMs) {
      stop()
      options.onTimeout()
      return
    }
    checkTimer = setTimeout(check, timeoutMs - silentMs)
  }

  function stop(): void {
    if (stopped) return
    stopped = true
    clearInterval(pingTimer)
    if (checkTimer !== null) clearTimeout(checkTimer)
  }

  return {
    frameReceived() {
      lastFrameAt = options.now()
    },
    stop,
  }
}
