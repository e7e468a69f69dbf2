/**
 * Sockets on Alipay, past Taro. Taro's Alipay plugin turns the task `Taro.connectSocket`
 * resolves with into the single-socket globals: its onOpen/onClose/onMessage/onError call
 * `my.onSocketOpen` and friends, which add listeners for every socket of the app and are never
 * removed, and its close calls `my.closeSocket()` without the code
 * (@tarojs/plugin-platform-alipay 4.2.0, runtime-utils.js, modifyAsyncResult). Called with
 * `multiple: true`, `my.connectSocket` returns a SocketTask of its own with per-socket events
 * and `close({ code, reason })` (my.connectSocket docs); the layer uses that one.
 */
import type { SocketTaskLike } from '../core/platform'

interface AlipayFailure {
  error?: number
  errorMessage?: string
}

interface AlipayConnectOptions {
  url: string
  multiple: true
  success?: () => void
  fail?: (failure: AlipayFailure) => void
}

interface AlipayGlobal {
  connectSocket(options: AlipayConnectOptions): SocketTaskLike | undefined
}

declare const my: AlipayGlobal | undefined

/** Resolves with the task once Alipay accepted the call (as Taro does on WeChat); rejects with its failure. */
export function connectAlipaySocket(url: string): Promise<SocketTaskLike> {
  return new Promise((resolve, reject) => {
    if (typeof my === 'undefined' || typeof my.connectSocket !== 'function') {
      reject(new Error('connectSocket:fail the Alipay global `my` has no connectSocket'))
      return
    }
    // The docs do not promise that success comes after the call has returned: both orders work.
    const call: { accepted: boolean; task?: SocketTaskLike } = { accepted: false }
    const failed = (failure: AlipayFailure | undefined): void => {
      const code = failure?.error === undefined ? '' : ` (error ${failure.error})`
      reject(new Error(`connectSocket:fail ${failure?.errorMessage ?? 'refused'}${code}`))
    }
    call.task = my.connectSocket({
      url,
      multiple: true,
      success: () => {
        call.accepted = true
        if (call.task) resolve(call.task)
      },
      fail: failed,
    })
    if (!call.task) reject(new Error('connectSocket:fail this Alipay base library returned no SocketTask for multiple: true'))
    else if (call.accepted) resolve(call.task)
  })
}
