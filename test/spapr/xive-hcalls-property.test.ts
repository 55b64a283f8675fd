/**
 * Property tests of the H_INT_* hypercalls: sequences of random hcalls (valid-looking and edge
 * 64-bit arguments) never throw, return only the PAPR codes docs/spapr-xive.md §2 allows for that
 * hcall, return exactly the code the spec's check order gives for the current state, leave R4..R9
 * and every table untouched on error, and on success write only their output registers with
 * the values the spec derives from the EAS/END state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as H from '../../src/spapr/hcall.ts';
import type { SpaprMachine } from '../../src/spapr/machine.ts';
import { ALL_OPCODES, eas, endWords } from './helpers.ts';
import { M64 } from '../support/hcall.ts';
import { RAM_SIZE, freshMachine } from '../support/machine.ts';
import { END_BASE, VC_BASE } from '../support/mmio.ts';
import { assertSameState, guestState } from '../support/state.ts';

const RAM = BigInt(RAM_SIZE);

const {
  H_SUCCESS,
  H_HARDWARE,
  H_FUNCTION,
  H_PRIVILEGE,
  H_PARAMETER,
  H_P2,
  H_P3,
  H_P4,
  H_P5,
} = H;

/** Codes each hcall may return once XIVE is negotiated (§2.2-§2.11). */
const ALLOWED: ReadonlyMap<number, readonly number[]> = new Map([
  [H.H_INT_GET_SOURCE_INFO, [H_SUCCESS, H_PARAMETER, H_P2]],
  [H.H_INT_SET_SOURCE_CONFIG, [H_SUCCESS, H_PARAMETER, H_P2, H_P3, H_P4]],
  [H.H_INT_GET_SOURCE_CONFIG, [H_SUCCESS, H_PARAMETER, H_P2]],
  [H.H_INT_GET_QUEUE_INFO, [H_SUCCESS, H_PARAMETER, H_P2, H_P3]],
  [H.H_INT_SET_QUEUE_CONFIG, [H_SUCCESS, H_PARAMETER, H_P2, H_P3, H_P4, H_P5]],
  [H.H_INT_GET_QUEUE_CONFIG, [H_SUCCESS, H_PARAMETER, H_P2, H_P3]],
  [H.H_INT_SET_OS_REPORTING_LINE, [H_FUNCTION]],
  [H.H_INT_GET_OS_REPORTING_LINE, [H_FUNCTION]],
  [H.H_INT_ESB, [H_SUCCESS, H_PARAMETER, H_P2, H_P3, H_HARDWARE]],
  [H.H_INT_SYNC, [H_SUCCESS, H_PARAMETER, H_P2]],
  [H.H_INT_RESET, [H_SUCCESS, H_PARAMETER]],
]);

/** Number of output registers written on success. */
const OUTPUTS: ReadonlyMap<number, number> = new Map([
  [H.H_INT_GET_SOURCE_INFO, 4],
  [H.H_INT_SET_SOURCE_CONFIG, 0],
  [H.H_INT_GET_SOURCE_CONFIG, 3],
  [H.H_INT_GET_QUEUE_INFO, 2],
  [H.H_INT_SET_QUEUE_CONFIG, 0],
  [H.H_INT_GET_QUEUE_CONFIG, 4],
  [H.H_INT_ESB, 1],
  [H.H_INT_SYNC, 0],
  [H.H_INT_RESET, 0],
]);

const EDGE: readonly bigint[] = [
  0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 0xffn, 0x100n, 0x106n, 0x107n, 0x1ffn, 0x400n,
  0xffff_ffffn, 1n << 32n, (1n << 32n) + 1n, 1n << 63n, (1n << 63n) | 0xffn, M64,
];
const LISNS: readonly bigint[] = [0n, 1n, 2n, 3n, 0x1000n, 0x1001n, 0x1100n, 0x1101n, 0x1200n, 0x1203n, 0x1500n, 0x1fffn, 0x2000n];
const OFFSETS: readonly bigint[] = [0n, 4n, 0x800n, 0xc00n, 0xd00n, 0xe00n, 0xf00n, 0xff8n, 0x400n, 0x10000n, 0x1fff8n, 0x20000n, 0x20001n, 0x20008n];
const SIZES: readonly bigint[] = [0n, 12n, 16n, 16n, 16n, 21n, 24n, 24n, 11n, 13n, 17n, 25n];
const QPAGES: readonly bigint[] = [0n, 0x1000000n, 0x2000000n, 0x10000n, 0x1000n, 0x10000n, 0x4a90000n, 0x200000n, 0x1000000n, 0x3fff0000n, 0x3f000000n, 0x40000000n, 0x800n, 0x1234n, 1n << 44n];

