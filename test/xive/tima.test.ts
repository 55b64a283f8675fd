/**
 * TIMA (docs/xive.md §4.6, §4.7) on a sPAPR XIVE: every verified example of §4.7, the per-byte access
 * right tables of each page probed with raw loads and stores, raw stores bypassing CPPR logic,
 * invalid accesses (traced in the lower 2K, untraced in the special area), the special operations
 * (ACK OS/HV, CPPR, SET_OS_PENDING, push/pull of OS and pool contexts, VT push/poll) with their
 * page restrictions, the 4K pattern inside each 64K page and the memory-core size checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as R from '../../src/xive/regs.ts';
import { Tima } from '../../src/xive/tima.ts';
import { ThreadContext } from '../../src/xive/tctx.ts';
import { LINE_HINT, LINE_INT } from '../../src/ports/lines.ts';
import { TraceBuffer } from '../../src/trace/events.ts';
import { MMIO_INVALID } from '../../src/spapr/spapr-xive.ts';
import { makeSpapr, timaLoad, timaStore, type SpaprFixture } from './helpers.ts';
import { eventNames, eventsNamed, guestErrors } from '../support/trace.ts';

const HW = 0x00000;
const HV = 0x10000;
const OSP = 0x20000;
const USER = 0x30000;
const ALL1 = 0xffff_ffff_ffff_ffffn;

/** §4.7 examples start from: OS ring of vCPU 0 with CPPR 0xFF (set by the special op), nothing pending. */
function examplesSetup(nCpus = 2): SpaprFixture & { t: SpaprFixture['cpus'][number] } {
  const f = makeSpapr(nCpus);
  const t = f.cpus[0]!;
  timaStore(f.xive, t, OSP + 0x11, 1, 0xff);
  f.trace.clear();
  f.lines.clear();
  return { ...f, t };
}

const reads = (f: SpaprFixture): { offset: bigint; size: number; value: bigint }[] =>
  eventsNamed(f.trace, 'xive_tctx_tm_read').map(({ offset, size, value }) => ({ offset, size, value }));

// ---- §4.7 examples [verified] ---------------------------------------------------------------

test('example: 1-byte load OS +0x11 is invalid (size < 4) -> 0xFF, traced as all ones', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x11, 1), 0xffn);
  assert.deepEqual(reads(f), [{ offset: 0x20011n, size: 1, value: ALL1 }]);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid read access at TIMA @20011']);
});

test('example: 2-byte load OS +0x10 is invalid -> 0xFFFF', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 2), 0xffffn);
  assert.deepEqual(reads(f), [{ offset: 0x20010n, size: 2, value: ALL1 }]);
});

test('example: 4-byte load OS +0x10 -> 0x00FF00FF (NSR, CPPR, IPB, LSMFB)', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 4), 0x00ff_00ffn);
  assert.deepEqual(reads(f), [{ offset: 0x20010n, size: 4, value: 0x00ff_00ffn }]);
  assert.deepEqual(guestErrors(f.trace), []);
});

test('example: 8-byte load OS +0x10 -> 0x00FF00FFFF0000FF (AGE hidden)', () => {
  const f = examplesSetup();
  assert.equal(f.t.regs[0x16], 0xff, 'AGE is 0xFF in the register file');
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 8), 0x00ff_00ff_ff00_00ffn);
  assert.deepEqual(reads(f), [{ offset: 0x20010n, size: 8, value: 0x00ff_00ff_ff00_00ffn }]);
});

test('example: 4-byte load OS +0x18 (word2) is invalid -> 0xFFFFFFFF', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x18, 4), 0xffff_ffffn);
  assert.deepEqual(reads(f), [{ offset: 0x20018n, size: 4, value: ALL1 }]);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid read access at TIMA @20018']);
});

test('example: 4-byte load HV +0x18 -> 0x80000400', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, HV + 0x18, 4), 0x8000_0400n);
  assert.equal(timaLoad(f.xive, f.cpus[1]!, HV + 0x18, 4), 0x8000_0401n);
  assert.equal(f.t.word2(R.TM_QW1_OS), 0x8000_0400, 'a raw load does not pull');
});

