import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { getFreePort } from '../helpers/reference-server'
import { buildH5, readBuild, type H5Build } from './helpers/build-h5'
import { CHROMIUM_PATH } from './helpers/browser'
import { publishRun } from './helpers/run-info'
import { formatReport } from './helpers/timings'
import { serveStatic } from './helpers/static-server'

// The token the build sends; each test's server takes it (or another one, to be refused).
const BUILD_TOKEN = 'e2e-token'

declare global {
  // Handed from the global setup to the global teardown (the same process).
  var __e2eTeardown: (() => Promise<void>) | undefined
}

/**
 * Once per run: builds the H5 app against a free port (or reuses the build in
 * `E2E_REUSE_BUILD`), serves it, and publishes both for the test files.
 * `E2E_KEEP_BUILD=1` keeps the build folder for such a re-run.
 */
export default async function globalSetup(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw Object.assign(new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium`), { code: 'E2E_NO_CHROMIUM' })
  }
  const reuseDir = process.env.E2E_REUSE_BUILD
  const workDir = reuseDir ?? await mkdtemp(path.join(os.tmpdir(), 'e2e-h5-'))
  let build: H5Build
  let plainBuild: H5Build
  try {
    // One after the other: two builds at once would only fight over two cores.
    build = reuseDir ? await readBuild(reuseDir) : await buildH5({ workDir, wsPort: await getFreePort(), token: BUILD_TOKEN })
    plainBuild = reuseDir
      ? await readBuild(reuseDir, 'plain')
      : await buildH5({ workDir, wsPort: await getFreePort(), token: BUILD_TOKEN, protocol: 'plain' })
  } catch (error) {
    if (!reuseDir) await rm(workDir, { recursive: true, force: true })
    throw error
  }
  const site = await serveStatic(build.dir)
  const plainSite = await serveStatic(plainBuild.dir)
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-run-'))
  const reportFile = path.join(stateDir, 'figures.jsonl')
  publishRun({
    appUrl: site.url,
    wsPort: build.wsPort,
    token: build.token,
    buildDir: build.dir,
    plain: { appUrl: plainSite.url, wsPort: plainBuild.wsPort },
    reportFile,
  })
  console.log(`\n[e2e] H5 builds ${reuseDir ? `reused from ${reuseDir}` : `took ${build.builtMs} + ${plainBuild.builtMs} ms (v1, plain)`}; served at ${site.url} and ${plainSite.url}, socket ports ${build.wsPort} and ${plainBuild.wsPort}`)

  const keep = reuseDir !== undefined || process.env.E2E_KEEP_BUILD === '1'
  if (keep && !reuseDir) console.log(`[e2e] build kept: E2E_REUSE_BUILD=${workDir}`)
  globalThis.__e2eTeardown = async () => {
    console.log(`\n${formatReport(reportFile)}`)
    await rm(stateDir, { recursive: true, force: true })
    await site.close()
    await plainSite.close()
    if (!keep) await rm(workDir, { recursive: true, force: true })
  }
}