const anyU64 = fc.bigInt({ min: 0n, max: M64 });
const pick = (xs: readonly bigint[], weight = 10) => fc.oneof({ arbitrary: fc.constantFrom(...xs), weight }, { arbitrary: fc.constantFrom(...EDGE), weight: 1 }, { arbitrary: anyU64, weight: 1 });
const flagsArb = pick([0n, 0n, 0n, 0n, 1n, 1n, 2n, 3n, 4n]);
const prioArb = pick([0n, 3n, 5n, 6n, 6n, 6n, 6n, 7n, 0xffn, 0x106n, 0x1ffn]);
const targetArb = pick([0n, 0n, 1n, 1n, 1n, 2n, 3n, 9n]);

interface Call {
  op: number;
  regs: bigint[];
  pr: boolean;
}

const callArb: fc.Arbitrary<Call> = fc
  .record({
    op: fc.oneof({ arbitrary: fc.constantFrom(...ALL_OPCODES), weight: 10 }, { arbitrary: fc.constantFrom(0x3a4, 0x3d4, 0x14, 0), weight: 1 }),
    flags: flagsArb,
    lisn: pick(LISNS),
    target: targetArb,
    prio: prioArb,
    offset: pick(OFFSETS),
    qpage: pick(QPAGES),
    qsize: pick(SIZES),
    data: fc.oneof(fc.constantFrom(0n, 0x10n, 0x8000_0077n, M64), anyU64),
    spare: fc.array(anyU64, { minLength: 6, maxLength: 6 }),
  })
  .map((r) => {
    let regs: bigint[];
    switch (r.op) {
      case H.H_INT_SET_SOURCE_CONFIG:
        regs = [r.flags, r.lisn, r.target, r.prio, r.data];
        break;
      case H.H_INT_GET_QUEUE_INFO:
      case H.H_INT_GET_QUEUE_CONFIG:
        regs = [r.flags, r.target, r.prio];
        break;
      case H.H_INT_SET_QUEUE_CONFIG:
        regs = [r.flags, r.target, r.prio, r.qpage, r.qsize];
        break;
      case H.H_INT_ESB:
        regs = [r.flags, r.lisn, r.offset, r.data];
        break;
      default:
        regs = [r.flags, r.lisn];
    }
    return { op: r.op, regs: [...regs, ...r.spare.slice(regs.length)], pr: false };
  });

/** About one call in 20 is made with MSR[PR]=1. */
const callWithPrArb: fc.Arbitrary<Call> = fc.tuple(callArb, fc.integer({ min: 0, max: 19 })).map(([c, n]) => ({ ...c, pr: n === 0 }));

const claimed = (m: SpaprMachine, lisn: bigint): boolean => lisn < 0x2000n && m.xive!.router.easValid(Number(lisn));
const isCpu = (m: SpaprMachine, target: bigint): boolean => m.hasCpu(Number(target & 0xffff_ffffn));
const reserved = (prio: bigint): boolean => (prio & 0xffn) >= 7n;

