// Pushes reach the page that is shown; requests are typed by name.
import { useCallback, useState } from 'react'
import { useDidShow } from '@tarojs/taro'
import { Button, Text, View } from '@tarojs/components'
import { SocketError } from 'taro-reliable-socket'
import type { TypedPageMessage } from 'taro-reliable-socket/react'
import type { Order, ShopApi } from '../../api'
import { useSocket, useSocketState } from '../../socket'

export default function IndexPage() {
  const [orders, setOrders] = useState<Order[]>([])
  const status = useSocketState((state) => state.status)

  const onMessage = useCallback((message: TypedPageMessage<ShopApi>) => {
    if (message.kind === 'reset') return // the server lost the session: refresh below on show
    if (message.topic === 'notify') setOrders((current) => [message.data.order, ...current])
  }, [])
  const { request } = useSocket(onMessage)

  useDidShow(() => {
    request('list').then((answer) => setOrders(answer.list), () => undefined)
  })

  const confirm = (id: string) => {
    request('order.confirm', { id }).catch((error: unknown) => {
      // The server's refusal keeps its code; 'timeout' means it may still take effect.
      if (error instanceof SocketError && error.code === 'already_confirmed') return
      throw error
    })
  }

  return (
    <View>
      <Text>{status}</Text>
      {orders.map((order) => (
        <Button key={order.id} onClick={() => confirm(order.id)}>{order.title}</Button>
      ))}
    </View>
  )
}
