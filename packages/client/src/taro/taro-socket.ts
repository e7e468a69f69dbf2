import type { SocketApi, UntypedApi } from '../core/api'
import { createSocketEngine } from '../core/engine'
import type { SocketEngine } from '../core/socket-engine'
import type { EngineOptions } from '../core/types'
import { createTaroPlatform } from './platform'

/** A v1 engine on Taro's SocketTask, storage and network APIs (any mini-program host, or H5). */
export function createTaroSocket<A extends SocketApi = UntypedApi>(options: EngineOptions): SocketEngine<A> {
  return createSocketEngine<A>(createTaroPlatform(), options)
}