test('example: 8-byte load HW/HV +0x30 (PHYS) -> 0x00000000000000FF', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, HW + 0x30, 8), 0xffn);
  assert.equal(timaLoad(f.xive, f.t, HV + 0x30, 8), 0xffn);
});

test('example: 4-byte load OS +0x30 / +0x00 is invalid -> 0xFFFFFFFF', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x30, 4), 0xffff_ffffn);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x00, 4), 0xffff_ffffn);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid read access at TIMA @20030', 'XIVE: invalid read access at TIMA @20000']);
  assert.equal(reads(f).length, 2);
});

test('example: 2-byte load OS +0x810 -> 0x00FF (ACK, nothing pending)', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x810, 2), 0x00ffn);
  assert.deepEqual(reads(f), [{ offset: 0x20810n, size: 2, value: 0xffn }]);
  assert.deepEqual(f.lines.calls, [{ cpu: 0, line: LINE_INT, level: false }]);
});

test('example: 4-byte load OS +0x810 is invalid (wrong size in the special area) -> 0xFFFFFFFF, untraced', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x810, 4), 0xffff_ffffn);
  assert.deepEqual(reads(f), []);
  assert.deepEqual(eventNames(f.trace), ['guest_error']);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid read access at TIMA @20810']);
  assert.deepEqual(f.lines.calls, [], 'no ACK happened');
});

test('example: SET_OS_PENDING 5, 8-byte load, ACK 0x8005, then word0 = 0x000500FF', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, OSP + 0x812, 1, 5);
  assert.deepEqual(f.lines.calls, [{ cpu: 0, line: LINE_INT, level: true }]);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 8), 0x80ff_04ff_ff00_0005n);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x810, 2), 0x8005n);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 4), 0x0005_00ffn);
  assert.deepEqual(eventNames(f.trace), [
    'xive_tctx_tm_write',
    'xive_tctx_notify',
    'xive_tctx_tm_read',
    'xive_tctx_accept',
    'xive_tctx_tm_read',
    'xive_tctx_tm_read',
  ]);
});

test('example: 1-byte store 0x10 at OS +0x11 -> CPPR 0xFF (clamped), trace shows the raw value', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, OSP + 0x11, 1, 3);
  assert.equal(f.t.regs[0x11], 3);
  f.trace.clear();
  timaStore(f.xive, f.t, OSP + 0x11, 1, 0x10);
  assert.equal(f.t.regs[0x11], 0xff);
  assert.deepEqual(f.trace.events, [
    { name: 'xive_tctx_tm_write', offset: 0x20011n, size: 1, value: 0x10n },
    { name: 'xive_tctx_set_cppr', target: 0, ring: 0x10, ipb: 0, pipr: 0xff, cppr: 0x10, nsr: 0 },
  ]);
});

test('example: 1-byte store at USER +0x11 is an invalid write, CPPR unchanged', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, USER + 0x11, 1, 3);
  assert.equal(f.t.regs[0x11], 0xff);
  assert.deepEqual(eventNames(f.trace), ['xive_tctx_tm_write', 'guest_error']);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid write access at TIMA @30011']);
});

// ---- §4.7 access rights -----------------------------------------------------------------------

const Z = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
// Written from the §4.7 table; rows USER, OS, POOL, PHYS.
const RIGHTS: Record<number, number[]> = {
  [HW]: [
    ...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[0, 0, 3, 3, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 0, 3, 0, 2, 3, 0, 0, 3, 3, 3, 3, 0],
  ],
  [HV]: [
    ...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0],
    ...[0, 0, 3, 3, 0, 0, 0, 0, 0, 3, 3, 3, 0, 0, 0, 0],
    ...[3, 3, 3, 3, 0, 3, 0, 2, 3, 0, 0, 3, 0, 0, 0, 0],
  ],
  [OSP]: [...[3, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0], ...[2, 3, 2, 2, 2, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], ...Z, ...Z],
  [USER]: [...[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ...Z, ...Z, ...Z],
};
const PAGES: [string, number][] = [
  ['HW', HW],
  ['HV', HV],
  ['OS', OSP],
  ['USER', USER],
];

