/**
 * Walks the records of a QEMU 7.2 migration stream from its first byte to its end-of-stream
 * record: the file header, the configuration record (machine type), sections as start / part /
 * end records (iterative state: RAM, the hash page table) or full records (device state), each
 * closed by a footer naming its section again.
 *
 * The RAM section is parsed here (its block list, then page records: normal pages of
 * `pageSize` bytes and zero pages; other encodings are refused by name), and so is the sPAPR
 * hash page table; device sections are walked with the VM description (vmstate.ts), matched one
 * for one in stream order. Hooks see device values and page records as they pass; the walk
 * itself keeps only a summary per section, so its memory does not grow with the guest's RAM.
 */
import type { Cursor } from './source.ts';
import {
  HTAB_SECTION,
  HTAB_SECTION_VERSION,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  RAM_FLAG_COMPRESS_PAGE,
  RAM_FLAG_CONTINUE,
  RAM_FLAG_EOS,
  RAM_FLAG_FULL,
  RAM_FLAG_HOOK,
  RAM_FLAG_MEM_SIZE,
  RAM_FLAG_PAGE,
  RAM_FLAG_XBZRLE,
  RAM_FLAG_ZERO,
  RAM_SECTION,
  RAM_SECTION_VERSION,
  REC_COMMAND,
  REC_CONFIGURATION,
  REC_EOF,
  REC_SECTION_END,
  REC_SECTION_FOOTER,
  REC_SECTION_FULL,
  REC_SECTION_PART,
  REC_SECTION_START,
  REC_SUBSECTION,
} from './format.ts';
import type { DescDevice, VmDescription } from './vmdesc.ts';
import { walkVmsd, type VmsdValue } from './vmstate.ts';

/** One section as the listing shows it: all its records together. */
export interface SectionSummary {
  /** The section id the stream gives it (records of one section share it). */
  id: number;
  name: string;
  instance: number;
  version: number;
  /** 'iterative': start / part / end records; 'device': one full record. */
  kind: 'iterative' | 'device';
  /** Stream offset of its first record. */
  offset: number;
  records: number;
  /** Bytes of all its records: headers, contents, footers. */
  bytes: number;
}

/** A RAM page record (offsets in the stream). */
export interface PageRecord {
  block: string;
  /** Offset of the page in its block. */
  addr: number;
  kind: 'page' | 'zero';
  /** The byte a zero page is filled with (0 in every QEMU that writes version 4). */
  fill: number;
  /** The whole record: its offset+flags word, block name, fill byte or page bytes. */
  recordOffset: number;
  recordLength: number;
  /** Where the page bytes are (normal pages). */
  dataOffset: number;
  /** The record names its block (QEMU omits the name while it stays on the same block). */
  namesBlock: boolean;
}

export interface DeviceSection {
  name: string;
  instance: number;
  version: number;
  /** Stream offset of the section's record. */
  offset: number;
  /** The walked values, when the hooks asked to keep them. */
  value: VmsdValue | null;
}

export interface WalkHooks {
  /** Should the values of this device section be kept (and passed to `device`)? */
  keep?(name: string): boolean;
  device?(s: DeviceSection): void;
  page?(p: PageRecord): void;
}

/** The records of a stream: configuration, sections, RAM blocks. */
export interface StreamLayout {
  /** The configuration record's machine type name, or null when the stream has none. */
  machineType: string | null;
  /** Offset of the configuration record. */
  configOffset: number;
  sections: SectionSummary[];
  ramBlocks: { name: string; size: number }[];
  /** Do sections end with footers (QEMU's send-section-footer)? */
  footers: boolean;
  pages: { normal: number; zero: number };
  /** Offset of the end-of-stream record. */
  eofOffset: number;
}

/** Thrown by a walk without a VM description when it reaches the first device section. */
export class DeviceSectionsNeedDescription extends Error {
  constructor(
    readonly offset: number,
    readonly section: { name: string; instance: number },
  ) {
    super(`device section '${section.name}' at byte ${offset} needs the VM description`);
  }
}

interface OpenSection {
  summary: SectionSummary;
  /** START seen, END not yet. */
  open: boolean;
  parts: number;
}

/**
 * Walks the whole stream (or, without a description, up to its first device section, then throws
 * DeviceSectionsNeedDescription). Every refusal is a QemuStreamError naming the byte and section.
 */
