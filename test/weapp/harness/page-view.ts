import { findAll, findById, textContent, treeText, type RenderNode } from './render-tree'
import type { PageInstance } from './page-instance'

/** A stable error for a test that asks for an element the page does not render. */
export class ElementNotFoundError extends Error {
  readonly code = 'element_not_found'
  constructor(readonly route: string, readonly elementId: string, knownIds: string[]) {
    super(`no element with id "${elementId}" on ${route}; ids on the page: ${knownIds.join(', ') || '(none)'}`)
    this.name = 'ElementNotFoundError'
  }
}

export interface PageViewHost {
  /** Throws if the app cannot take input now (hidden, killed). */
  assertInteractive(action: string): void
  /** Runs an app event handler, reporting what it throws. */
  run(work: () => void): void
}

/** The test's view of one page: its rendered text, elements by id, and taps. */
export class PageView {
  constructor(readonly instance: PageInstance, private readonly host: PageViewHost) {}

  /** The page's route, e.g. `pages/index/index`. */
  get route(): string {
    return this.instance.route
  }

  /** Taro's render tree, as the WXML templates would receive it. */
  get root(): RenderNode | undefined {
    return this.instance.data.root as RenderNode | undefined
  }

  /** The rendered page as text: one line per element holding text, `#id` in front when it has one. */
  text(): string {
    return treeText(this.root)
  }

  /** The text of the element whose `id` prop is `id` (all text nodes under it, concatenated); throws ElementNotFoundError. */
  textOf(id: string): string {
    return textContent(this.element(id))
  }

  /** The text of the element with id `id`, or null when the page does not render it. */
  maybeTextOf(id: string): string | null {
    const node = findById(this.root, id)
    return node ? textContent(node) : null
  }

  /** True when an element with id `id` is rendered. */
  has(id: string): boolean {
    return findById(this.root, id) !== null
  }

  /** The ids (`id` props) of rendered elements starting with `prefix`, in document order. */
  ids(prefix = ''): string[] {
    // Elements without an id prop carry their sid as uid; the page root carries no sid.
    return findAll(this.root, (uid) => uid.startsWith(prefix)).filter((node) => typeof node.sid === 'string' && node.uid !== node.sid).map((node) => node.uid!)
  }

  /** The texts of the direct children of element `id` (e.g. the entries of a list). */
  childTexts(id: string): string[] {
    return (this.element(id).cn ?? []).map((child) => textContent(child))
  }

  /** The render node for element `id`; throws ElementNotFoundError. */
  element(id: string): RenderNode {
    const node = findById(this.root, id)
    if (!node) throw new ElementNotFoundError(this.route, id, this.ids())
    return node
  }

  /**
   * Taps element `id` as WeChat would: through the page's `eh` handler, with the element's
   * `sid` in the dataset, which is how Taro finds the React handler.
   */
  tap(id: string): void {
    this.host.assertInteractive(`tap #${id}`)
    const node = this.element(id)
    const handler = this.instance.eh
    if (typeof handler !== 'function') throw new Error(`page ${this.route} has no eh event handler`)
    const target = { id: node.uid ?? id, dataset: { sid: node.sid }, offsetLeft: 0, offsetTop: 0 }
    const event = {
      type: 'tap',
      timeStamp: Date.now(),
      target,
      currentTarget: { ...target, dataset: { ...target.dataset } },
      detail: { x: 0, y: 0 },
      touches: [],
      changedTouches: [],
      mark: {},
      mut: false,
    }
    this.host.run(() => handler.call(this.instance, event))
  }
}