/** The special-operation stores of the lower 2K (they are not raw accesses). */
function isSpecialStore(page: number, reg: number, size: number): boolean {
  if (reg === 0x11 && size === 1) return page <= OSP;
  if (reg === 0x18 && size === 4) return page <= HV;
  if ((reg === 0x31 || reg === 0x38) && size === 1) return page <= HV;
  return false;
}

test('rights tables: raw 4- and 8-byte loads on every page, every aligned register offset', () => {
  for (const [name, page] of PAGES) {
    for (const size of [4, 8]) {
      for (let reg = 0; reg < 0x40; reg += size) {
        const f = makeSpapr(1);
        const t = f.cpus[0]!;
        for (let i = 0; i < 64; i++) t.regs[i] = 0x40 + i;
        const rights = RIGHTS[page]!;
        const readable = Array.from({ length: size }, (_, i) => (rights[reg + i]! & 2) !== 0);
        let expected = 0n;
        for (let i = 0; i < size; i++) expected = (expected << 8n) | BigInt(readable[i] ? 0x40 + reg + i : 0);
        const invalid = reg < 0x10 || !readable.some(Boolean);
        const got = timaLoad(f.xive, t, page + reg, size);
        assert.equal(got, invalid ? (1n << BigInt(8 * size)) - 1n : expected, `${name} page, ${size}-byte load at +0x${reg.toString(16)}`);
        assert.deepEqual(guestErrors(f.trace), invalid ? [`XIVE: invalid read access at TIMA @${(page + reg).toString(16)}`] : []);
        assert.deepEqual(reads(f), [{ offset: BigInt(page + reg), size, value: invalid ? ALL1 : expected }]);
      }
    }
  }
});

test('rights tables: raw 4- and 8-byte stores on every page, every aligned register offset', () => {
  for (const [name, page] of PAGES) {
    for (const size of [4, 8]) {
      for (let reg = 0; reg < 0x40; reg += size) {
        if (isSpecialStore(page, reg, size)) continue;
        const f = makeSpapr(1);
        const t = f.cpus[0]!;
        t.regs.fill(0);
        let value = 0n;
        for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(0xa0 + i);
        timaStore(f.xive, t, page + reg, size, value);
        const rights = RIGHTS[page]!;
        const writable = Array.from({ length: size }, (_, i) => (rights[reg + i]! & 1) !== 0);
        const invalid = reg < 0x10 || !writable.some(Boolean);
        const expected = new Uint8Array(64);
        if (!invalid) for (let i = 0; i < size; i++) if (writable[i]) expected[reg + i] = 0xa0 + i;
        assert.deepEqual([...t.regs], [...expected], `${name} page, ${size}-byte store at +0x${reg.toString(16)}`);
        assert.deepEqual(guestErrors(f.trace), invalid ? [`XIVE: invalid write access at TIMA @${(page + reg).toString(16)}`] : []);
        assert.equal(eventsNamed(f.trace, 'xive_tctx_tm_write').length, 1);
        assert.deepEqual(eventNames(f.trace).filter((n) => n.startsWith('xive_tctx_') && n !== 'xive_tctx_tm_write'), [], 'no ring operation');
      }
    }
  }
});

test('the 64-byte register file repeats every 64 bytes of the lower 2K (+0x50 reads like +0x10)', () => {
  const f = examplesSetup();
  for (const off of [0x50, 0x90, 0x110, 0x410, 0x7d0]) {
    assert.equal(timaLoad(f.xive, f.t, OSP + off, 4), 0x00ff_00ffn, `+0x${off.toString(16)}`);
  }
  assert.equal(timaLoad(f.xive, f.t, HV + 0x58, 4), 0x8000_0400n);
  timaStore(f.xive, f.t, OSP + 0x750, 4, 0x0000_0700);
  assert.equal(f.t.regs[0x11], 0);
  assert.equal(f.t.regs[0x12], 0, 'IPB is read-only from the OS page');
});

