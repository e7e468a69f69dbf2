import { createPageInstance, type PageInstance, type PageInstanceHost, type PageOptions } from './page-instance'

/** WeChat keeps at most this many pages on the stack. */
export const MAX_PAGE_STACK = 10

export type PageLifecycle = 'onLoad' | 'onShow' | 'onReady' | 'onHide' | 'onUnload'

/** A navigation WeChat refused; `errMsg` is what the fail callback receives. */
export class NavigationError extends Error {
  readonly code = 'navigation_failed'
  constructor(readonly errMsg: string) {
    super(errMsg)
    this.name = 'NavigationError'
  }
}

export interface PageStackHost extends PageInstanceHost {
  /** Calls a lifecycle of a page, recording it and reporting what it throws. */
  callPage(instance: PageInstance, hook: PageLifecycle, arg?: unknown): void
}

/**
 * The page stack and its lifecycles, in WeChat's order:
 * open: `onLoad`, `onShow`, `onReady`; navigateTo: current `onHide`, then the new page opens;
 * navigateBack: the closed pages `onUnload` (top first), then the uncovered page `onShow`;
 * redirectTo: current `onUnload`, then the new page opens; reLaunch: every page `onUnload`.
 */
export class PageStack {
  private readonly registry = new Map<string, PageOptions>()
  private readonly stack: PageInstance[] = []

  constructor(private readonly host: PageStackHost) {}

  /** Records the options a page file passed to `Page()`. */
  register(route: string, options: PageOptions): void {
    this.registry.set(route, options)
  }

  /** Routes that called `Page()`. */
  get routes(): string[] {
    return [...this.registry.keys()]
  }

  /** The pages from bottom to top (what `getCurrentPages()` answers). */
  get pages(): PageInstance[] {
    return [...this.stack]
  }

  get top(): PageInstance | undefined {
    return this.stack[this.stack.length - 1]
  }

  /** Opens the first page (launch): no page is hidden. */
  open(url: string): PageInstance {
    return this.push(url)
  }

  navigateTo(url: string): PageInstance {
    if (this.stack.length >= MAX_PAGE_STACK) throw new NavigationError('navigateTo:fail webview count limit exceed')
    this.resolve('navigateTo', url)
    const current = this.top
    if (current) this.host.callPage(current, 'onHide')
    return this.push(url)
  }

  navigateBack(delta = 1): PageInstance {
    if (this.stack.length <= 1) throw new NavigationError('navigateBack:fail cannot navigate back at first page.')
    const count = Math.min(Math.max(1, delta), this.stack.length - 1)
    for (let i = 0; i < count; i++) {
      const closing = this.stack.pop()!
      this.host.callPage(closing, 'onUnload')
    }
    const uncovered = this.top!
    this.host.callPage(uncovered, 'onShow')
    return uncovered
  }

  redirectTo(url: string): PageInstance {
    this.resolve('redirectTo', url)
    const current = this.stack.pop()
    if (current) this.host.callPage(current, 'onUnload')
    return this.push(url)
  }

  reLaunch(url: string): PageInstance {
    this.resolve('reLaunch', url)
    this.unloadAll()
    return this.push(url)
  }

  /** Unloads every page, top first. */
  unloadAll(): void {
    while (this.stack.length > 0) this.host.callPage(this.stack.pop()!, 'onUnload')
  }

  /** Forgets every page without lifecycles (the app was killed). */
  drop(): void {
    this.stack.length = 0
  }

  private push(url: string): PageInstance {
    const { route, query, options } = this.resolve('navigateTo', url)
    const instance = createPageInstance(route, options, query, this.host)
    this.stack.push(instance)
    this.host.callPage(instance, 'onLoad', { ...query })
    this.host.callPage(instance, 'onShow')
    this.host.callPage(instance, 'onReady')
    return instance
  }

  private resolve(api: string, url: string): { route: string; query: Record<string, string>; options: PageOptions } {
    const [rawPath = '', rawQuery = ''] = url.split('?')
    const route = resolveRoute(rawPath, this.top?.route)
    const options = this.registry.get(route)
    if (!options) throw new NavigationError(`${api}:fail page "${route}" is not found`)
    return { route, query: parseQuery(rawQuery), options }
  }
}

/** `/pages/a/index` → `pages/a/index`; a relative path is taken from the current page's folder. */
export function resolveRoute(path: string, currentRoute: string | undefined): string {
  if (path.startsWith('/')) return path.slice(1)
  if (!currentRoute) return path
  const parts = currentRoute.split('/').slice(0, -1)
  for (const segment of path.split('/')) {
    if (segment === '..') parts.pop()
    else if (segment !== '.' && segment !== '') parts.push(segment)
  }
  return parts.join('/')
}

export function parseQuery(query: string): Record<string, string> {
  const result: Record<string, string> = {}
  for (const pair of query.split('&')) {
    if (!pair) continue
    const [key = '', value = ''] = pair.split('=')
    result[decodeURIComponent(key)] = decodeURIComponent(value)
  }
  return result
}
