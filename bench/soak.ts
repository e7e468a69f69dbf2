/**
 * `npm run soak` — engines against the reference server (a child process with durable state)
 * through a fault-injecting TCP proxy: random drops (FIN and RST), blackholes, delays, refused
 * connections, server SIGKILL or graceful restart (SIGTERM) and a start again, app hide/show and
 * network down/up, while the clients make requests with unique payloads (echo, order.confirm)
 * and the server pushes. At the end it counts lost and doubled requests and pushes and
 * out-of-order deliveries; any count above 0 fails the run (exit 1).
 *   --short        the CI form (under 2 minutes; with --cluster under 4)
 *   --cluster      three server instances on one redis-server behind a round-robin balancer
 *                  (`npm run soak:cluster`): server faults are then an instance's SIGKILL or
 *                  graceful restart, or a Redis crash; admin pushes rotate over the instances
 *   --seed=N       the random seed (printed): the same seed gives the same workload and the same
 *                  sequence of faults; how they interleave still depends on timing
 *   --sabotage     make the books wrong on purpose, to show the soak can fail (must exit 1)
 */
import { parseFlags } from './lib/args'
import { Mutex } from './lib/mutex'
import { seededRandom } from './lib/random'
import { formatCount } from './lib/stats'
import { TcpProxy } from './lib/tcp-proxy'
import { delay, waitUntil, withTimeout } from './lib/wait'
import { AdminPushRouter } from './soak/admin-push'
import { startClusterBackend, startSingleBackend, type Backend } from './soak/backend'
import { SoakClient } from './soak/clients'
import { FaultInjector } from './soak/faults'
import { SoakLedger, type SoakCounts } from './soak/ledger'
import { fetchServerOrders } from './soak/server-orders'
import { emptyPoisonTally, runPoisoner, runRawPoisoner, type PoisonTally } from './soak/poison'
import { CLUSTER_SOAK_SETTINGS, SOAK_SETTINGS, type SoakSettings } from './soak/settings'
import { runPusher, runRequester } from './soak/workload'

const SOCKET_TOKEN = 'soak-token'
const ADMIN_TOKEN = 'soak-admin'