test('raw 4-byte store of 0x44332211 at +0x20010: CPPR 0x33, no clamp, no notify, only tm_write traced', () => {
  const f = makeSpapr(1);
  const t = f.cpus[0]!;
  timaStore(f.xive, t, OSP + 0x812, 1, 5); // CPPR 0 after reset: pending only
  assert.deepEqual([...t.regs.subarray(0x10, 0x18)], [0x00, 0x00, 0x04, 0xff, 0xff, 0x00, 0xff, 0x05]);
  f.trace.clear();
  f.lines.clear();
  timaStore(f.xive, t, OSP + 0x10, 4, 0x4433_2211);
  assert.deepEqual([...t.regs.subarray(0x10, 0x18)], [0x00, 0x33, 0x04, 0xff, 0xff, 0x00, 0xff, 0x05]);
  assert.deepEqual(f.trace.events, [{ name: 'xive_tctx_tm_write', offset: 0x20010n, size: 4, value: 0x4433_2211n }]);
  assert.deepEqual(f.lines.calls, []);
  // the next CPPR special op notices the pending priority
  timaStore(f.xive, t, OSP + 0x11, 1, 0xff);
  assert.equal(t.regs[0x10], 0x80);
  assert.equal(f.lines.raises().length, 1);
});

test('raw stores from the HW page reach every writable byte, e.g. PHYS +0x3C..0x3E and POOL word2', () => {
  const f = makeSpapr(1);
  const t = f.cpus[0]!;
  timaStore(f.xive, t, HW + 0x38, 8, 0x1122_3344_5566_7788n);
  assert.deepEqual([...t.regs.subarray(0x38, 0x40)], [0x11, 0, 0, 0x44, 0x55, 0x66, 0x77, 0]);
  timaStore(f.xive, t, HW + 0x28, 4, 0x8000_0123);
  assert.equal(t.word2(R.TM_QW2_HV_POOL), 0x8000_0123);
  timaStore(f.xive, t, HV + 0x28, 4, 0x0000_0456); // HV page: byte 0x28 not writable
  assert.equal(t.word2(R.TM_QW2_HV_POOL), 0x8000_0456);
});

// ---- invalid accesses --------------------------------------------------------------------------

test('special-area loads without an operation: all ones, guest error, not traced', () => {
  const cases: [number, number][] = [
    [OSP + 0x800, 8], // ACK_EBB: not implemented
    [OSP + 0x808, 8], // push/pull user
    [OSP + 0xc08, 8],
    [OSP + 0xc10, 8],
    [OSP + 0xc20, 4],
    [OSP + 0xc30, 8],
    [OSP + 0x810, 1],
    [OSP + 0x810, 8],
    [OSP + 0x818, 4], // PULL_OS from the OS page
    [OSP + 0x828, 8], // PULL_POOL from the OS page
    [OSP + 0x830, 2], // ACK_HV from the OS page
    [USER + 0x810, 2], // ACK_OS from the USER page
    [HV + 0x818, 2], // PULL_OS with the wrong size
    [HV + 0x812, 1], // SET_OS_PENDING is a store
    [HV + 0xff8, 8],
  ];
  for (const [off, size] of cases) {
    const f = examplesSetup();
    const before = [...f.t.regs];
    assert.equal(timaLoad(f.xive, f.t, off, size), (1n << BigInt(8 * size)) - 1n, `@${off.toString(16)} size ${size}`);
    assert.deepEqual(eventNames(f.trace), ['guest_error'], `@${off.toString(16)} size ${size} untraced`);
    assert.deepEqual(guestErrors(f.trace), [`XIVE: invalid read access at TIMA @${off.toString(16)}`]);
    assert.deepEqual([...f.t.regs], before);
    assert.deepEqual(f.lines.calls, []);
  }
});

