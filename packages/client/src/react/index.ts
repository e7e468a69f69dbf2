// React hooks for Taro pages and the app component.
export { createSocketHooks, pageRouterOf, type SocketHooks, type UseSocketResult, type TypedPageMessage, type TypedPageMessageHandler } from './use-socket'
export { useSocketLifecycle } from './use-socket-lifecycle'
export { PageRouter, type PageMessage, type PageMessageHandler } from './page-router'