function log(line: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), ['short', 'seed', 'sabotage', 'cluster'])
  const cluster = flags.has('cluster')
  const settings: SoakSettings = (cluster ? CLUSTER_SOAK_SETTINGS : SOAK_SETTINGS)[flags.has('short') ? 'short' : 'full']
  const seed = flags.number('seed', Math.floor(Math.random() * 2 ** 31))
  const sabotage = flags.has('sabotage')
  // One stream per actor, so that one actor's pace cannot shift another's choices.
  const faultRandom = seededRandom(seed)
  const proxyRandom = seededRandom(seed + 1)
  const pushRandom = seededRandom(seed + 2)
  const runId = `${seed.toString(36)}${Date.now().toString(36)}`
  const startedAt = Date.now()
  log(`${settings.name}${cluster ? ' cluster' : ''}: ${settings.clients} clients, ${settings.requests} requests, ${settings.pushes} pushes, seed ${seed}${sabotage ? ', SABOTAGE' : ''}`)

  const adminLock = new Mutex()
  const backendOptions = {
    env: {
      SOCKET_TOKEN, ADMIN_TOKEN, HEARTBEAT_MS: String(settings.heartbeatMs), SIMULATE_ORDERS_MS: '0', SHUTDOWN_RETRY_MS: String(settings.shutdownRetryMs),
    },
    adminLock,
  }
  const backend = cluster ? await startClusterBackend({ ...backendOptions, redisPrefix: `soak:${runId}:` }) : await startSingleBackend(backendOptions)
  log(`backend: ${backend.description}`)
  const proxy = await TcpProxy.start({ targetPort: backend.port, random: proxyRandom }).catch(async (error: unknown) => {
    await backend.stop()
    throw error
  })
  const router = new AdminPushRouter(backend.adminUrls, ADMIN_TOKEN)
  const ledger = new SoakLedger(settings.clients)
  const clients: SoakClient[] = []
  const faults = new FaultInjector(
    {
      proxy,
      clients: settings.clients,
      serverFaults: backend.serverFaults,
      instances: backend.instances,
      killServer: (index, downMs) => backend.killServer(index, downMs),
      restartServer: (index, downMs) => backend.restartServer(index, downMs),
      crashRedis: (downMs) => backend.crashRedis(downMs),
      hideApp: async (index, ms) => {
        clients[index].engine.appHide()
        await delay(ms)
        clients[index].engine.appShow()
      },
      networkDown: async (index, ms) => {
        // As on a phone: sometimes the link dies with the network, sometimes it lingers.
        clients[index].platform.setNetwork(false, { dropSockets: faultRandom() < 0.5 })
        await delay(ms)
        clients[index].platform.setNetwork(true)
      },
      relaunchApp: async (index, offlineMs) => {
        clients[index].platform.setNetwork(false, { dropSockets: true })
        await delay(offlineMs)
        clients[index].relaunch()
      },
    },
    settings.faults,
    faultRandom,
    settings.verbose ? log : () => undefined,
  )
  let exitCode = 1
  try {
    for (let index = 0; index < settings.clients; index += 1) {
      clients.push(new SoakClient(index, { url: proxy.url('/ws'), token: SOCKET_TOKEN, engine: settings.engine, sabotage }, ledger))
    }
    await waitUntil(() => clients.every((client) => client.engine.store.getState().status === 'open'), 15_000, 'every client open')
    log('all clients open; faults start')

    faults.start()
    const poison = emptyPoisonTally()
    let workloadDone = false
    const poisoners = [
      ...clients.map((client) =>
        runPoisoner(() => client.engine, poison, () => workloadDone, {
          maxFrameBytes: settings.engine.maxFrameBytes ?? 65_536,
          everyMs: settings.poisonEveryMs,
          random: seededRandom(seed + 100 + client.index),
        }),
      ),
      runRawPoisoner(proxy.url('/ws'), SOCKET_TOKEN, poison, () => workloadDone, settings.poisonEveryMs * 4, seededRandom(seed + 99)),
    ]
    const orders: string[] = []
    const perClient = Math.ceil(settings.requests / settings.clients)
    const requestsPerSecond = settings.requests / settings.runSeconds / settings.clients
    await Promise.all([
      runPusher(
        { runId, total: settings.pushes, perSecond: settings.pushes / settings.runSeconds, notifyShare: settings.notifyShare },
        ledger,
        adminLock,
        (topic, data) =>
          router.push(topic, data).catch((error: unknown) => {
            throw new Error(`${(error as Error).message}\n--- server output (tail) ---\n${backend.output()}`)
          }),
        orders,
        pushRandom,
      ),
      ...clients.map((client) =>
        runRequester(
          {
            runId,
            client: client.index,
            total: client.index === settings.clients - 1 ? settings.requests - perClient * (settings.clients - 1) : perClient,
            perSecond: requestsPerSecond,
            concurrency: settings.concurrency,
            confirmShare: settings.confirmShare,
          },
          () => client.engine,
          ledger,
          orders,
          seededRandom(seed + 3 + client.index),
        ),
      ),
    ])
    if (sabotage) sabotageBooks(clients[0], ledger, runId)
    workloadDone = true
    log('workload done; faults stop, draining')
    await faults.stop()
    // Sabotage leaves books that never balance: no point waiting long for them.
    const drained = await drain(ledger, clients, sabotage ? 10_000 : settings.drainMs)
    await withTimeout(Promise.all(poisoners), 30_000, 'the poison outcomes').catch((error: unknown) => poison.unexpected.push(`poison outcomes missing: ${(error as Error).message}`))
    const stuck = await stuckClients(clients)

    const serverOrders = await fetchServerOrders(backend.wsUrl, SOCKET_TOKEN).catch((error: unknown) => {
      throw new Error(`reading the orders from the server failed: ${(error as Error).message}\n--- server output (tail) ---\n${backend.output()}`)
    })
    const confirmedOnServer = new Set(serverOrders.filter((order) => order.status === 'confirmed').map((order) => order.id))
    ledger.serverRecords(ledger.confirmSubjects().filter((id) => !confirmedOnServer.has(id)), 0)
    const counts = ledger.counts()
    // An answer the soak cannot match to any request it made is a wrong answer too.
    counts.wrongAnswers += clients.reduce((sum, client) => sum + client.unmatchedResponses, 0)
    printReport(settings, seed, counts, ledger, clients, faults.tally, drained, (Date.now() - startedAt) / 1000, poison, stuck, backend, router)
    const failed = Object.values(counts).some((value) => value > 0) || !drained || poison.unexpected.length > 0 || stuck.length > 0
    exitCode = failed ? 1 : 0
    if (sabotage) log(failed ? 'sabotage detected, as it must be (exit 1)' : 'SABOTAGE NOT DETECTED: the soak cannot fail, fix it')
    log(failed ? 'FAILED' : 'passed: every count is 0')
  } finally {
    for (const client of clients) client.dispose()
    await proxy.close()
    await backend.stop()
  }
  return exitCode
}

