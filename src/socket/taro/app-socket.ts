import { createSocketEngine } from '../core/engine'
import type { SocketEngine } from '../core/socket-engine'
import type { EngineOptions } from '../core/types'
import { createPlainEngine } from '../plain/engine'
import { createTaroPlatform } from './platform'

/** The build-time settings of shared/APP_CONTRACT.md, baked in by config/settings.ts. */
export function appSocketOptions(): EngineOptions & { protocol: 'v1' | 'plain' } {
  return {
    url: process.env.TARO_APP_WS_URL || 'ws://127.0.0.1:8787/ws',
    protocol: process.env.TARO_APP_WS_PROTOCOL === 'plain' ? 'plain' : 'v1',
    token: process.env.TARO_APP_WS_TOKEN || 'dev-token',
  }
}

let appSocket: SocketEngine | null = null

/** The app's one connection engine, created on first use. */
export function getAppSocket(): SocketEngine {
  if (!appSocket) {
    const { protocol, ...options } = appSocketOptions()
    // A build-time constant: the minifier drops the engine this build does not use.
    appSocket = protocol === 'plain' ? createPlainEngine(createTaroPlatform(), options) : createSocketEngine(createTaroPlatform(), options)
  }
  return appSocket
}

/** Replaces the app's engine (tests); the previous one is destroyed. */
export function setAppSocket(engine: SocketEngine | null): void {
  if (appSocket && appSocket !== engine) appSocket.destroy()
  appSocket = engine
}
