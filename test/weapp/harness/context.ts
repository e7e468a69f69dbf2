import vm from 'node:vm'
import type { ContextTimers } from './timers'

/** Where the app's console output goes. */
export interface ConsoleEntry {
  level: 'log' | 'info' | 'warn' | 'error' | 'debug'
  text: string
  atMs: number
}

export type ConsoleEcho = 'all' | 'errors' | 'none'

export interface ContextGlobals {
  /** The host's API object and the global it lives on (`wx`, `my`, `tt`). */
  api: { name: string; value: Record<string, unknown> }
  App: (options: Record<string, unknown>) => void
  Page: (options: Record<string, unknown>) => void
  Component: (options: Record<string, unknown>) => void
  Behavior: (options: Record<string, unknown>) => unknown
  getApp: () => unknown
  getCurrentPages: () => unknown[]
  requirePlugin: (name: string) => unknown
  timers: ContextTimers
  /** The app's clock in ms since the epoch: `Date.now()` and `new Date()` follow it. */
  now: () => number
  /** Receives every console call of the app. */
  log: (entry: ConsoleEntry) => void
  /** More globals (e.g. to give the app something WeChat has and this harness lacks). */
  extra?: Record<string, unknown>
}

/**
 * A fresh `vm` context with what a mini-program's logic layer offers and nothing of Node's: no
 * `process`, `Buffer`, `require`, `TextEncoder`, `URL` or `queueMicrotask`.
 */
export function createAppContext(globals: ContextGlobals): vm.Context {
  const format = (args: unknown[]) => args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg))).join(' ')
  const consoleFor = (level: ConsoleEntry['level']) => (...args: unknown[]) => globals.log({ level, text: format(args), atMs: Date.now() })
  const sandbox: Record<string, unknown> = {
    [globals.api.name]: globals.api.value,
    App: globals.App,
    Page: globals.Page,
    Component: globals.Component,
    Behavior: globals.Behavior,
    getApp: globals.getApp,
    getCurrentPages: globals.getCurrentPages,
    requirePlugin: globals.requirePlugin,
    ...globals.timers,
    console: {
      log: consoleFor('log'),
      info: consoleFor('info'),
      warn: consoleFor('warn'),
      error: consoleFor('error'),
      debug: consoleFor('debug'),
      trace: consoleFor('debug'),
      group: () => undefined,
      groupEnd: () => undefined,
      time: () => undefined,
      timeEnd: () => undefined,
    },
    ...globals.extra,
  }
  const context = vm.createContext(sandbox, { name: 'weapp' })
  installClock(context, globals.now)
  return context
}

/** Replaces the context's `Date` with one whose `now()` and no-argument form follow `now`. */
function installClock(context: vm.Context, now: () => number): void {
  const install = vm.runInContext(`(function (now) {
    var RealDate = Date;
    function AppDate() {
      if (!new.target) return new RealDate(now()).toString();
      if (arguments.length === 0) return new RealDate(now());
      return new (Function.prototype.bind.apply(RealDate, [null].concat(Array.prototype.slice.call(arguments))))();
    }
    AppDate.prototype = RealDate.prototype;
    AppDate.now = function () { return now(); };
    AppDate.parse = RealDate.parse;
    AppDate.UTC = RealDate.UTC;
    globalThis.Date = AppDate;
  })`, context) as (nowFn: () => number) => void
  install(now)
}

function inspect(value: unknown): string {
  if (value instanceof Error || (value && typeof value === 'object' && 'stack' in value && 'message' in value)) {
    const error = value as Error
    return error.stack ?? `${error.name}: ${error.message}`
  }
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}
