/**
 * An error with a stable `code` that callers and tests match: thrown by method handlers for
 * method-specific failures (`already_confirmed`, `bad_request` …, answered as `res` errors) and by
 * push() for pushes it refuses (`bad_request`, `too_large`).
 */
export class CodedError extends Error {
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.name = 'CodedError'
    this.code = code
  }
}

/** True when `error` is a CodedError. */
export function isCodedError(error: unknown): error is CodedError {
  return error instanceof CodedError
}

/** A log-friendly description of anything thrown: the stack when there is one. */
export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}
