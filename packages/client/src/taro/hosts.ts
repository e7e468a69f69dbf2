/**
 * What differs between the mini-program hosts under one Taro build, as far as the socket layer
 * is concerned. Taro aligns most APIs with WeChat's; these are the places where it does not, or
 * where the host itself behaves differently. Each names its source.
 */
/*
 * Alike on every host, so handled once: app show and hide reach the layer through Taro's
 * useDidShow/useDidHide (App onShow/onHide on WeChat, Alipay and ByteDance alike), and a
 * hidden app's socket is not to be trusted. WeChat suspends the app 5 s after hide; ByteDance
 * cuts its sockets 5 s after hide ("退后台5s后websocket会自动断连", Douyin cloud WebSocket
 * guide); Alipay documents nothing for sockets. ByteDance's string close codes are read by
 * core/close-codes.ts (closeCodeOf), where every host's close event is read. The engine's rule (suspendThresholdMs, 5 s:
 * a socket hidden longer is dropped on show) covers all three; SocketTask `readyState` is
 * documented by none of them and is read only as a hint (core/sockets.ts).
 */

/**
 * Alipay's most bytes a stored value may hold: "单个 key 允许存储的最大数据长度为 200KB"
 * (my.setStorageSync docs), counted on the value as a string; UTF-8 bytes are never fewer than
 * its characters, so the engine's byte count keeps inside it.
 */
export const ALIPAY_STORAGE_VALUE_LIMIT_BYTES = 200 * 1024

/**
 * Alipay's setStorageSync does not throw on a refused write: it returns `{ success: false,
 * error: 12 | 14, errorMessage }` on Android and `{ error, errorMessage }` on iOS and the IDE
 * (my.setStorageSync docs: 12 total size over 10 MB, 14 value over 200 KB), and Taro hands that
 * result back. A write that did not happen must not pass for one that did.
 */
export function throwIfStorageRefused(api: string, key: string, result: unknown): void {
  if (!result || typeof result !== 'object') return
  const answer = result as { success?: unknown; error?: unknown; errorMessage?: unknown }
  if (answer.success !== false && answer.error === undefined) return
  const detail = typeof answer.errorMessage === 'string' ? answer.errorMessage : 'refused'
  const code = answer.error === undefined ? '' : ` (error ${String(answer.error)})`
  throw new Error(`${api}:fail ${detail}${code} (key "${key}")`)
}

/**
 * Whether a getNetworkType answer means connected. WeChat and ByteDance answer networkType
 * 'none' when offline; Alipay answers `networkAvailable` and networkType 'NOTREACHABLE'
 * (my.getNetworkType docs), which Taro passes through unchanged.
 */
export function isConnectedAnswer(answer: { networkType?: unknown; networkAvailable?: unknown }): boolean {
  if (typeof answer.networkAvailable === 'boolean') return answer.networkAvailable
  return answer.networkType !== 'none' && answer.networkType !== 'NOTREACHABLE'
}