/**
 * Sabotage: one request of every wrong kind: an order confirmed again under a new request id
 * (the server runs it again), a request booked but never made, an echo booked with the
 * wrong answer, and a push booked that nobody published.
 */
function sabotageBooks(client: SoakClient, ledger: SoakLedger, runId: string): void {
  const orderId = ledger.confirmSubjects()[0]
  if (orderId !== undefined) {
    const key = `${runId}:sabotage-confirm`
    ledger.request(key, client.index, 'order.confirm', orderId)
    client.engine.request<{ id?: string }>('order.confirm', { id: orderId }).then(
      (result) => ledger.answered(key, String(result?.id)),
      (error: { code?: string }) => ledger.failed(key, error.code ?? 'unknown'),
    )
  }
  ledger.request(`${runId}:sabotage-never-made`, client.index, 'echo', 'never made')
  const wrongKey = `${runId}:sabotage-wrong`
  ledger.request(wrongKey, client.index, 'echo', 'asked')
  client.engine.request('echo', 'asked').then(
    (result) => ledger.answered(wrongKey, `${String(result)}, booked wrong`),
    (error: { code?: string }) => ledger.failed(wrongKey, error.code ?? 'unknown'),
  )
  ledger.delivered(client.index, 'other:sabotage:0')
}

/** The clients that do not answer a fresh echo within 5 s once the faults are over: a wedged connection. */
async function stuckClients(clients: SoakClient[]): Promise<number[]> {
  const answers = await Promise.all(clients.map((client) =>
    withTimeout(client.engine.request('echo', `probe-${client.index}`, { timeoutMs: 5000 }), 6000, 'probe').then(
      (result) => result === `probe-${client.index}`,
      () => false,
    )))
  return clients.filter((_client, i) => !answers[i]).map((client) => client.index)
}

/** Waits until every request is answered, every push delivered and every outbox empty; false on timeout. */
async function drain(ledger: SoakLedger, clients: SoakClient[], drainMs: number): Promise<boolean> {
  const done = (): boolean =>
    ledger.pendingRequests() === 0 &&
    clients.every((client) => ledger.missingPushes(client.index) === 0 && client.engine.store.getState().queue.length === 0)
  try {
    await waitUntil(done, drainMs, 'drain', 50)
    // Anything delivered twice late still has a moment to show up.
    await delay(1000)
    return true
  } catch {
    log(`drain incomplete after ${drainMs} ms: ${ledger.pendingRequests()} requests pending; missing pushes ${clients.map((client) => ledger.missingPushes(client.index)).join(', ')}`)
    return false
  }
}