/** The status the spec's check order gives for this call on this state. */
function expectedCode(m: SpaprMachine, op: number, r: readonly bigint[], negotiated: boolean): number {
  if (!ALLOWED.has(op)) return H_FUNCTION;
  if (!negotiated) return H_FUNCTION;
  const [f, a1, a2, a3, a4] = r as [bigint, bigint, bigint, bigint, bigint];
  switch (op) {
    case H.H_INT_GET_SOURCE_INFO:
    case H.H_INT_GET_SOURCE_CONFIG:
    case H.H_INT_SYNC:
      if (f !== 0n) return H_PARAMETER;
      return claimed(m, a1) ? H_SUCCESS : H_P2;
    case H.H_INT_SET_SOURCE_CONFIG:
      if ((f & ~3n) !== 0n) return H_PARAMETER;
      if (!claimed(m, a1)) return H_P2;
      if (a3 === 0xffn) return H_SUCCESS;
      if (reserved(a3)) return H_P4;
      return isCpu(m, a2) ? H_SUCCESS : H_P3;
    case H.H_INT_GET_QUEUE_INFO:
      if (f !== 0n) return H_PARAMETER;
      if (reserved(a2)) return H_P3;
      return isCpu(m, a1) ? H_SUCCESS : H_P2;
    case H.H_INT_GET_QUEUE_CONFIG:
    case H.H_INT_SET_QUEUE_CONFIG: {
      if ((f & ~1n) !== 0n) return H_PARAMETER;
      if (reserved(a2)) return H_P3;
      if (!isCpu(m, a1)) return H_P2;
      if (op === H.H_INT_GET_QUEUE_CONFIG || a4 === 0n) return H_SUCCESS;
      if (![12n, 16n, 21n, 24n].includes(a4)) return H_P5;
      const len = 1n << a4;
      if ((a3 & (len - 1n)) !== 0n) return H_P4;
      return a3 + len <= RAM ? H_SUCCESS : H_P4;
    }
    case H.H_INT_ESB: {
      if ((f & ~1n) !== 0n) return H_PARAMETER;
      if (!claimed(m, a1)) return H_P2;
      if (a2 > 0x20000n) return H_P3;
      if (a2 % 8n !== 0n) return H_HARDWARE;
      return a1 * 0x20000n + 0x10000n + a2 + 8n <= 0x4000_0000n ? H_SUCCESS : H_HARDWARE;
    }
    case H.H_INT_RESET:
      return f !== 0n ? H_PARAMETER : H_SUCCESS;
    default:
      return H_FUNCTION;
  }
}

/** Outputs the spec derives for a successful query (null for the hcalls not checked here). */
function expectedOutputs(m: SpaprMachine, op: number, r: readonly bigint[]): bigint[] | null {
  const x = m.xive!;
  const rt = x.router;
  switch (op) {
    case H.H_INT_GET_SOURCE_INFO: {
      const lisn = r[1]!;
      const page = VC_BASE + lisn * 0x20000n;
      return x.source.isLsi(Number(lisn)) ? [0xcn, M64, M64, 16n] : [0n, page + 0x10000n, page, 16n];
    }
    case H.H_INT_GET_SOURCE_CONFIG: {
      const lisn = Number(r[1]!);
      const end = rt.easEndIndex(lisn);
      const w6 = rt.endWord(end, 6);
      const w7 = rt.endWord(end, 7);
      const target = BigInt((((w6 & 0x7ffff) - 0x400) >>> 0));
      const prio = rt.easMasked(lisn) ? 0xffn : BigInt((w7 >>> 16) & 0xff);
      return [target, prio, BigInt(rt.easLo(lisn) & 0x7fff_ffff)];
    }
    case H.H_INT_GET_QUEUE_INFO:
    case H.H_INT_GET_QUEUE_CONFIG: {
      const end = Number(r[1]! & 0xffff_ffffn) * 8 + Number(r[2]! & 0xffn);
      const w = endWords(m, end);
      const enq = (w[0]! & 0x4000_0000) !== 0;
      const size = enq ? BigInt(((w[0]! >>> 16) & 0xf) + 12) : 0n;
      if (op === H.H_INT_GET_QUEUE_INFO) return [END_BASE + BigInt(end) * 0x20000n, size];
      const debug = (r[0]! & 1n) !== 0n;
      let f = (w[0]! & 0x2000_0000) !== 0 ? 1n : 0n;
      if (debug && (w[1]! & 0x0040_0000) !== 0) f |= 1n << 62n;
      const addr = enq ? (BigInt(w[2]! & 0x0fff_ffff) << 32n) | BigInt(w[3]!) : 0n;
      return [f, addr, size, debug ? BigInt(w[1]! & 0x3f_ffff) : 0n];
    }
    case H.H_INT_ESB:
      return (r[0]! & 1n) !== 0n ? [M64] : null;
    default:
      return [];
  }
}

