import { createSocketEngine } from '../core/engine'
import type { SocketEngine } from '../core/socket-engine'
import type { EngineOptions } from '../core/types'
import { createPlainEngine, type PlainKeepalive } from '../plain/engine'
import { createTaroPlatform } from './platform'

/** The build-time settings of shared/APP_CONTRACT.md, baked in by config/settings.ts. */
export function appSocketOptions(): EngineOptions & { protocol: 'v1' | 'plain'; keepalive?: PlainKeepalive } {
  const options: EngineOptions & { protocol: 'v1' | 'plain'; keepalive?: PlainKeepalive } = {
    url: process.env.TARO_APP_WS_URL || 'ws://127.0.0.1:8787/ws',
    protocol: process.env.TARO_APP_WS_PROTOCOL === 'plain' ? 'plain' : 'v1',
    token: process.env.TARO_APP_WS_TOKEN || 'dev-token',
  }
  const keepaliveMs = Number(process.env.TARO_APP_WS_KEEPALIVE_MS || 0)
  if (options.protocol === 'plain' && keepaliveMs > 0) options.keepalive = { message: { method: 'ping' }, intervalMs: keepaliveMs, answer: 'pong' }
  return options
}

let appSocket: SocketEngine | null = null

/** The app's one connection engine, created on first use. */
export function getAppSocket(): SocketEngine {
  if (!appSocket) {
    const { protocol, keepalive, ...options } = appSocketOptions()
    // A build-time constant: the minifier drops the engine this build does not use.
    appSocket = protocol === 'plain'
      ? createPlainEngine(createTaroPlatform(), { ...options, keepalive })
      : createSocketEngine(createTaroPlatform(), options)
  }
  return appSocket
}

/** Replaces the app's engine (tests); the previous one is destroyed. */
export function setAppSocket(engine: SocketEngine | null): void {
  if (appSocket && appSocket !== engine) appSocket.destroy()
  appSocket = engine
}
