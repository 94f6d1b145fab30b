// Errors of the daemon and the HTTP layer that a client caused: each names what went wrong and maps to one status.

import { BtError, ExitCode } from '../errors.js'

export type ApiErrorKind = 'invalid' | 'unauthorized' | 'forbidden' | 'not_found' | 'duplicate' | 'conflict' | 'too_large' | 'unavailable' | 'bad_gateway'

const STATUS: Record<ApiErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  duplicate: 409,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  bad_gateway: 502,
}

export class ApiError extends BtError {
  readonly status: number
  constructor(readonly kind: ApiErrorKind, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message, kind === 'bad_gateway' || kind === 'unavailable' ? ExitCode.network : ExitCode.usage)
    this.status = STATUS[kind]
  }
}

export const invalid = (message: string) => new ApiError('invalid', message)
export const notFound = (message: string) => new ApiError('not_found', message)