export function walkRecords(c: Cursor, desc: VmDescription | null, hooks: WalkHooks = {}): StreamLayout {
  c.where = 'the file header';
  const magic = c.be32('the file magic');
  if (magic !== QEMU_VM_FILE_MAGIC) throw c.error('not-a-stream', `the file does not start with QEMU's migration magic "QEVM" (it starts 0x${magic.toString(16).padStart(8, '0')})`, 0);
  const version = c.be32('the file version');
  if (version !== QEMU_VM_FILE_VERSION) {
    throw c.error(version === 2 ? 'unsupported' : 'not-a-stream', `file version ${version} is not the version ${QEMU_VM_FILE_VERSION} that QEMU 7.2 writes`, 4);
  }
  const layout: StreamLayout = { machineType: null, configOffset: -1, sections: [], ramBlocks: [], footers: true, pages: { normal: 0, zero: 0 }, eofOffset: -1 };
  const byId = new Map<number, OpenSection>();
  const ram = new RamWalk(c, layout, hooks, desc?.pageSize ?? 4096);
  let nextDevice = 0;
  let footersKnown = false;

  for (;;) {
    const at = c.offset;
    c.where = 'a record header';
    const type = c.u8('a record type');
    if (type === REC_EOF) {
      layout.eofOffset = at;
      break;
    }
    if (type === REC_CONFIGURATION) {
      if (layout.configOffset >= 0 || layout.sections.length > 0) throw c.error('damaged', 'a configuration record appears after the stream has started', at);
      layout.configOffset = at;
      layout.machineType = readConfiguration(c);
      continue;
    }
    if (type === REC_COMMAND) throw c.error('unsupported', 'the stream holds a command record (postcopy, COLO or a packaged stream): only a plain precopy stream is read', at);
    if (type !== REC_SECTION_START && type !== REC_SECTION_PART && type !== REC_SECTION_END && type !== REC_SECTION_FULL) {
      throw c.error('damaged', `byte 0x${type.toString(16).padStart(2, '0')} is not a record type`, at);
    }
    const id = c.be32('the section id');
    let s: OpenSection;
    if (type === REC_SECTION_START || type === REC_SECTION_FULL) {
      c.where = `the header of section ${id}`;
      const name = c.name('the section name');
      const instance = c.be32('the instance id');
      const sv = c.be32('the version id');
      if (byId.has(id)) throw c.error('damaged', `section id ${id} ('${name}') is used twice`, at);
      const kind = type === REC_SECTION_START ? 'iterative' : 'device';
      s = { summary: { id, name, instance, version: sv, kind, offset: at, records: 0, bytes: 0 }, open: type === REC_SECTION_START, parts: 0 };
      byId.set(id, s);
      layout.sections.push(s.summary);
    } else {
      const known = byId.get(id);
      if (known === undefined) throw c.error('damaged', `a ${type === REC_SECTION_PART ? 'part' : 'end'} record names section id ${id}, which no start record opened`, at);
      if (!known.open) throw c.error('damaged', `a ${type === REC_SECTION_PART ? 'part' : 'end'} record follows the end of section '${known.summary.name}'`, at);
      s = known;
      s.parts++;
      if (type === REC_SECTION_END) s.open = false;
    }
    const { name, instance, version: sv } = s.summary;
    const label = type === REC_SECTION_FULL ? sectionLabel(name, instance) : `section '${name}' (${recordName(type, s.parts)})`;
    c.where = label;

    if (name === RAM_SECTION && s.summary.kind === 'iterative') {
      if (sv !== RAM_SECTION_VERSION) throw c.error('unsupported', `RAM section version ${sv} is not the version ${RAM_SECTION_VERSION} this reader takes`, at);
      ram.walk(label, type === REC_SECTION_START);
    } else if (name === HTAB_SECTION && s.summary.kind === 'iterative') {
      if (sv !== HTAB_SECTION_VERSION) throw c.error('unsupported', `hash page table section version ${sv} is not the version ${HTAB_SECTION_VERSION} this reader takes`, at);
      walkHtab(c, type === REC_SECTION_START);
    } else if (s.summary.kind === 'iterative') {
      throw c.error('unsupported', `iterative section '${name}' (block migration, dirty bitmaps, …) is not one this reader knows`, at);
    } else {
      if (desc === null) throw new DeviceSectionsNeedDescription(at, { name, instance });
      const d = desc.devices[nextDevice];
      if (d === undefined) throw c.error('damaged', `the VM description lists ${desc.devices.length} device sections; this is one more`, at);
      checkDescribes(c, d, s.summary, at);
      nextDevice++;
      const keep = hooks.keep?.(name) ?? false;
      const value = walkVmsd(c, d, keep, label);
      hooks.device?.({ name, instance, version: sv, offset: at, value });
    }

    // The footer: QEMU 7.2 writes one after every section record unless the machine type turned
    // them off; the first section tells which.
    c.where = `the footer of ${label}`;
    const next = c.peek8();
    if (!footersKnown) {
      layout.footers = next === REC_SECTION_FOOTER;
      footersKnown = true;
    }
    if (layout.footers) {
      const fat = c.offset;
      const f = c.u8('the section footer');
      if (f !== REC_SECTION_FOOTER) throw c.error('damaged', `the section should end with its footer (0x7e), found 0x${f.toString(16).padStart(2, '0')}${f === REC_SUBSECTION ? ' (a subsection the VM description does not list)' : ''}`, fat);
      const fid = c.be32('the footer section id');
      if (fid !== id) throw c.error('damaged', `the footer names section id ${fid}, not ${id}`, fat);
    }
    s.summary.records++;
    s.summary.bytes += c.offset - at;
  }

  for (const s of byId.values()) if (s.open) throw c.error('damaged', `the stream ends without the end record of section '${s.summary.name}'`, layout.eofOffset, 'the end-of-stream record');
  if (desc !== null) {
    if (nextDevice !== desc.devices.length) {
      throw c.error('damaged', `the VM description lists ${desc.devices.length} device sections, the stream has ${nextDevice}`, layout.eofOffset, 'the end-of-stream record');
    }
    if (layout.eofOffset !== desc.eofOffset) {
      throw c.error('damaged', `the end-of-stream record is at byte ${layout.eofOffset}, but the VM description follows the one at byte ${desc.eofOffset}`, layout.eofOffset, 'the end-of-stream record');
    }
  }
  return layout;
}

