// Plain mode: the same link, reconnects and outbox over a server that speaks no protocol.
export { createPlainEngine, type PlainEngineOptions, type PlainKeepalive } from './engine'
export type { PlainMapping } from './mapping'
