import type { PropsWithChildren } from 'react'
import { useSocketLifecycle } from 'taro-reliable-socket/react'
import { getAppSocket } from './services/socket'
import './app.scss'

function App({ children }: PropsWithChildren) {
  // Connect on launch; the app's show beats any backoff timer, its hide stops the retries.
  useSocketLifecycle(getAppSocket)
  return children
}

export default App
