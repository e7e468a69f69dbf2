// Run it: `npx tsx main.ts` (or compile it); clients connect to ws://127.0.0.1:8787/ws.
import { startShopServer } from './server'

const server = await startShopServer(8787)
console.log(`listening on ${server.wsUrl}`)
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
