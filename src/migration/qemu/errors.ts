/**
 * The one error a QEMU migration stream is refused with. Its message is a single line that says
 * where the reader was (the byte offset, and the section, record or field it was reading) and
 * what is wrong, so a command line can print it as it is; `code` tells the refusals apart.
 */

/** What kind of refusal a QemuStreamError is. */
export type QemuStreamErrorCode =
  /** Not a QEMU migration stream (wrong magic or file version). */
  | 'not-a-stream'
  /** The stream ends before its end-of-stream marker and VM description. */
  | 'truncated'
  /** The bytes contradict the format or the stream's own description. */
  | 'damaged'
  /** Well formed, but something this reader does not take: another machine, a section version,
   * a RAM page encoding, a postcopy command. */
  | 'unsupported'
  /** Well formed, but the interrupt state cannot be the state of a pseries machine. */
  | 'inconsistent';

/** Where in the stream a refusal happened. */
export interface StreamPlace {
  /** Byte offset in the stream. */
  offset: number;
  /** What was being read: "section 'spapr-xive' instance 0, field endt[3].w1", "the header", … */
  where: string;
}

/** A stream refused: the message is one line naming the byte offset and the section. */
export class QemuStreamError extends Error {
  override readonly name = 'QemuStreamError';

  constructor(
    readonly code: QemuStreamErrorCode,
    readonly place: StreamPlace,
    readonly detail: string,
  ) {
    super(`qemu stream ${VERB[code]} at byte ${place.offset} (0x${place.offset.toString(16)}), ${place.where}: ${detail}`.replace(/[\r\n]+/g, ' '));
  }
}

const VERB: Readonly<Record<QemuStreamErrorCode, string>> = {
  'not-a-stream': 'rejected',
  truncated: 'truncated',
  damaged: 'damaged',
  unsupported: 'not supported',
  inconsistent: 'rejected',
};
