// Connect on launch; the app's show and hide reach the socket.
import type { PropsWithChildren } from 'react'
import { useSocketLifecycle } from 'taro-reliable-socket/react'
import { socket } from './socket'

export default function App({ children }: PropsWithChildren) {
  useSocketLifecycle(socket)
  return children
}
