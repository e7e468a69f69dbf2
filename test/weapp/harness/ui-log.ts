/** The UI calls the app made (`showToast`, `showLoading`, `hideLoading`, `showModal`, …), in order. */

export interface UiCall {
  api: string
  options: Record<string, unknown>
  atMs: number
}

export class UiLog {
  readonly calls: UiCall[] = []
  /** What `showModal` answers: the confirm button by default. */
  modalAnswer: { confirm: boolean; cancel: boolean } = { confirm: true, cancel: false }

  record(api: string, options: unknown): void {
    const copy = options && typeof options === 'object' ? { ...(options as Record<string, unknown>) } : {}
    for (const key of ['success', 'fail', 'complete']) delete copy[key]
    this.calls.push({ api, options: copy, atMs: Date.now() })
  }

  /** The calls of one api, e.g. `of('showToast')`. */
  of(api: string): UiCall[] {
    return this.calls.filter((call) => call.api === api)
  }

  /** The titles of every toast shown so far. */
  get toasts(): string[] {
    return this.of('showToast').map((call) => String(call.options.title ?? ''))
  }
}
