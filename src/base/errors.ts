/**
 * Errors thrown for host/API misuse (never for guest input: guests get architected answers).
 * Each message says what was wrong and what to do instead.
 */
export class XiveUsageError extends Error {
  override readonly name: string = 'XiveUsageError';
}
