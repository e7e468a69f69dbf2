// The app's one connection, and the hooks its pages use.
import { createTaroSocket } from 'taro-reliable-socket/taro'
import { createSocketHooks } from 'taro-reliable-socket/react'
import type { ShopApi } from './api'

export const socket = createTaroSocket<ShopApi>({
  url: 'wss://example.com/ws',
  token: 'the-token-your-login-gave',
  // Asked once after the server refuses the token (4401): return a fresh one.
  tokenProvider: async () => 'a-fresh-token',
})

export const { useSocket, useSocketState } = createSocketHooks(socket)
