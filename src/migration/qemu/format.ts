/**
 * The record layout of a QEMU 7.2 migration stream (what `migrate "exec:cat > FILE"` writes and
 * `-incoming` reads): the file header, the record types, the RAM page flags. The meaning of each
 * is in docs/qemu-migration-stream.md.
 */

/** "QEVM" and the file format version after it. */
export const QEMU_VM_FILE_MAGIC = 0x5145564d;
export const QEMU_VM_FILE_VERSION = 3;
/** The first bytes of every stream: the magic, big-endian. */
export const QEMU_STREAM_MAGIC = Uint8Array.of(0x51, 0x45, 0x56, 0x4d);

/** Record types (the byte that starts each record). */
export const REC_EOF = 0x00;
export const REC_SECTION_START = 0x01;
export const REC_SECTION_PART = 0x02;
export const REC_SECTION_END = 0x03;
export const REC_SECTION_FULL = 0x04;
export const REC_SUBSECTION = 0x05;
export const REC_VMDESCRIPTION = 0x06;
export const REC_CONFIGURATION = 0x07;
export const REC_COMMAND = 0x08;
export const REC_SECTION_FOOTER = 0x7e;

/** RAM page record flags, in the low bits of the page offset. */
export const RAM_FLAG_FULL = 0x01;
export const RAM_FLAG_ZERO = 0x02;
export const RAM_FLAG_MEM_SIZE = 0x04;
export const RAM_FLAG_PAGE = 0x08;
export const RAM_FLAG_EOS = 0x10;
export const RAM_FLAG_CONTINUE = 0x20;
export const RAM_FLAG_XBZRLE = 0x40;
export const RAM_FLAG_HOOK = 0x80;
export const RAM_FLAG_COMPRESS_PAGE = 0x100;

/** The iterative sections this reader parses itself (they have no VM description). */
export const RAM_SECTION = 'ram';
export const HTAB_SECTION = 'spapr/htab';
/** The section versions QEMU 7.2 writes for them. */
export const RAM_SECTION_VERSION = 4;
export const HTAB_SECTION_VERSION = 1;
/** The RAM block of a pseries machine's main memory (guest physical address 0). */
export const SPAPR_RAM_BLOCK = 'ppc_spapr.ram';

/** Does `head` (the first bytes of a file) start like a QEMU migration stream? */
export function isQemuStream(head: Uint8Array): boolean {
  return head.length >= QEMU_STREAM_MAGIC.length && QEMU_STREAM_MAGIC.every((b, i) => head[i] === b);
}
