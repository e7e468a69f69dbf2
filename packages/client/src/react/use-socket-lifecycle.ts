import { useDidHide, useDidShow, useLaunch } from '@tarojs/taro'
import type { AnySocketEngine } from '../core/socket-engine'

type Lifecycle = Pick<AnySocketEngine, 'connect' | 'appShow' | 'appHide'>

/**
 * The app-level wiring, called once in app.tsx: connect on launch, and pass the app's show and
 * hide to the engine. Showing the app is a signal that beats any backoff timer; WeChat
 * suspends a hidden app within seconds, so the engine stops retrying (and writes what waits)
 * until it shows again.
 */
export function useSocketLifecycle(socket: Lifecycle | (() => Lifecycle)): void {
  const engineOf = typeof socket === 'function' ? socket : () => socket
  useLaunch(() => engineOf().connect())
  useDidShow(() => engineOf().appShow())
  useDidHide(() => engineOf().appHide())
}
