/**
 * One error family for the whole kit. Every failure a user can meet carries a `code` that the CLI
 * maps to an exit code and that callers can branch on; the message says what is wrong and, where
 * there is one, what to do about it.
 */
export type LakehouseErrorCode =
  // storage
  | 'FILE_ALREADY_EXISTS'
  | 'NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'STORAGE_CONFIG'
  | 'STORAGE_TRANSIENT'
  | 'STORAGE'
  // protocol / log
  | 'NOT_A_TABLE'
  | 'TABLE_ALREADY_EXISTS'
  | 'CORRUPT_LOG'
  | 'VERSION_NOT_FOUND'
  | 'UNSUPPORTED_READER_FEATURE'
  | 'UNSUPPORTED_WRITER_FEATURE'
  | 'INVALID_PROTOCOL'
  | 'CONCURRENT_MODIFICATION'
  | 'CONCURRENT_APPEND'
  | 'CONCURRENT_DELETE_READ'
  | 'CONCURRENT_DELETE_DELETE'
  | 'METADATA_CHANGED'
  | 'PROTOCOL_CHANGED'
  | 'CONCURRENT_TRANSACTION'
  // data / schema
  | 'SCHEMA_MISMATCH'
  | 'SCHEMA_EVOLUTION_REFUSED'
  | 'INVALID_ARGUMENT'
  | 'INVALID_SPEC'
  | 'UNSAFE_OPERATION'
  // reconcile: some LakeTables failed or were refused (each report says why)
  | 'RECONCILE_FAILED'
  | 'MEMORY_LIMIT'
  | 'INTERNAL';

/** Codes that mean "the user gave us something wrong" (CLI exit code 2); everything else is 1. */
const USAGE_CODES: ReadonlySet<LakehouseErrorCode> = new Set<LakehouseErrorCode>([
  'INVALID_ARGUMENT',
  'INVALID_SPEC',
  'SCHEMA_MISMATCH',
  'STORAGE_CONFIG',
]);

export class LakehouseError extends Error {
  readonly code: LakehouseErrorCode;
  override readonly cause?: unknown;

  constructor(code: LakehouseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'LakehouseError';
    this.code = code;
    this.cause = options?.cause;
  }

  /** True when the failure was caused by bad input rather than by the operation. */
  get isUsageError(): boolean {
    return USAGE_CODES.has(this.code);
  }
}

/** Type guard that also narrows to a given code. */
export function isLakehouseError(err: unknown, code?: LakehouseErrorCode): err is LakehouseError {
  return err instanceof LakehouseError && (code === undefined || err.code === code);
}
