import { useEffect, useState } from 'react'
import { Button, Text, View } from '@tarojs/components'
import type { SocketState } from 'taro-reliable-socket'
import { getAppSocket, useSocketState } from '../../services/socket'
import { STATUS_LABELS, statusHint } from './labels'
import './index.scss'

const selectStatus = (state: SocketState) => state.status
const selectPending = (state: SocketState) => state.pending
const selectNextRetryAt = (state: SocketState) => state.nextRetryAt
const selectStorageError = (state: SocketState) => state.storageError

/** The connection banner every page shows: status, retry countdown, pending requests. */
export default function ConnectionStatus() {
  const status = useSocketState(selectStatus)
  const pending = useSocketState(selectPending)
  const nextRetryAt = useSocketState(selectNextRetryAt)
  const storageError = useSocketState(selectStorageError)
  const retryInSeconds = useSecondsUntil(status === 'reconnecting' ? nextRetryAt : null)
  const canRetry = status === 'unauthorized' || status === 'closed'

  return (
    <View className={`conn conn--${status}`}>
      <View className='conn__row'>
        <View className='conn__dot' />
        <Text className='conn__label'>{STATUS_LABELS[status]}</Text>
        <Text id='conn-status' className='conn__code'>{status}</Text>
        <View className='conn__spacer' />
        <Text className='conn__pending-label'>待确认</Text>
        <Text id='pending' className='conn__pending'>{pending}</Text>
      </View>
      <View className='conn__row conn__row--hint'>
        <Text className='conn__hint'>{statusHint(status, retryInSeconds)}</Text>
        {canRetry && (
          <Button id='reconnect' className='conn__retry' size='mini' onClick={() => getAppSocket().connect()}>
            重试
          </Button>
        )}
      </View>
      {storageError && (
        <View className='conn__row conn__row--warning'>
          <Text id='storage-error' className='conn__warning'>本地存储失败，待发送的请求在应用被关闭后会丢失：{storageError.message}</Text>
        </View>
      )}
    </View>
  )
}

/** Whole seconds until `deadline`, ticking once a second; null without a deadline. */
function useSecondsUntil(deadline: number | null): number | null {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (deadline === null) return undefined
    setNow(Date.now())
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [deadline])
  if (deadline === null) return null
  return Math.max(0, Math.ceil((deadline - now) / 1000))
}
