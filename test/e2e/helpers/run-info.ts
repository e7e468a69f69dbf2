/**
 * What the global setup hands to every test file: where the built app is served and which
 * port its socket URL points at. Passed through the environment, which Jest's test files share
 * with the global setup (and inherit, when they run in workers).
 */
export interface E2eRun {
  /** The static server's root, e.g. `http://127.0.0.1:40123/`. */
  appUrl: string
  /** The port baked into the build's `TARO_APP_WS_URL`: every test's reference server listens here. */
  wsPort: number
  /** The `TARO_APP_WS_TOKEN` baked into the build. */
  token: string
  /** The folder the H5 build was written to. */
  buildDir: string
  /** The plain-mode build (TARO_APP_WS_PROTOCOL=plain), for a backend of the original kind. */
  plain: { appUrl: string; wsPort: number }
  /** Where the tests append their measured figures (see timings.ts). */
  reportFile: string
}

const ENV_KEY = 'E2E_RUN'

/** Makes `run` readable by `readRun()` in this process and any worker it starts later. */
export function publishRun(run: E2eRun): void {
  process.env[ENV_KEY] = JSON.stringify(run)
}

/**
 * The run published by the global setup. Throws an error with code `E2E_NO_RUN` when the
 * file was started without it (e.g. by the root jest config instead of jest.e2e.config.js).
 */
export function readRun(): E2eRun {
  const raw = process.env[ENV_KEY]
  if (!raw) {
    throw Object.assign(new Error('No e2e run: start these tests with `npm run test:e2e` (jest.e2e.config.js)'), { code: 'E2E_NO_RUN' })
  }
  return JSON.parse(raw) as E2eRun
}
