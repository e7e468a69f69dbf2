import { useCallback, useRef, useState } from 'react'
import Taro from '@tarojs/taro'
import { Button, Text, View } from '@tarojs/components'
import ConnectionStatus from '../../components/connection-status'
import type { PageMessage } from 'taro-reliable-socket/react'
import { useSocket } from '../../services/socket'
import { describeNotice, type Notice } from '../../services/notices'
import { formatTime } from '../../utils/time'
import './index.scss'

// The feed is for watching live traffic; old entries fall off so a long session stays light.
const FEED_LIMIT = 100

export default function NoticesPage() {
  const [notices, setNotices] = useState<Notice[]>([])
  // Plain mode's pushes all have seq 0: the feed numbers its own entries.
  const received = useRef(0)

  const onMessage = useCallback((message: PageMessage) => {
    if (message.kind !== 'push') return
    received.current += 1
    const notice: Notice = { key: `n-${received.current}`, topic: message.topic, data: message.data, receivedAt: Date.now() }
    setNotices((current) => [notice, ...current].slice(0, FEED_LIMIT))
  }, [])
  useSocket(onMessage)

  return (
    <View className='notices-page'>
      <ConnectionStatus />
      <View className='toolbar'>
        <Text className='toolbar__title'>本页打开期间收到的推送（{notices.length}）</Text>
        <Button id='go-back' size='mini' className='toolbar__back' onClick={() => void Taro.navigateBack()}>返回</Button>
      </View>
      <View id='notices' className='feed'>
        {notices.map((notice) => (
          <View key={notice.key} className='notice'>
            <View className='notice__head'>
              <Text className='notice__topic'>{notice.topic}</Text>
              <Text className='notice__time'>{formatTime(notice.receivedAt)}</Text>
            </View>
            <Text className='notice__body'>{describeNotice(notice)}</Text>
          </View>
        ))}
      </View>
      {notices.length === 0 && <View className='feed-empty'><Text>暂无推送，新消息会出现在这里</Text></View>}
    </View>
  )
}