test('special-area stores without an operation: traced first, then refused, nothing changes', () => {
  const cases: [number, number][] = [
    [OSP + 0x812, 2],
    [OSP + 0x810, 4],
    [USER + 0x812, 1],
    [OSP + 0x810, 2],
    [OSP + 0xc10, 8],
    [HV + 0x818, 4],
    [OSP + 0x811, 1],
  ];
  for (const [off, size] of cases) {
    const f = examplesSetup();
    const before = [...f.t.regs];
    timaStore(f.xive, f.t, off, size, 5);
    assert.deepEqual(eventNames(f.trace), ['xive_tctx_tm_write', 'guest_error'], `@${off.toString(16)} size ${size}`);
    assert.deepEqual(guestErrors(f.trace), [`XIVE: invalid write access at TIMA @${off.toString(16)}`]);
    assert.deepEqual([...f.t.regs], before);
  }
});

test('memory core: sizes other than 1/2/4/8 or unaligned accesses never reach the TIMA', () => {
  const f = examplesSetup();
  const out = new Uint32Array([9, 9]);
  assert.equal(f.xive.timaRead(f.t, OSP + 0x10, 3, out), MMIO_INVALID);
  assert.deepEqual([...out], [0, 0]);
  assert.equal(f.xive.timaRead(f.t, OSP + 0x12, 4, out), MMIO_INVALID);
  assert.equal(f.xive.timaWrite(f.t, OSP + 0x10, 16, 0, 0), MMIO_INVALID);
  assert.equal(f.xive.timaWrite(f.t, OSP + 0x811, 2, 0, 0), MMIO_INVALID);
  assert.deepEqual(reads(f), []);
  assert.equal(eventsNamed(f.trace, 'xive_tctx_tm_write').length, 0);
  const errs = guestErrors(f.trace);
  assert.equal(errs.length, 4);
  assert.ok(errs.every((m) => m.includes("region 'xive.tima'")));
  assert.ok(errs[0]!.startsWith('Invalid read at addr 0x20010, size 3'));
  assert.ok(errs[2]!.startsWith('Invalid write at addr 0x20010, size 16'));
});

// ---- special operations ----------------------------------------------------------------------

test('PULL_OS_CTX (HV page): returns the old word2 0x80000400, clears VO, lowers INT', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, OSP + 0x812, 1, 6); // raises INT
  f.lines.clear();
  f.trace.clear();
  assert.equal(timaLoad(f.xive, f.t, HV + 0x818, 4), 0x8000_0400n);
  assert.equal(f.t.word2(R.TM_QW1_OS), 0x0000_0400);
  assert.deepEqual(f.lines.calls, [{ cpu: 0, line: LINE_INT, level: false }]);
  assert.deepEqual(reads(f), [{ offset: 0x10818n, size: 4, value: 0x8000_0400n }]);
  assert.deepEqual(guestErrors(f.trace), []);
  assert.deepEqual([...f.t.regs.subarray(0x10, 0x18)], [0x80, 0xff, 0x02, 0xff, 0xff, 0x00, 0xff, 0x06], 'only VO changes');
  // pulling again: guest error, returns the (already invalid) word
  f.trace.clear();
  assert.equal(timaLoad(f.xive, f.t, HV + 0x818, 4), 0x0000_0400n);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: pulling invalid NVT 0/400 !?']);
});

test('PULL_OS_CTX: 8-byte form, HW page, and the 4K pattern of the 64K page', () => {
  for (const off of [HV + 0x818, HW + 0x818, HV + 0x1818, HV + 0xf818]) {
    for (const size of [4, 8]) {
      const f = examplesSetup();
      const t = f.cpus[1]!;
      assert.equal(timaLoad(f.xive, t, off, size), 0x8000_0401n, `@${off.toString(16)}/${size}`);
      assert.equal(t.word2(R.TM_QW1_OS), 0x0000_0401);
      assert.equal(f.t.word2(R.TM_QW1_OS), 0x8000_0400, 'only the performing vCPU');
    }
  }
});

