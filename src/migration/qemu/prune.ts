/**
 * A pruned copy of a QEMU migration stream: the same bytes QEMU wrote, except that the RAM
 * section keeps only the page records of the pages the interrupt state refers to (the event
 * queues), plus each record that names its RAM block, so that every kept record that continues a
 * block still follows one naming it. Every other byte — header, configuration, RAM block list,
 * each record's section header and footer and end-of-section mark, the hash table, every device
 * section, the VM description — is copied unchanged, so the copy is still a valid stream, and
 * pruning it again changes nothing.
 */
import { Cursor, type ByteSource } from './source.ts';
import { DeviceSectionsNeedDescription, walkRecords } from './records.ts';
import { readStructure } from './reader.ts';
import { eventQueuePages } from './model.ts';

/** Where the pruned stream goes, in order. */
export interface ByteSink {
  /** Takes the next bytes; they are only valid during the call (the buffer is reused). */
  write(bytes: Uint8Array): void;
}

/** What pruneQemuStream kept and dropped. */
export interface PruneResult {
  /** Page records kept and dropped. */
  kept: number;
  dropped: number;
  /** Bytes written. */
  bytes: number;
  /** Guest addresses of the event-queue pages kept. */
  pages: number[];
}

const CHUNK = 1 << 20;

/** Checks the whole stream (as a read does), then writes its pruned copy to `sink`. */
export function pruneQemuStream(src: ByteSource, sink: ByteSink): PruneResult {
  const s = readStructure(src);
  const pages = eventQueuePages(s.state, s.description.pageSize);
  const want = new Set(pages);
  const result: PruneResult = { kept: 0, dropped: 0, bytes: 0, pages };
  let copied = 0;
  const buf = new Uint8Array(CHUNK);
  const copy = (to: number): void => {
    while (copied < to) {
      const n = Math.min(CHUNK, to - copied);
      const part = n === CHUNK ? buf : buf.subarray(0, n);
      src.read(copied, part);
      sink.write(part);
      copied += n;
      result.bytes += n;
    }
  };
  try {
    walkRecords(new Cursor(src), null, {
      page(p) {
        if (p.namesBlock || (p.block === s.ramBlock.name && want.has(p.addr))) {
          result.kept++;
          return;
        }
        copy(p.recordOffset);
        copied = p.recordOffset + p.recordLength;
        result.dropped++;
      },
    });
  } catch (e) {
    if (!(e instanceof DeviceSectionsNeedDescription)) throw e;
  }
  copy(src.size);
  return result;
}
