/// <reference types="@tarojs/taro" />

declare module '*.png'
declare module '*.gif'
declare module '*.jpg'
declare module '*.jpeg'
declare module '*.svg'
declare module '*.css'
declare module '*.scss'

declare namespace NodeJS {
  interface ProcessEnv {
    NODE_ENV: 'development' | 'production' | 'test'
    TARO_ENV: 'weapp' | 'swan' | 'alipay' | 'h5' | 'rn' | 'tt' | 'qq' | 'jd' | 'harmony' | 'jdrn'
    TARO_APP_ID?: string
    /** Where the app connects; production builds need wss://. Default ws://127.0.0.1:8787/ws */
    TARO_APP_WS_URL?: string
    /** Sent as hello.token. Default dev-token */
    TARO_APP_WS_TOKEN?: string
    /** 'v1' (shared/PROTOCOL.md) or 'plain'. Default v1 */
    TARO_APP_WS_PROTOCOL?: 'v1' | 'plain' | string
    /** Plain mode: keepalive interval in ms ({"method":"ping"}, answered by {"method":"pong"}). Default none */
    TARO_APP_WS_KEEPALIVE_MS?: string
  }
}