function printReport(
  settings: SoakSettings,
  seed: number,
  counts: SoakCounts,
  ledger: SoakLedger,
  clients: SoakClient[],
  tally: Partial<Record<string, number>>,
  drained: boolean,
  seconds: number,
  poison: PoisonTally,
  stuck: number[],
  backend: Backend,
  router: AdminPushRouter,
): void {
  const totals = ledger.totals()
  const counters = clients.map((client) => client.engine.counters())
  const sum = (pick: (c: (typeof counters)[number]) => number): number => counters.reduce((total, c) => total + pick(c), 0)
  const errors: Record<string, number> = {}
  for (const client of clients) for (const [code, n] of Object.entries(client.errors)) errors[code] = (errors[code] ?? 0) + n
  const lines = [
    '',
    `Soak (${settings.name}, ${backend.description}), seed ${seed}, ${seconds.toFixed(0)} s: ${settings.clients} clients, ${formatCount(totals.requests)} requests, ${formatCount(totals.expectedPushes)} distinct pushes (${formatCount(totals.deliveries)} deliveries)`,
    '',
    '| count | value |',
    '| --- | --- |',
    `| requests lost | ${counts.requestsLost} |`,
    `| requests executed twice | ${counts.requestsExecutedTwice} |`,
    `| wrong answers | ${counts.wrongAnswers} |`,
    `| pushes lost | ${counts.pushesLost} |`,
    `| pushes delivered twice | ${counts.pushesDeliveredTwice} |`,
    `| pushes never published | ${counts.pushesUnexpected} |`,
    `| out-of-order deliveries | ${counts.outOfOrder} |`,
    `| drained in time | ${drained ? 'yes' : 'NO'} |`,
    `| poison with an unexpected outcome | ${poison.unexpected.length} |`,
    `| clients stuck after the faults | ${stuck.length} |`,
    '',
    `Poison made: ${Object.entries(poison.made).map(([kind, n]) => `${kind} ${n}`).join(', ')} (${Object.values(poison.made).reduce((a, b) => a + b, 0)} in all); answered after a relaunch: ${clients.reduce((n, c) => n + c.poisonAnswersAfterRelaunch, 0)}`,
    `Poison outcomes: ${Object.entries(poison.outcomes).sort().map(([what, n]) => `${what} ${n}`).join(', ')}`,
    ...(poison.unexpected.length > 0 ? [`Unexpected: ${poison.unexpected.slice(0, 20).join('; ')}`] : []),
    '',
    `Admin pushes taken per instance: ${router.taken.join(', ')}; attempts refused by a stopped instance and made on another: ${router.refused}`,
    `Faults: ${Object.entries(tally).map(([kind, n]) => `${kind} ${n}`).join(', ')} (${Object.values(tally).reduce<number>((a, b) => a + (b ?? 0), 0)} in all)`,
    `Engines (the current launch of each): ${sum((c) => c.connectAttempts)} connect attempts, ${sum((c) => c.opens)} opens, ${sum((c) => c.duplicatePushes)} duplicate pushes dropped, ${sum((c) => c.lateResponses)} late responses, ${sum((c) => c.badFrames)} bad frames, ${clients.reduce((n, c) => n + c.resets, 0)} resets, ${clients.reduce((n, c) => n + c.launches - 1, 0)} relaunches (${clients.reduce((n, c) => n + c.restoredRequests, 0)} requests restored from storage, ${clients.reduce((n, c) => n + c.restoredAnswers, 0)} of them answered through 'response')`,
    `Engine errors by code: ${Object.keys(errors).length === 0 ? 'none' : Object.entries(errors).map(([code, n]) => `${code} ${n}`).join(', ')}`,
    `Failed requests by code: ${Object.keys(ledger.failuresByCode()).length === 0 ? 'none' : Object.entries(ledger.failuresByCode()).map(([code, n]) => `${code} ${n}`).join(', ')}`,
    '',
  ]
  process.stdout.write(lines.join('\n'))
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error)
    process.exit(1)
  },
)
