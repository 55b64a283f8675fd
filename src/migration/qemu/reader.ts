/**
 * Reading a QEMU 7.2 migration stream of a pseries machine, in passes over a ByteSource:
 *
 *   1. the tail: the VM description QEMU writes after the end-of-stream record;
 *   2. every record from the start, with the description walking the device sections: the
 *      interrupt sections are decoded, RAM pages only counted;
 *   3. the RAM records again, keeping the pages the interrupt state refers to (the event queues
 *      named by the END table, which comes after the RAM).
 *
 * Memory stays bounded by the device state and the kept pages, whatever the guest's RAM size.
 * A stream whose tail holds no description is truncated or damaged at its end; the reader then
 * walks what it can to say in which section the stream stops.
 */
import { QemuStreamError } from './errors.ts';
import { isQemuStream, REC_SECTION_FOOTER, REC_SECTION_FULL, SPAPR_RAM_BLOCK } from './format.ts';
import { Cursor, type ByteSource } from './source.ts';
import { findDescription, readDescription, type VmDescription } from './vmdesc.ts';
import { DeviceSectionsNeedDescription, walkRecords, type StreamLayout } from './records.ts';
import { decodePseries, InterruptSections, type QemuPseriesState } from './pseries.ts';
import { eventQueuePages } from './model.ts';

/** A QEMU migration stream as read: its records, its VM description and the pseries interrupt state. */
export interface QemuStream {
  /** Bytes in the stream. */
  size: number;
  /** Where each record and section is. */
  layout: StreamLayout;
  /** The JSON VM description at the end of the stream. */
  description: VmDescription;
  /** The machine type of the configuration section (e.g. pseries-7.2). */
  machineType: string;
  /** The RAM block holding the guest's memory (guest physical address 0). */
  ramBlock: { name: string; size: number };
  /** The decoded interrupt sections. */
  state: QemuPseriesState;
  /** The event-queue pages (guest physical address -> 4 KiB), as the stream last sent them. */
  pages: Map<number, Uint8Array>;
}

/** Reads the stream's structure, its pseries interrupt state and the event-queue pages. */
export function readQemuStream(src: ByteSource): QemuStream {
  const s = readStructure(src);
  const want = eventQueuePages(s.state, s.description.pageSize);
  s.pages = collectPages(src, s.description, s.ramBlock.name, new Set(want));
  return s;
}

/** Passes 1 and 2: description, records, decoded interrupt state (no pages yet). */
export function readStructure(src: ByteSource): QemuStream {
  const head = new Uint8Array(Math.min(8, src.size));
  src.read(0, head);
  if (!isQemuStream(head)) {
    throw new QemuStreamError('not-a-stream', { offset: 0, where: 'the file header' }, `not a QEMU migration stream (it does not start with "QEVM")`);
  }
  const at = findDescription(src);
  if (at === null) diagnoseMissingDescription(src);
  const description = readDescription(src, at);
  const secs = new InterruptSections();
  const layout = walkRecords(new Cursor(src), description, { keep: secs.keep, device: secs.add });
  if (layout.machineType === null) {
    throw new QemuStreamError('unsupported', { offset: 8, where: 'the file header' }, 'the stream has no configuration record naming its machine type');
  }
  const ramBlock = layout.ramBlocks.find((b) => b.name === SPAPR_RAM_BLOCK) ?? (layout.ramBlocks.length === 1 ? layout.ramBlocks[0]! : null);
  if (ramBlock === null) {
    const ram = layout.sections.find((x) => x.name === 'ram');
    throw new QemuStreamError('unsupported', { offset: ram?.offset ?? 8, where: "section 'ram'" }, `no RAM block '${SPAPR_RAM_BLOCK}' (the pseries guest memory) among ${layout.ramBlocks.map((b) => `'${b.name}'`).join(', ') || 'none'}`);
  }
  const state = decodePseries(layout.machineType, ramBlock.size, secs, { offset: layout.configOffset });
  return { size: src.size, layout, description, machineType: layout.machineType, ramBlock, state, pages: new Map() };
}

/** Pass 3: the last copy of each wanted page of `block` (zero pages as zero-filled pages). */
export function collectPages(src: ByteSource, desc: VmDescription, block: string, want: ReadonlySet<number>): Map<number, Uint8Array> {
  const pages = new Map<number, Uint8Array>();
  if (want.size === 0) return pages;
  try {
    walkRecords(new Cursor(src), null, {
      page(p) {
        if (p.block !== block || !want.has(p.addr)) return;
        const data = new Uint8Array(desc.pageSize);
        if (p.kind === 'page') src.read(p.dataOffset, data);
        else data.fill(p.fill);
        pages.set(p.addr, data);
      },
    });
  } catch (e) {
    // The RAM comes before the device sections: reaching them ends the pass.
    if (!(e instanceof DeviceSectionsNeedDescription)) throw e;
  }
  return pages;
}

/**
 * No description at the tail: the stream is cut short or its end is damaged. Walk the records
 * the reader can walk without one (header, RAM, hash table) — a cut there is reported exactly —
 * then look for the last section header before the end to name where it stops.
 */
function diagnoseMissingDescription(src: ByteSource): never {
  let first: DeviceSectionsNeedDescription;
  let layout: StreamLayout;
  try {
    layout = walkRecords(new Cursor(src), null);
  } catch (e) {
    if (!(e instanceof DeviceSectionsNeedDescription)) throw e;
    first = e;
    const last = lastDeviceHeader(src, first.offset) ?? { ...first.section, offset: first.offset };
    throw new QemuStreamError(
      'truncated',
      { offset: src.size, where: `section '${last.name}' instance ${last.instance} (its record starts at byte ${last.offset})` },
      'the stream ends without its end-of-stream record and VM description: it is cut short, or its end is damaged',
    );
  }
  throw new QemuStreamError(
    'truncated',
    { offset: layout.eofOffset, where: 'the end-of-stream record' },
    `no VM description follows the end-of-stream record (the stream has ${src.size - layout.eofOffset - 1} byte(s) after it): it is cut short, or QEMU was told not to write one`,
  );
}

/**
 * The last full-section header at or after `from`: a footer (0x7e and a section id) directly
 * followed by the full-section byte, a larger id, a printable name, an instance and a small
 * version. A heuristic, used only to name where a stream without its tail stops.
 */
function lastDeviceHeader(src: ByteSource, from: number): { name: string; instance: number; offset: number } | null {
  const win = new Uint8Array(1 << 20);
  const overlap = 300;
  let best: { name: string; instance: number; offset: number } | null = null;
  for (let base = from; base < src.size; base += win.length - overlap) {
    const n = src.read(base, win);
    const v = new DataView(win.buffer, 0, n);
    for (let i = 5; i + 10 < n; i++) {
      if (win[i] !== REC_SECTION_FULL || win[i - 5] !== REC_SECTION_FOOTER) continue;
      const prev = v.getUint32(i - 4, false);
      const id = v.getUint32(i + 1, false);
      const len = win[i + 5]!;
      if (id <= prev || id - prev > 4096 || len === 0 || i + 6 + len + 8 > n) continue;
      let name = '';
      let ok = true;
      for (let k = 0; k < len && ok; k++) {
        const ch = win[i + 6 + k]!;
        ok = ch > 0x20 && ch < 0x7f;
        name += String.fromCharCode(ch);
      }
      if (!ok || v.getUint32(i + 6 + len + 4, false) > 0xff) continue;
      best = { name, instance: v.getUint32(i + 6 + len, false), offset: base + i };
    }
    if (n < win.length) break;
  }
  return best;
}