export function sectionLabel(name: string, instance: number): string {
  return `section '${name}' instance ${instance}`;
}

function recordName(type: number, parts: number): string {
  return type === REC_SECTION_START ? 'start' : type === REC_SECTION_END ? 'end' : `part ${parts}`;
}

/** The description's next device must be this section. */
function checkDescribes(c: Cursor, d: DescDevice, s: SectionSummary, at: number): void {
  if (d.name !== s.name || d.instanceId !== s.instance) {
    throw c.error('damaged', `the stream has '${s.name}' instance ${s.instance} where the VM description lists '${d.name}' instance ${d.instanceId}`, at);
  }
  if (d.version !== s.version) throw c.error('damaged', `the section header says version ${s.version}, the VM description ${d.version}`, at);
}

/** The configuration record: the machine type, then the subsections QEMU may add. */
function readConfiguration(c: Cursor): string {
  c.where = 'the configuration record';
  const len = c.be32('the machine type length');
  if (len === 0 || len > 255) throw c.error('damaged', `a machine type name of ${len} bytes`, c.offset - 4);
  let name = '';
  for (const b of c.bytes(len, 'the machine type')) {
    if (b < 0x20 || b > 0x7e) throw c.error('damaged', 'the machine type name holds a non-printable byte', c.offset - len);
    name += String.fromCharCode(b);
  }
  while (c.peek8() === REC_SUBSECTION) {
    const at = c.offset;
    c.u8('a subsection marker');
    const sub = c.name('the subsection name');
    c.where = `the configuration record, subsection ${sub}`;
    const v = c.be32('the subsection version');
    if (v !== 1) throw c.error('unsupported', `configuration subsection '${sub}' has version ${v}`, at);
    if (sub === 'configuration/target-page-bits') c.be32('the target page bits');
    else if (sub === 'configuration/uuid') c.skip(16, 'the VM UUID');
    else if (sub === 'configuration/capabilities') {
      const n = c.be32('the capability count');
      if (n > 64) throw c.error('damaged', `${n} capabilities`, c.offset - 4);
      for (let i = 0; i < n; i++) c.name('a capability name');
    } else throw c.error('unsupported', `configuration subsection '${sub}' is not one QEMU 7.2 writes`, at);
  }
  return name;
}

/**
 * The sPAPR hash page table section (radix guests have none): the start record holds the table
 * size as log2 (or -1: no table); part and end records hold -1, or 0 and chunks of valid entries
 * (first index, valid and invalid counts, 16 bytes per valid entry) ending with an empty chunk.
 */
