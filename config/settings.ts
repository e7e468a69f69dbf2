/** The app's build-time settings (shared/APP_CONTRACT.md), with their defaults. */
export const BUILD_TIME_DEFAULTS = {
  TARO_APP_WS_URL: 'ws://127.0.0.1:8787/ws',
  TARO_APP_WS_TOKEN: 'dev-token',
  TARO_APP_WS_PROTOCOL: 'v1',
  /** Plain mode only: send {"method":"ping"} this often (ms) and take a missing {"method":"pong"} as a dead link; '' = none. */
  TARO_APP_WS_KEEPALIVE_MS: '',
} as const

type SettingName = keyof typeof BUILD_TIME_DEFAULTS

/**
 * The `defineConstants` that bake the settings into the build: the shell's value when set,
 * else the default. Taro replaces each `process.env.NAME` in the sources with the literal.
 */
export function buildTimeSettings(env: Record<string, string | undefined>): Record<string, string> {
  const names = Object.keys(BUILD_TIME_DEFAULTS) as SettingName[]
  const protocol = env.TARO_APP_WS_PROTOCOL ?? BUILD_TIME_DEFAULTS.TARO_APP_WS_PROTOCOL
  if (protocol !== 'v1' && protocol !== 'plain') {
    throw new Error(`TARO_APP_WS_PROTOCOL must be "v1" or "plain", got "${protocol}"`)
  }
  const keepalive = env.TARO_APP_WS_KEEPALIVE_MS ?? ''
  if (keepalive !== '' && !(/^\d+$/.test(keepalive) && Number(keepalive) >= 100)) {
    throw new Error(`TARO_APP_WS_KEEPALIVE_MS must be a number of milliseconds ≥ 100, or empty, got "${keepalive}"`)
  }
  const constants: Record<string, string> = {}
  for (const name of names) {
    const value = env[name] ?? BUILD_TIME_DEFAULTS[name]
    constants[`process.env.${name}`] = JSON.stringify(value)
  }
  return constants
}
