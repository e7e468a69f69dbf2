/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** The q-quantile (0..1) of `values` by linear interpolation; NaN when empty. Infinity sorts last. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  const lowValue = sorted[low]
  const highValue = sorted[high]
  if (lowValue === highValue) return lowValue
  if (!Number.isFinite(highValue)) return highValue
  return lowValue + (highValue - lowValue) * (at - low)
}

/** The largest of `values`; NaN when empty. */
export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values)
}

/** `value / reference`, or NaN when either is not a finite number or the reference is 0. */
export function ratio(value: number, reference: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return Number.NaN
  return value / reference
}

/** "1.23×", or "n/a" when the ratio is not finite. */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a'
}

/** Milliseconds as "850 ms" or "12.3 s"; "—" for NaN. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** An integer with thousands separators ("12,345"); "—" for NaN. */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—'
}

/** Bytes as "3,912 B (3.8 KB)". */
export function formatBytes(bytes: number): string {
  return `${formatCount(bytes)} B (${(bytes / 1024).toFixed(1)} KB)`
}
