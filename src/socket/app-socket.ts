import { createSocketEngine, type SocketEngine } from './engine'
import { createTaroPlatform } from './taro-platform'
import type { EngineOptions } from './types'

/** The build-time settings of shared/APP_CONTRACT.md, baked in by config/settings.ts. */
export function appSocketOptions(): EngineOptions {
  const protocol = process.env.TARO_APP_WS_PROTOCOL === 'plain' ? 'plain' : 'v1'
  const token = process.env.TARO_APP_WS_TOKEN || 'dev-token'
  return {
    url: process.env.TARO_APP_WS_URL || 'ws://127.0.0.1:8787/ws',
    protocol,
    token,
  }
}

let appSocket: SocketEngine | null = null

/** The app's one connection engine, created on first use. */
export function getAppSocket(): SocketEngine {
  if (!appSocket) appSocket = createSocketEngine(createTaroPlatform(), appSocketOptions())
  return appSocket
}

/** Replaces the app's engine (tests); the previous one is destroyed. */
export function setAppSocket(engine: SocketEngine | null): void {
  if (appSocket && appSocket !== engine) appSocket.destroy()
  appSocket = engine
}