test('push OS context (HV page 4-byte store at +0x18): stores the CAM, then ipb_update(OS, 0)', () => {
  const f = examplesSetup();
  timaLoad(f.xive, f.t, HV + 0x818, 4);
  f.trace.clear();
  timaStore(f.xive, f.t, HV + 0x18, 4, 0x8000_0400);
  assert.equal(f.t.word2(R.TM_QW1_OS), 0x8000_0400);
  assert.deepEqual(eventNames(f.trace), ['xive_tctx_tm_write']);
  assert.deepEqual(guestErrors(f.trace), []);
  // a pending priority that was not presented (raw CPPR change) is presented by the push
  const g = makeSpapr(1);
  const t = g.cpus[0]!;
  timaStore(g.xive, t, OSP + 0x812, 1, 4); // CPPR 0: pending only
  timaLoad(g.xive, t, HV + 0x818, 4);
  timaStore(g.xive, t, OSP + 0x10, 4, 0x00ff_0000); // raw: CPPR 0xFF, no notify
  assert.equal(t.regs[0x10], 0);
  g.lines.clear();
  g.trace.clear();
  timaStore(g.xive, t, HW + 0x18, 4, 0x8000_0400);
  assert.equal(t.regs[0x10], 0x80);
  assert.deepEqual(g.lines.calls, [{ cpu: 0, line: LINE_INT, level: true }]);
  assert.deepEqual(eventNames(g.trace), ['xive_tctx_tm_write', 'xive_tctx_notify']);
});

test('push OS context without VO only stores the word', () => {
  const g = makeSpapr(1);
  const t = g.cpus[0]!;
  timaStore(g.xive, t, OSP + 0x812, 1, 4);
  timaStore(g.xive, t, OSP + 0x10, 4, 0x00ff_0000);
  g.lines.clear();
  g.trace.clear();
  timaStore(g.xive, t, HV + 0x18, 4, 0x0000_0401);
  assert.equal(t.word2(R.TM_QW1_OS), 0x0000_0401);
  assert.equal(t.regs[0x10], 0);
  assert.deepEqual(g.lines.calls, []);
  assert.deepEqual(eventNames(g.trace), ['xive_tctx_tm_write']);
});

test('push OS context takes the IPB saved in the NVT (blk/idx from the CAM)', () => {
  const asked: [number, number][] = [];
  const tima = new Tima({
    camChanged: () => {},
    takeNvtIpb: (blk, idx) => {
      asked.push([blk, idx]);
      return 0x04;
    },
  });
  const t = new ThreadContext(0, 0, null);
  t.reset();
  t.regs[0x11] = 0xff;
  tima.write(t, HV + 0x18, 4, 0x8000_0000 | R.camLine(2, 0x433));
  assert.deepEqual(asked, [[2, 0x433]]);
  assert.equal(t.regs[0x12], 0x04);
  assert.equal(t.regs[0x17], 5);
  assert.equal(t.regs[0x10], 0x80);
  tima.write(t, HV + 0x18, 4, R.camLine(2, 0x433));
  assert.equal(asked.length, 1, 'no NVT access without VO');
});

test('HV-page operations are refused from the OS and USER pages', () => {
  const f = examplesSetup();
  const before = [...f.t.regs];
  timaStore(f.xive, f.t, OSP + 0x18, 4, 0x8000_0401); // push from the OS page: raw, no rights
  timaStore(f.xive, f.t, USER + 0x18, 4, 0x8000_0401);
  timaStore(f.xive, f.t, OSP + 0x31, 1, 0xff); // PHYS CPPR from the OS page
  timaStore(f.xive, f.t, OSP + 0x38, 1, 0x80); // VT push from the OS page
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x38, 1), 0xffn); // VT poll from the OS page
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x818, 8), ALL1);
  assert.equal(timaLoad(f.xive, f.t, USER + 0x818, 4), 0xffff_ffffn);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x828, 4), 0xffff_ffffn);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x830, 2), 0xffffn);
  assert.deepEqual([...f.t.regs], before);
  assert.deepEqual(guestErrors(f.trace), [
    'XIVE: invalid write access at TIMA @20018',
    'XIVE: invalid write access at TIMA @30018',
    'XIVE: invalid write access at TIMA @20031',
    'XIVE: invalid write access at TIMA @20038',
    'XIVE: invalid read access at TIMA @20038',
    'XIVE: invalid read access at TIMA @20818',
    'XIVE: invalid read access at TIMA @30818',
    'XIVE: invalid read access at TIMA @20828',
    'XIVE: invalid read access at TIMA @20830',
  ]);
  assert.equal(f.xive.presenter.match(0, 0, 0x400, false, 7, 0), true, 'still dispatched');
});

