import type { SocketStatus } from 'taro-reliable-socket'

/** Chinese labels shown beside the contract's machine words. */
export const STATUS_LABELS: Record<SocketStatus, string> = {
  connecting: '连接中',
  open: '已连接',
  reconnecting: '重连中',
  offline: '网络已断开',
  unauthorized: '未授权',
  closed: '已断开',
}

/** What the person can expect or do, per status. */
export function statusHint(status: SocketStatus, retryInSeconds: number | null): string {
  switch (status) {
    case 'connecting':
      return '正在连接服务器…'
    case 'open':
      return '实时连接正常'
    case 'reconnecting':
      return retryInSeconds !== null && retryInSeconds > 0 ? `${retryInSeconds} 秒后重试` : '正在重新连接…'
    case 'offline':
      return '网络恢复后将立即重连，消息会保留'
    case 'unauthorized':
      return '令牌无效：请检查 TARO_APP_WS_TOKEN 后点击重试'
    case 'closed':
      return '连接已关闭，点击重试可重新连接'
  }
}
