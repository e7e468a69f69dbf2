import type { SocketEngine } from 'taro-reliable-socket'
import { createTaroPlatform, createTaroSocket } from 'taro-reliable-socket/taro'
import { createPlainEngine, type PlainEngineOptions } from 'taro-reliable-socket/plain'
import { createSocketHooks } from 'taro-reliable-socket/react'
import type { DemoApi } from './api'

/** The build-time settings of shared/APP_CONTRACT.md, baked in by config/settings.ts. */
export function appSocketOptions(): PlainEngineOptions & { protocol: 'v1' | 'plain' } {
  const options: PlainEngineOptions & { protocol: 'v1' | 'plain' } = {
    url: process.env.TARO_APP_WS_URL || 'ws://127.0.0.1:8787/ws',
    protocol: process.env.TARO_APP_WS_PROTOCOL === 'plain' ? 'plain' : 'v1',
    token: process.env.TARO_APP_WS_TOKEN || 'dev-token',
  }
  const keepaliveMs = Number(process.env.TARO_APP_WS_KEEPALIVE_MS || 0)
  if (options.protocol === 'plain' && keepaliveMs > 0) options.keepalive = { message: { method: 'ping' }, intervalMs: keepaliveMs, answer: 'pong' }
  return options
}

let appSocket: SocketEngine<DemoApi> | null = null

/** The app's one connection engine, created on first use. */
export function getAppSocket(): SocketEngine<DemoApi> {
  if (!appSocket) {
    const { protocol, ...options } = appSocketOptions()
    // A build-time constant: the minifier drops the engine this build does not use.
    appSocket = protocol === 'plain'
      ? createPlainEngine<DemoApi>(createTaroPlatform(), options)
      : createTaroSocket<DemoApi>(options)
  }
  return appSocket
}

/** Replaces the app's engine (tests, with an engine of their own making); the previous one is destroyed. */
export function setAppSocket(engine: SocketEngine | null): void {
  const next = engine as unknown as SocketEngine<DemoApi> | null
  if (appSocket && appSocket !== next) appSocket.destroy()
  appSocket = next
}

export const { useSocket, useSocketState } = createSocketHooks(getAppSocket)