/** Checks the table effect of a successful SET_SOURCE_CONFIG / SET_QUEUE_CONFIG. */
function checkSetEffect(m: SpaprMachine, op: number, r: readonly bigint[], oldEas: [number, number], oldEnd: number[] | null): void {
  if (op === H.H_INT_SET_SOURCE_CONFIG) {
    const lisn = Number(r[1]!);
    if (r[3]! === 0xffn) {
      assert.deepEqual(eas(m, lisn), [0x8000_0000, 0x8000_0000]);
      return;
    }
    const endIdx = Number(r[2]! & 0xffff_ffffn) * 8 + Number(r[3]! & 0xffn);
    const hi = ((oldEas[0] & ~0x0fff_ffff) | endIdx) >>> 0;
    let lo = (r[0]! & 1n) !== 0n ? (oldEas[1] | 0x8000_0000) >>> 0 : oldEas[1] & 0x7fff_ffff;
    if ((r[0]! & 2n) !== 0n) lo = ((lo & 0x8000_0000) | Number(r[4]! & 0x7fff_ffffn)) >>> 0;
    assert.deepEqual(eas(m, lisn), [hi, lo]);
  } else if (op === H.H_INT_SET_QUEUE_CONFIG) {
    const vcpu = Number(r[1]! & 0xffff_ffffn);
    const prio = Number(r[2]! & 0xffn);
    const w = endWords(m, vcpu * 8 + prio);
    const size = r[4]!;
    if (size === 0n) {
      assert.deepEqual(w, [0, 0x5000_0000, 0, 0, 0, 0, 0, 0]);
      return;
    }
    const old = oldEnd!;
    let w0 = (old[0]! | 0xc000_0000) & ~0x000f_0000 & ~0x2000_0000;
    w0 |= (Number(size) - 12) << 16;
    if ((r[0]! & 1n) !== 0n) w0 |= 0x2000_0000;
    const q = r[3]!;
    assert.deepEqual(w, [w0 >>> 0, 0x0040_0000, Number((q >> 32n) & 0x0fff_ffffn), Number(q & 0xffff_ffffn), old[4], old[5], 0x400 + vcpu, prio << 16]);
  }
}

test('random H_INT_* sequences: allowed codes only, exact check order, no change on error, spec outputs on success', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }).map((n) => n !== 0), fc.array(callWithPrArb, { minLength: 1, maxLength: 12 }), (negotiate, calls) => {
      const m = freshMachine({ smp: 2, maxCpus: 3 });
      if (negotiate) m.cas(0x40);
      for (const c of calls) {
        const input = c.regs.map((v) => BigInt.asUintN(64, v));
        const expected = c.pr ? H_PRIVILEGE : expectedCode(m, c.op, input, negotiate);
        const before = guestState(m);
        const oldEas: [number, number] = c.op === H.H_INT_SET_SOURCE_CONFIG && claimed(m, input[1]!) ? eas(m, Number(input[1]!)) : [0, 0];
        const oldEnd =
          c.op === H.H_INT_SET_QUEUE_CONFIG && expected === H_SUCCESS ? endWords(m, Number(input[1]! & 0xffff_ffffn) * 8 + Number(input[2]! & 0xffn)) : null;
        const want = expected === H_SUCCESS ? expectedOutputs(m, c.op, input) : null;
        let res: H.HcallResult;
        try {
          res = m.hcall(0, c.op, input.slice(), c.pr);
        } catch (e) {
          assert.fail(`hcall 0x${c.op.toString(16)} threw ${String(e)}`);
        }
        const name = `${H.HCALL_NAMES[c.op] ?? c.op}(${input.map((v) => '0x' + v.toString(16)).join(', ')})`;
        if (!c.pr && negotiate && ALLOWED.has(c.op)) assert.ok(ALLOWED.get(c.op)!.includes(res.ret), `${name}: ${res.ret} not allowed`);
        assert.equal(res.ret, expected, `${name}: expected ${H.HCALL_STATUS_NAMES[expected]}, got ${H.HCALL_STATUS_NAMES[res.ret] ?? res.ret}`);
        assert.equal(res.regs.length, 6);
        if (res.ret !== H_SUCCESS) {
          assert.deepEqual(res.regs, input, `${name}: registers changed on error`);
          assertSameState(m, before, name);
          continue;
        }
        const n = OUTPUTS.get(c.op)!;
        assert.deepEqual(res.regs.slice(n), input.slice(n), `${name}: non-output registers changed`);
        if (want !== null) assert.deepEqual(res.regs.slice(0, want.length), want, `${name}: outputs`);
        if (c.op !== H.H_INT_ESB && c.op !== H.H_INT_SET_SOURCE_CONFIG && c.op !== H.H_INT_SET_QUEUE_CONFIG) {
          assertSameState(m, before, `${name} (a query)`);
        }
        checkSetEffect(m, c.op, input, oldEas, oldEnd);
      }
    }),
    { numRuns: 800, seed: 0x5eed, endOnFailure: true },
  );
});

