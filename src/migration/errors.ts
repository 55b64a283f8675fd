/**
 * The one error a snapshot load (or a capture that cannot be honoured) throws. Its message is a
 * single line that starts with "snapshot" and says what is wrong, so a CLI can print it as is;
 * `code` lets a program tell the refusals apart without parsing text.
 */

/** Why a snapshot was refused (the `code` of a {@link SnapshotError}). */
export type SnapshotErrorCode =
  /** Not a snapshot at all (wrong magic). */
  | 'bad-magic'
  /** Fewer bytes than the container announces (or than its header needs). */
  | 'truncated'
  /** More bytes than the container announces. */
  | 'trailing-bytes'
  /** CRC-32 mismatch: the bytes were damaged after writing. */
  | 'checksum'
  /** A container format version this build does not read. */
  | 'format-version'
  /** A section version this build does not read. */
  | 'section-version'
  /** The snapshot needs a capability the target lacks (or one this build does not know). */
  | 'capability'
  /** The target machine is not shaped like the one the snapshot was taken from. */
  | 'incompatible'
  /** A section this build does not know (written by a newer build). */
  | 'unknown-section'
  /** Well-formed container whose contents contradict themselves (unknown section, bad sizes…). */
  | 'corrupt'
  /** The capture was asked for something the machine cannot provide. */
  | 'unsupported';

/**
 * A snapshot was refused (damaged, truncated, foreign, unsatisfiable) or could not be made; `code`
 * says which.
 */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';

  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
  ) {
    // Messages never span lines: whatever is embedded (a halted reason, a section id) is flattened.
    super(message.replace(/[\r\n]+/g, ' '));
  }
}