function walkHtab(c: Cursor, start: boolean): void {
  const hdr = c.be32('the hash table header') | 0;
  if (start || hdr === -1) return;
  if (hdr !== 0) throw c.error('damaged', `hash table header ${hdr} is neither -1 nor 0`, c.offset - 4);
  for (;;) {
    const index = c.be32('a hash table chunk index');
    const valid = c.be16('a hash table chunk count');
    const invalid = c.be16('a hash table chunk count');
    if (index === 0 && valid === 0 && invalid === 0) return;
    c.skip(valid * 16, 'hash table entries');
  }
}

/** The RAM section: its block list, then page records up to each end-of-section flag. */
class RamWalk {
  private readonly blocks = new Map<string, number>();
  private last: string | null = null;
  private readonly flagMask: number;

  constructor(
    private readonly c: Cursor,
    private readonly layout: StreamLayout,
    private readonly hooks: WalkHooks,
    private readonly pageSize: number,
  ) {
    this.flagMask = pageSize - 1;
  }

  walk(label: string, start: boolean): void {
    const c = this.c;
    for (;;) {
      const at = c.offset;
      c.where = `${label}, the RAM record at byte ${at}`;
      const [hi, lo] = c.be64Words('a RAM record');
      const flags = lo & this.flagMask;
      const addr = hi * 0x1_0000_0000 + (lo - flags);
      const kind = flags & ~RAM_FLAG_CONTINUE;
      if (kind === RAM_FLAG_EOS) return;
      if (kind === RAM_FLAG_MEM_SIZE) {
        if (!start || this.blocks.size > 0) throw c.error('damaged', 'a RAM block list outside the start of the RAM section', at);
        this.blockList(addr);
        continue;
      }
      if (kind === RAM_FLAG_PAGE || kind === RAM_FLAG_ZERO) {
        this.page(at, addr, kind, (flags & RAM_FLAG_CONTINUE) === 0);
        continue;
      }
      throw c.error(
        (kind & (RAM_FLAG_COMPRESS_PAGE | RAM_FLAG_XBZRLE | RAM_FLAG_HOOK | RAM_FLAG_FULL)) !== 0 && (kind & (kind - 1)) === 0 ? 'unsupported' : 'damaged',
        ramFlagsProblem(kind),
        at,
      );
    }
  }

  private blockList(total: number): void {
    const c = this.c;
    let left = total;
    while (left > 0) {
      const name = c.name('a RAM block name');
      const size = c.be64Number(`the size of RAM block '${name}'`);
      if (size === 0 || size > left || this.blocks.has(name)) throw c.error('damaged', `RAM block '${name}' of ${size} bytes does not fit the ${total} bytes announced`, c.offset - 8);
      this.blocks.set(name, size);
      this.layout.ramBlocks.push({ name, size });
      left -= size;
    }
  }

  private page(at: number, addr: number, kind: number, namesBlock: boolean): void {
    const c = this.c;
    let block: string;
    if (namesBlock) {
      block = c.name('the RAM block name');
      if (!this.blocks.has(block)) throw c.error('damaged', `a page of RAM block '${block}', which the block list does not have`, at);
      this.last = block;
    } else {
      if (this.last === null) throw c.error('damaged', 'a page record continues a RAM block, but none was named before', at);
      block = this.last;
    }
    if (addr + this.pageSize > this.blocks.get(block)!) throw c.error('damaged', `a page at 0x${addr.toString(16)} is outside RAM block '${block}' (0x${this.blocks.get(block)!.toString(16)} bytes)`, at);
    let fill = 0;
    const dataOffset = c.offset;
    if (kind === RAM_FLAG_ZERO) {
      fill = c.u8('a zero page fill byte');
      this.layout.pages.zero++;
    } else {
      c.skip(this.pageSize, 'a RAM page');
      this.layout.pages.normal++;
    }
    this.hooks.page?.({
      block,
      addr,
      kind: kind === RAM_FLAG_ZERO ? 'zero' : 'page',
      fill,
      recordOffset: at,
      recordLength: c.offset - at,
      dataOffset,
      namesBlock,
    });
  }
}

function ramFlagsProblem(kind: number): string {
  const names: [number, string][] = [
    [RAM_FLAG_COMPRESS_PAGE, 'compressed pages (the compress capability)'],
    [RAM_FLAG_XBZRLE, 'XBZRLE-encoded pages (the xbzrle capability)'],
    [RAM_FLAG_HOOK, 'RDMA hook records'],
    [RAM_FLAG_FULL, 'full-page records of QEMU before 1.0'],
  ];
  const one = names.find(([f]) => f === kind);
  if (one !== undefined) return `the RAM section holds ${one[1]}; only normal and zero pages are read`;
  return `RAM record flags 0x${kind.toString(16)} are no combination QEMU writes`;
}
