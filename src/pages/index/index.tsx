import { useCallback, useRef, useState } from 'react'
import Taro, { useDidShow } from '@tarojs/taro'
import { Button, Text, View } from '@tarojs/components'
import ConnectionStatus from '../../components/connection-status'
import { SocketError } from 'taro-reliable-socket'
import type { PageMessage } from 'taro-reliable-socket/react'
import { useSocket } from '../../services/socket'
import {
  addOrder, appendPage, EMPTY_DASHBOARD, isOrder, KIND_LABELS, markConfirmed, ORDER_STATUS_LABELS, parseOrderPage, replaceOrder,
  type Dashboard, type Order,
} from '../../services/orders'
import { formatTime } from '../../utils/time'
import './index.scss'

// A confirm made offline waits in the outbox until the server is back: give it time.
const CONFIRM_TIMEOUT_MS = 10 * 60 * 1000

export default function IndexPage() {
  const [dashboard, setDashboard] = useState<Dashboard>(EMPTY_DASHBOARD)
  const [loaded, setLoaded] = useState(false)
  const [loadingMore, setLoadingMore] = useState(false)
  const [loadError, setLoadError] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<ReadonlySet<string>>(new Set())

  const onMessage = useCallback((message: PageMessage) => {
    if (message.kind === 'reset') {
      refreshRef.current()
      return
    }
    const order = (message.data as { order?: unknown } | undefined)?.order
    if (!isOrder(order)) return
    if (message.topic === 'notify') setDashboard((current) => addOrder(current, order))
    if (message.topic === 'order.updated') setDashboard((current) => replaceOrder(current, order))
  }, [])
  const { request } = useSocket(onMessage)

  const refresh = useCallback(() => {
    request('list').then(
      (answer) => {
        const parsed = parseOrderPage(answer)
        if (!parsed.ok) {
          setLoadError(`应答格式不对：${parsed.why}`)
          return
        }
        setDashboard(parsed.page)
        setLoaded(true)
        setLoadError(null)
      },
      (error: unknown) => setLoadError(describe(error)),
    )
  }, [request])
  const refreshRef = useRef(refresh)
  refreshRef.current = refresh

  const loadMore = useCallback(() => {
    const oldest = dashboard.list[dashboard.list.length - 1]
    if (!oldest) return
    setLoadingMore(true)
    request('list', { before: oldest.id })
      .then(
        (answer) => {
          const parsed = parseOrderPage(answer)
          if (!parsed.ok) {
            setLoadError(`应答格式不对：${parsed.why}`)
            return
          }
          setDashboard((current) => appendPage(current, parsed.page))
          setLoadError(null)
        },
        (error: unknown) => setLoadError(describe(error)),
      )
      .finally(() => setLoadingMore(false))
  }, [dashboard.list, request])

  // Every show asks for fresh data: pushes missed while another page was shown are in it.
  useDidShow(refresh)

  const confirm = useCallback((order: Order) => {
    setConfirming((current) => new Set(current).add(order.id))
    request('order.confirm', { id: order.id }, { timeoutMs: CONFIRM_TIMEOUT_MS })
      .then(
        () => setDashboard((current) => markConfirmed(current, order.id)),
        (error: unknown) => {
          if (error instanceof SocketError && error.code === 'already_confirmed') {
            setDashboard((current) => markConfirmed(current, order.id))
            return
          }
          void Taro.showToast({ title: `确认失败：${describe(error)}`, icon: 'none' })
        },
      )
      .finally(() => setConfirming((current) => {
        const next = new Set(current)
        next.delete(order.id)
        return next
      }))
  }, [request])

  return (
    <View className='dashboard'>
      <ConnectionStatus />
      <View className='summary'>
        <Text className='summary__caption'>今日订单总额（元）</Text>
        <Text id='total' className='summary__total'>{dashboard.allAmount}</Text>
        <View className='summary__row'>
          <View className='summary__cell'>
            <Text className='summary__label'>订单数</Text>
            <Text id='order-count' className='summary__value'>{dashboard.orderNum}</Text>
          </View>
          <View className='summary__cell'>
            <Text className='summary__label'>{KIND_LABELS.jdc}</Text>
            <Text id='jdc-amount' className='summary__value'>{dashboard.jdcAmount}</Text>
          </View>
          <View className='summary__cell'>
            <Text className='summary__label'>{KIND_LABELS.jsz}</Text>
            <Text id='jsz-amount' className='summary__value'>{dashboard.jszAmount}</Text>
          </View>
        </View>
      </View>
      <View className='actions'>
        <Button id='refresh' className='actions__button' size='mini' onClick={refresh}>刷新</Button>
        <Button id='go-notices' className='actions__button' size='mini' onClick={() => void Taro.navigateTo({ url: '/pages/notices/index' })}>
          实时通知
        </Button>
      </View>
      {loadError && <View id='load-error' className='load-error'><Text>加载失败：{loadError}</Text></View>}
      <View id='orders' className='orders'>
        {dashboard.list.map((order) => (
          <View key={order.id} id={`order-${order.id}`} className={`order order--${order.status}`}>
            <View className='order__main'>
              <Text className='order__title'>{order.title}</Text>
              <Text className='order__meta'>{KIND_LABELS[order.kind]} · {formatTime(order.createdAt)}</Text>
            </View>
            <View className='order__side'>
              <Text className='order__amount'>¥{order.amount}</Text>
              <Text className='order__status'>{ORDER_STATUS_LABELS[order.status]} <Text className='order__status-code'>{order.status}</Text></Text>
              {order.status === 'new' && (
                <Button
                  id={`confirm-${order.id}`}
                  className='order__confirm'
                  size='mini'
                  type='primary'
                  // Taro's H5 button reads any `disabled` attribute as true, even "false".
                  {...(confirming.has(order.id) ? { disabled: true } : {})}
                  onClick={() => confirm(order)}
                >
                  {confirming.has(order.id) ? '确认中' : '确认'}
                </Button>
              )}
            </View>
          </View>
        ))}
      </View>
      {dashboard.hasMore && (
        <View className='more'>
          <Button id='load-more' className='more__button' size='mini' {...(loadingMore ? { disabled: true } : {})} onClick={loadMore}>
            {loadingMore ? '加载中…' : '加载更早的订单'}
          </Button>
        </View>
      )}
      {loaded && dashboard.list.length === 0 && (
        <View id='orders-empty' className='empty'><Text>暂无订单，新订单会实时出现在这里</Text></View>
      )}
      {!loaded && !loadError && <View className='empty'><Text>加载中…</Text></View>}
    </View>
  )
}

function describe(error: unknown): string {
  if (error instanceof SocketError) return error.code
  return error instanceof Error ? error.message : String(error)
}