test('OS-page operations also work from the HV and HW pages, not from the USER page', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, HV + 0x812, 1, 3);
  assert.equal(f.t.regs[0x12], 0x10);
  assert.equal(timaLoad(f.xive, f.t, HW + 0x810, 2), 0x8003n);
  timaStore(f.xive, f.t, HW + 0x11, 1, 0xff);
  assert.equal(f.t.regs[0x11], 0xff);
  timaStore(f.xive, f.t, USER + 0x812, 1, 3);
  assert.equal(f.t.regs[0x12], 0);
  assert.equal(timaLoad(f.xive, f.t, USER + 0x810, 2), 0xffffn);
});

test('PULL_POOL_CTX returns the NEW word2 (VP cleared)', () => {
  for (const size of [4, 8]) {
    const f = examplesSetup();
    timaStore(f.xive, f.t, HW + 0x28, 4, 0x8000_0123);
    f.trace.clear();
    assert.equal(timaLoad(f.xive, f.t, HV + 0x828, size), 0x0000_0123n);
    assert.equal(f.t.word2(R.TM_QW2_HV_POOL), 0x0000_0123);
    assert.deepEqual(reads(f), [{ offset: 0x10828n, size, value: 0x123n }]);
    assert.deepEqual(guestErrors(f.trace), []);
  }
});

test('SET_OS_PENDING (+0x812): IPB |= prio_to_ipb(byte); priorities above 7 add nothing', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, OSP + 0x812, 1, 0xff);
  timaStore(f.xive, f.t, OSP + 0x812, 1, 8);
  assert.deepEqual([...f.t.regs.subarray(0x10, 0x18)], [0, 0xff, 0, 0xff, 0xff, 0, 0xff, 0xff]);
  assert.deepEqual(f.lines.calls, []);
  timaStore(f.xive, f.t, OSP + 0x812, 1, 7);
  timaStore(f.xive, f.t, OSP + 0x2812, 1, 0);
  assert.equal(f.t.regs[0x12], 0x81);
  assert.equal(f.t.regs[0x17], 0);
  assert.equal(f.t.regs[0x10], 0x80);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x9810, 2), 0x8000n, 'ACK through the repeated 4K pattern');
});

test('PHYS ring from the HV page: CPPR store (clamped) and ACK_HV_REG (+0x830)', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, HV + 0x31, 1, 0x10);
  assert.equal(f.t.regs[0x31], 0xff);
  assert.deepEqual(eventsNamed(f.trace, 'xive_tctx_set_cppr').map((e) => [e.ring, e.cppr]), [[0x30, 0x10]]);
  f.t.ipbUpdate(R.TM_QW3_HV_PHYS, R.prioToIpb(3));
  assert.deepEqual(f.lines.calls, [{ cpu: 0, line: LINE_HINT, level: true }]);
  assert.equal(f.t.regs[0x30], 0x80);
  assert.equal(timaLoad(f.xive, f.t, HV + 0x830, 2), 0x8003n);
  assert.deepEqual([...f.t.regs.subarray(0x30, 0x38)], [0, 3, 0, 0, 0, 0, 0, 0xff]);
  assert.deepEqual(f.lines.calls.at(-1), { cpu: 0, line: LINE_HINT, level: false });
  assert.equal(timaLoad(f.xive, f.t, HW + 0x830, 2), 0x0003n);
});

