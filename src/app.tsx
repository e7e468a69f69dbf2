import type { PropsWithChildren } from 'react'
import { useDidHide, useDidShow, useLaunch } from '@tarojs/taro'
import { getAppSocket } from './socket/taro/app-socket'
import './app.scss'

function App({ children }: PropsWithChildren) {
  useLaunch(() => {
    getAppSocket().connect()
  })
  // App-level reconnection: showing the app is a signal that beats any backoff timer.
  useDidShow(() => {
    getAppSocket().appShow()
  })
  // WeChat suspends a hidden app within seconds: the engine stops retrying until it shows.
  useDidHide(() => {
    getAppSocket().appHide()
  })
  return children
}

export default App
