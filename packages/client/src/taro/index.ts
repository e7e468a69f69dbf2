// The Taro platform adapter: SocketTask, storage, network status and timers through @tarojs/taro.
export { createTaroPlatform } from './platform'
export { createTaroSocket } from './taro-socket'