test('a sequence of valid Linux-style calls always succeeds and leaves the gate-independent rules intact', () => {
  // Well-formed arguments only: every call must succeed.
  const lisnArb = fc.constantFrom(0n, 1n, 0x1000n, 0x1001n, 0x1100n, 0x1101n, 0x1200n);
  const good = fc.oneof(
    fc.tuple(fc.constant(H.H_INT_GET_SOURCE_INFO), fc.tuple(fc.constant(0n), lisnArb)),
    fc.tuple(fc.constant(H.H_INT_SET_SOURCE_CONFIG), fc.tuple(fc.constantFrom(0n, 1n, 2n, 3n), lisnArb, fc.constantFrom(0n, 1n), fc.constantFrom(0n, 5n, 6n, 0xffn, 0x106n), anyU64)),
    fc.tuple(fc.constant(H.H_INT_GET_SOURCE_CONFIG), fc.tuple(fc.constant(0n), lisnArb)),
    fc.tuple(fc.constant(H.H_INT_GET_QUEUE_INFO), fc.tuple(fc.constant(0n), fc.constantFrom(0n, 1n), fc.integer({ min: 0, max: 6 }).map(BigInt))),
    fc.tuple(fc.constant(H.H_INT_SET_QUEUE_CONFIG), fc.tuple(fc.constantFrom(0n, 1n), fc.constantFrom(0n, 1n), fc.integer({ min: 0, max: 6 }).map(BigInt), fc.constantFrom(0x1000000n, 0x2000000n), fc.constantFrom(0n, 12n, 16n, 21n, 24n))),
    fc.tuple(fc.constant(H.H_INT_GET_QUEUE_CONFIG), fc.tuple(fc.constantFrom(0n, 1n), fc.constantFrom(0n, 1n), fc.integer({ min: 0, max: 6 }).map(BigInt))),
    fc.tuple(fc.constant(H.H_INT_ESB), fc.tuple(fc.constantFrom(0n, 1n), lisnArb, fc.constantFrom(0n, 0x800n, 0xc00n, 0xd00n, 0xe00n, 0xf00n, 0x20000n), fc.constant(0n))),
    fc.tuple(fc.constant(H.H_INT_SYNC), fc.tuple(fc.constant(0n), lisnArb)),
    fc.tuple(fc.constant(H.H_INT_RESET), fc.constant([0n] as bigint[])),
  );
  fc.assert(
    fc.property(fc.array(good, { minLength: 1, maxLength: 20 }), (calls) => {
      const m = freshMachine();
      m.cas(0x40);
      for (const [op, args] of calls) {
        const r = m.hcall(0, op, args as bigint[]);
        assert.equal(r.ret, H_SUCCESS, `${H.HCALL_NAMES[op]}(${(args as bigint[]).join(', ')})`);
      }
    }),
    { numRuns: 200, seed: 0x1157 },
  );
});
