import type { Page } from 'playwright-core'

/** Long enough for a cold page load on a busy 2-core machine, short enough to fail fast. */
export const DEFAULT_WAIT_MS = 15_000

/**
 * The trimmed text of the element with this id on the page being shown, or null when there is
 * none. Taro keeps the pages below in the DOM (hidden) after `navigateTo`, so an id such as
 * `conn-status` can appear twice: the one laid out wins.
 */
export async function readText(page: Page, id: string): Promise<string | null> {
  return page.evaluate((elementId) => {
    const matches = Array.from(document.querySelectorAll(`[id="${elementId}"]`))
    const shown = matches.find((element) => element.getClientRects().length > 0)
    return shown?.textContent?.trim() ?? null
  }, id)
}

/**
 * Waits until the shown element `#id` (see `readText`) has exactly the text `expected`, or
 * contains it when `match` is 'contains'; resolves with the ms it took. Rejects with code
 * `E2E_TIMEOUT`, naming what was shown instead.
 */
export async function waitForText(
  page: Page,
  id: string,
  expected: string,
  timeoutMs = DEFAULT_WAIT_MS,
  match: 'exact' | 'contains' = 'exact',
): Promise<number> {
  const startedAt = Date.now()
  try {
    await page.waitForFunction(
      ({ elementId, text, contains }) => {
        const matches = Array.from(document.querySelectorAll(`[id="${elementId}"]`))
        const shown = matches.find((element) => element.getClientRects().length > 0)
        const value = shown?.textContent?.trim()
        return value !== undefined && (contains ? value.includes(text) : value === text)
      },
      { elementId: id, text: expected, contains: match === 'contains' },
      { timeout: timeoutMs, polling: 'raf' },
    )
  } catch (error) {
    const shown = await readText(page, id).catch(() => '(page gone)')
    const wanted = `${match === 'contains' ? 'text containing' : 'the text'} ${JSON.stringify(expected)}`
    throw timeoutError(`#${id} did not show ${wanted} within ${timeoutMs} ms; it shows ${JSON.stringify(shown)}`, error)
  }
  return Date.now() - startedAt
}

/**
 * Waits until `selector` matches exactly `count` elements; resolves with the ms it took.
 * Rejects with code `E2E_TIMEOUT`, naming the count seen instead.
 */
export async function waitForCount(page: Page, selector: string, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
  const startedAt = Date.now()
  try {
    await page.waitForFunction(
      ({ css, expected }) => document.querySelectorAll(css).length === expected,
      { css: selector, expected: count },
      { timeout: timeoutMs, polling: 'raf' },
    )
  } catch (error) {
    const seen = await page.evaluate((css) => document.querySelectorAll(css).length, selector).catch(() => -1)
    throw timeoutError(`${selector} did not match ${count} elements within ${timeoutMs} ms; it matches ${seen}`, error)
  }
  return Date.now() - startedAt
}

/** The ids of the dashboard's listed orders (`order-<id>` elements inside `#orders`), top first. */
export async function listedOrderIds(page: Page): Promise<string[]> {
  return page.$$eval('#orders [id^="order-"]', (elements) => elements.map((element) => element.id.slice('order-'.length)))
}

/** The text of each entry of the notices feed, newest first. */
export async function noticeTexts(page: Page): Promise<string[]> {
  return page.$$eval('#notices > *', (elements) => elements.map((element) => element.textContent ?? ''))
}

/**
 * Waits until the newest entry of the notices feed contains `fragment`; resolves with the ms
 * it took. Rejects with code `E2E_TIMEOUT`, naming the newest entry instead.
 */
export async function waitForNewestNotice(page: Page, fragment: string, timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
  const startedAt = Date.now()
  try {
    await page.waitForFunction(
      (text) => document.querySelector('#notices > *')?.textContent?.includes(text) === true,
      fragment,
      { timeout: timeoutMs, polling: 'raf' },
    )
  } catch (error) {
    const [newest] = await noticeTexts(page).catch(() => ['(page gone)'])
    throw timeoutError(`the newest notice did not contain ${JSON.stringify(fragment)} within ${timeoutMs} ms; it reads ${JSON.stringify(newest ?? null)}`, error)
  }
  return Date.now() - startedAt
}

/**
 * Makes the page report itself hidden or visible the way a browser does (the `visibilityState`
 * and `hidden` properties, then a bubbling `visibilitychange` on `document`): headless Chromium
 * never switches tabs by itself.
 */
export async function setPageVisibility(page: Page, state: 'visible' | 'hidden'): Promise<void> {
  await page.evaluate((next) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => next })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => next === 'hidden' })
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))
  }, state)
}

function timeoutError(message: string, cause: unknown): Error {
  return Object.assign(new Error(message), { code: 'E2E_TIMEOUT', cause })
}
