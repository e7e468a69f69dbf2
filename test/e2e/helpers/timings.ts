import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { readRun } from './run-info'

interface Figure {
  label: string
  value: number
  unit: string
}

/**
 * Prints a measured figure the way every e2e test reports it, e.g.
 * `[e2e] visibility: shown to socket open: 81 ms`, and adds it to the run's summary, which
 * the global teardown prints. Returns `value`, for assertions.
 */
export function reportFigure(label: string, value: number, unit: string): number {
  const figure: Figure = { label, value: Math.round(value), unit }
  console.log(`[e2e] ${label}: ${figure.value}${unit ? ` ${unit}` : ''}`)
  appendFileSync(readRun().reportFile, `${JSON.stringify(figure)}\n`)
  return value
}

/** `reportFigure` in milliseconds. */
export function reportTime(label: string, ms: number): number {
  return reportFigure(label, ms, 'ms')
}

/** The figures reported during the run, one per line, for the end of the output. */
export function formatReport(reportFile: string): string {
  if (!existsSync(reportFile)) return '[e2e] no figures were reported'
  const figures = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Figure)
  const width = Math.max(...figures.map((figure) => figure.label.length))
  const rows = figures.map((figure) => `  ${figure.label.padEnd(width)}  ${String(figure.value).padStart(6)} ${figure.unit}`)
  return ['[e2e] measured in this run:', ...rows].join('\n')
}
