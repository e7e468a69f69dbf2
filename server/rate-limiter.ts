/** Fixed-window frame counting: at most `frames` frames in each window of `perMs` milliseconds. */

/** The counter state, kept on the owner (a connection) to spare an object per connection. */
export interface FrameWindow {
  windowStartMs: number
  frameCount: number
}

/**
 * Counts one frame at `nowMs` into `window`; returns false once the current window is over its
 * budget. A window starts with the first frame after the previous one ended.
 */
export function allowFrame(window: FrameWindow, limit: { frames: number; perMs: number }, nowMs: number): boolean {
  if (nowMs - window.windowStartMs >= limit.perMs) {
    window.windowStartMs = nowMs
    window.frameCount = 0
  }
  window.frameCount += 1
  return window.frameCount <= limit.frames
}