test('VT push / poll (+0x38, 1 byte, HV page)', () => {
  const f = examplesSetup();
  assert.equal(timaLoad(f.xive, f.t, HV + 0x38, 1), 0n);
  timaStore(f.xive, f.t, HV + 0x38, 1, 0x80);
  assert.equal(f.t.regs[0x38], 0x80);
  assert.equal(timaLoad(f.xive, f.t, HV + 0x38, 1), 0x80n);
  assert.equal(timaLoad(f.xive, f.t, HW + 0x38, 1), 0x80n);
  assert.deepEqual(reads(f).at(-1), { offset: 0x38n, size: 1, value: 0x80n });
  timaStore(f.xive, f.t, HV + 0x38, 1, 0x5a);
  assert.equal(timaLoad(f.xive, f.t, HV + 0x38, 1), 0x5an);
  assert.deepEqual(guestErrors(f.trace), []);
});

test('accesses act on the performing vCPU only', () => {
  const f = examplesSetup();
  const c1 = f.cpus[1]!;
  timaStore(f.xive, c1, OSP + 0x11, 1, 5);
  timaStore(f.xive, c1, OSP + 0x812, 1, 2);
  assert.equal(c1.regs[0x11], 5);
  assert.equal(c1.regs[0x12], 0x20);
  assert.deepEqual([...f.t.regs.subarray(0x10, 0x18)], [0, 0xff, 0, 0xff, 0xff, 0, 0xff, 0xff]);
  assert.deepEqual(f.lines.calls, [{ cpu: 1, line: LINE_INT, level: true }]);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x810, 2), 0x00ffn);
  assert.equal(c1.regs[0x10], 0x80);
});

test('tm_write trace carries the full 8-byte value', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, HV + 0x10, 8, 0x0102_0304_0506_0708n);
  assert.deepEqual(eventsNamed(f.trace, 'xive_tctx_tm_write'), [{ name: 'xive_tctx_tm_write', offset: 0x10010n, size: 8, value: 0x0102_0304_0506_0708n }]);
  assert.deepEqual([...f.t.regs.subarray(0x10, 0x18)], [1, 2, 3, 4, 5, 6, 0xff, 0xff], 'AGE and PIPR not writable from the HV page');
});

test('a Tima without trace sink works the same', () => {
  const tima = new Tima({ camChanged: () => {}, takeNvtIpb: () => 0 });
  const t = new ThreadContext(0, 0, null);
  t.reset();
  t.tracer.sink = new TraceBuffer();
  tima.write(t, OSP + 0x11, 1, 0xff);
  assert.equal(tima.read(t, OSP + 0x10, 4), 0x00ff_00ff);
  tima.read(t, OSP + 0x10, 8);
  assert.equal(tima.hi, 0x00ff_00ff);
  assert.equal(tima.read(t, OSP + 0x18, 4), 0xffff_ffff);
});

test('no ring valid check: CPPR and ACK work on a pulled OS context', () => {
  const f = examplesSetup();
  timaLoad(f.xive, f.t, HV + 0x818, 4);
  timaStore(f.xive, f.t, OSP + 0x11, 1, 0xff);
  timaStore(f.xive, f.t, OSP + 0x812, 1, 1);
  assert.equal(f.t.regs[0x10], 0x80);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x810, 2), 0x8001n);
  assert.equal(timaLoad(f.xive, f.t, OSP + 0x10, 4), 0x0001_00ffn);
});

test('special operations are looked up with offset & 0xFFF, raw registers with offset & 0x3F', () => {
  const f = examplesSetup();
  timaStore(f.xive, f.t, OSP + 0x1011, 1, 4); // 0x011 in the next 4K: CPPR op
  assert.equal(f.t.regs[0x11], 4);
  f.trace.clear();
  timaStore(f.xive, f.t, OSP + 0x51, 1, 2); // 0x051: no op, raw 1-byte store -> invalid
  assert.equal(f.t.regs[0x11], 4);
  assert.deepEqual(guestErrors(f.trace), ['XIVE: invalid write access at TIMA @20051']);
  assert.equal(timaLoad(f.xive, f.t, HV + 0x7018, 4), 0x8000_0400n, 'raw word2 read in a later 4K');
  timaStore(f.xive, f.t, HV + 0x3018, 4, 0x8000_0401); // push op in a later 4K
  assert.equal(f.t.word2(R.TM_QW1_OS), 0x8000_0401);
});
