import { BUILD_TIME_DEFAULTS, buildTimeSettings } from '../../../config/settings'

describe('build-time settings', () => {
  it('bakes the defaults of APP_CONTRACT.md when nothing is set', () => {
    expect(buildTimeSettings({})).toEqual({
      'process.env.TARO_APP_WS_URL': JSON.stringify(BUILD_TIME_DEFAULTS.TARO_APP_WS_URL),
      'process.env.TARO_APP_WS_TOKEN': '"dev-token"',
      'process.env.TARO_APP_WS_PROTOCOL': '"v1"',
      'process.env.TARO_APP_WS_KEEPALIVE_MS': '""',
    })
    expect(BUILD_TIME_DEFAULTS.TARO_APP_WS_URL).toBe('ws://127.0.0.1:8787/ws')
  })

  it('lets the shell win', () => {
    const constants = buildTimeSettings({ TARO_APP_WS_URL: 'wss://example.com/ws', TARO_APP_WS_PROTOCOL: 'plain' })
    expect(constants['process.env.TARO_APP_WS_URL']).toBe('"wss://example.com/ws"')
    expect(constants['process.env.TARO_APP_WS_PROTOCOL']).toBe('"plain"')
  })

  it('refuses an unknown protocol with a clear error', () => {
    expect(() => buildTimeSettings({ TARO_APP_WS_PROTOCOL: 'v2' })).toThrow('TARO_APP_WS_PROTOCOL must be "v1" or "plain", got "v2"')
  })

  it('takes a plain-mode keepalive in milliseconds, and refuses anything else', () => {
    expect(buildTimeSettings({ TARO_APP_WS_KEEPALIVE_MS: '15000' })['process.env.TARO_APP_WS_KEEPALIVE_MS']).toBe('"15000"')
    expect(() => buildTimeSettings({ TARO_APP_WS_KEEPALIVE_MS: '15s' })).toThrow('TARO_APP_WS_KEEPALIVE_MS must be a number of milliseconds')
    expect(() => buildTimeSettings({ TARO_APP_WS_KEEPALIVE_MS: '10' })).toThrow('≥ 100')
  })
})
