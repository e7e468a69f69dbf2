/** Fixed-window counting: at most `frames` frames and `bytes` bytes in each window of `perMs` ms. */

/** The counter state, kept on the owner (a connection) to spare an object per connection. */
export interface FrameWindow {
  windowStartMs: number
  frameCount: number
  byteCount: number
}

export interface RateLimit {
  frames: number
  bytes: number
  perMs: number
}

/**
 * Counts one frame of `bytes` at `nowMs` into `window`; returns false once the current window
 * is over either budget. A window starts with the first frame after the previous one ended.
 */
export function allowFrame(window: FrameWindow, limit: RateLimit, bytes: number, nowMs: number): boolean {
  if (nowMs - window.windowStartMs >= limit.perMs) {
    window.windowStartMs = nowMs
    window.frameCount = 0
    window.byteCount = 0
  }
  window.frameCount += 1
  window.byteCount += bytes
  return window.frameCount <= limit.frames && window.byteCount <= limit.bytes
}
