/**
 * The fuzzer's checks of the model after a step: equality with the reference model (the table
 * entries, thread contexts and ICPs the step touched, or everything), and structural invariants
 * of the model's own tables that follow from the spec whatever the guest did:
 *
 * - EAS: block 0 and no reserved bit; the END index names an existing vCPU and a priority the
 *   hcalls accept (< 7); the IPI LISNs stay claimed.
 * - END: either exactly the reset value, or a configured queue as H_INT_SET_QUEUE_CONFIG builds
 *   it (valid, enqueue, a supported size, aligned and inside RAM, NVT and priority of its own
 *   index, ESn never 01, ESe 00, no escalation/backlog bits); generation bit and write index
 *   consistent with the number of entries written since configuration, and the last written
 *   entry carrying that generation.
 * - source status: only P, Q and asserted, asserted only on LSIs.
 * - thread context: PIPR is the most favoured priority of IPB (unless a raw TIMA store wrote the
 *   IPB since), the USER ring is never written.
 * - XICS: an ICP's output is up exactly while XISR is non-zero, XISR 0 has pending priority 0xFF,
 *   an IPI has no owner and a source XISR has one; ICS status bits are those of the emulation and
 *   match the source kind; an LSI marked SENT is presented somewhere or being handled.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { RefMachine } from './reference.ts';
import { NR_IRQS, NVT_BASE, END_RESET_W1, ipbToPipr, type RefXive } from './ref-xive.ts';
import { ICS_BASE, ICS_N, ST_ASSERTED, ST_SENT, ST_REJECTED, FL_LSI, FL_MSI, type RefXics } from './ref-xics.ts';
import type { Effects } from './effects.ts';

export interface Problem {
  /** Short name of what failed (groups failures when shrinking). */
  what: string;
  message: string;
}

const hx = (v: number) => `0x${(v >>> 0).toString(16)}`;

function problem(what: string, message: string): Problem {
  return { what, message };
}

/** Compares and checks the entries `fx` says were touched, or all of them when `all`. */
export function checkState(m: SpaprMachine, ref: RefMachine, fx: Effects, all: boolean): Problem | null {
  if (m.intc.name !== ref.active.name) return problem('active controller', `model ${m.intc.name}, reference ${ref.active.name}`);
  if (m.ov5Cas[23] !== ref.ov5) return problem('ov5', `negotiated byte 23: model ${hx(m.ov5Cas[23]!)}, reference ${hx(ref.ov5)}`);
  if (m.halted !== ref.halted) return problem('halted', `model ${String(m.halted)}, reference ${String(ref.halted)}`);
  const every = all || fx.full;
  if (m.vcpus.length !== ref.vcpus.length || (every && m.vcpus.some((v, i) => v !== ref.vcpus[i]))) {
    return problem('vcpus', `model [${m.vcpus.join(', ')}], reference [${ref.vcpus.join(', ')}]`);
  }
  if (ref.xive !== null) {
    const p = checkXive(m, ref, ref.xive, fx, every);
    if (p !== null) return p;
  }
  if (ref.xics !== null) {
    const p = checkXics(m, ref, ref.xics, fx, every);
    if (p !== null) return p;
  }
  const l = ref.led.check();
  if (l !== null) return problem('conservation', l);
  if (every) return checkCounts(m, ref);
  return null;
}

function checkXive(m: SpaprMachine, ref: RefMachine, rx: RefXive, fx: Effects, every: boolean): Problem | null {
  const x = m.xive;
  if (x === null) return problem('xive', 'the model has no XIVE controller');
  const mapped = ref.isActive(rx);
  if (x.mmioEnabled !== mapped) return problem('xive mmio', `ESB/TIMA mapped: model ${x.mmioEnabled}, reference ${mapped}`);
  const srcs = every ? range(NR_IRQS) : union(fx.touchedSrc, fx.touchedEas);
  for (const s of srcs) {
    const st = x.source.status[s]!;
    if (st !== rx.status[s]) return problem('source', `source ${hx(s)} status: model ${hx(st)}, reference ${hx(rx.status[s]!)}`);
    if (x.source.isLsi(s) !== (rx.lsi[s] === 1)) return problem('source', `source ${hx(s)}: model LSI ${x.source.isLsi(s)}, reference ${rx.lsi[s] === 1}`);
    if ((st & ~7) !== 0) return problem('source invariant', `source ${hx(s)} status ${hx(st)} has bits beyond P, Q and asserted`);
    if ((st & 4) !== 0 && !x.source.isLsi(s)) return problem('source invariant', `MSI source ${hx(s)} is marked asserted`);
    const hi = x.router.easHi(s);
    const lo = x.router.easLo(s);
    if (hi !== rx.easHi[s] || lo !== rx.easLo[s]) return problem('EAS', `EAS ${hx(s)}: model ${hx(hi)}_${hx(lo)}, reference ${hx(rx.easHi[s]!)}_${hx(rx.easLo[s]!)}`);
    const p = easInvariant(ref, s, hi);
    if (p !== null) return p;
  }
  // The END table is read straight from its big-endian image (thousands of ENDs on large machines).
  const endView = x.router.ends;
  const words = new Array<number>(8);
  const ends = every ? range(rx.nrEnds) : fx.touchedEnd;
  for (const e of ends) {
    for (let w = 0; w < 8; w++) {
      const mw = endView.getUint32(e * 32 + w * 4, false);
      if (mw !== rx.end[e * 8 + w]) return problem('END', `END ${hx(e)} word ${w}: model ${hx(mw)}, reference ${hx(rx.end[e * 8 + w]!)}`);
      words[w] = mw;
    }
    const p = endInvariant(m, ref, rx, e, words);
    if (p !== null) return p;
  }
  for (const en of fx.enqueues) {
    const got = m.memory.read32(en.addr) >>> 0;
    const want = rx.expectedWord(en.addr);
    if (got !== want) return problem('EQ entry', `END ${hx(en.end)} wrote 0x${got.toString(16)} at ${hx(en.addr)}; expected 0x${want.toString(16)}`);
  }
  const cpus = every || ref.vcpus.length <= 16 ? ref.vcpus : fx.touchedCpu;
  for (const v of cpus) {
    const t = x.tctxById[v];
    const r = rx.tctx.get(v);
    if (t === undefined || r === undefined) return problem('tctx', `vCPU ${v}: thread context missing (model ${t !== undefined}, reference ${r !== undefined})`);
    for (let i = 0; i < 64; i++) {
      if (t.regs[i] !== r[i]) return problem('tctx', `vCPU ${v} TIMA byte ${hx(i)}: model ${hx(t.regs[i]!)}, reference ${hx(r[i]!)}`);
    }
    if (t.lines !== rx.lines.get(v)) return problem('tctx lines', `vCPU ${v} interrupt lines (bit 0 INT, bit 1 HINT): model ${t.lines}, reference ${rx.lines.get(v)}`);
    for (let i = 0; i < 16; i++) if (t.regs[i] !== 0) return problem('tctx invariant', `vCPU ${v}: USER ring byte ${i} is ${hx(t.regs[i]!)}; nothing can write the USER ring`);
    const raw = rx.ipbRaw.get(v)!;
    for (const ring of [0x10, 0x20, 0x30]) {
      if ((raw & (1 << (ring >>> 4))) !== 0) continue;
      if (t.regs[ring + 7] !== ipbToPipr(t.regs[ring + 2]!)) {
        return problem('tctx invariant', `vCPU ${v} ring ${hx(ring)}: PIPR ${hx(t.regs[ring + 7]!)} is not the most favoured priority of IPB ${hx(t.regs[ring + 2]!)}`);
      }
    }
  }
  return null;
}

function easInvariant(ref: RefMachine, s: number, hi: number): Problem | null {
  if ((hi & 0x7f00_0000) !== 0) return problem('EAS invariant', `EAS ${hx(s)}: reserved or END block bits set in ${hx(hi)}`);
  const e = hi & 0x00ff_ffff;
  if ((e & 7) === 7 || !ref.hasCpu(e >>> 3)) return problem('EAS invariant', `EAS ${hx(s)} names END ${hx(e)} (vCPU ${e >>> 3} priority ${e & 7}), which no hcall can target`);
  if (s < ref.cfg.maxCpus && ref.xive !== null && (hi & 0x8000_0000) === 0) return problem('EAS invariant', `IPI LISN ${hx(s)} is no longer claimed`);
  return null;
}

/** `words`: the END's 8 words as the model holds them. */
function endInvariant(m: SpaprMachine, ref: RefMachine, rx: RefXive, e: number, words: readonly number[]): Problem | null {
  const w0 = words[0]!;
  if ((w0 & 0x8000_0000) === 0) {
    if (w0 === 0 && words[1] === END_RESET_W1 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0 && words[6] === 0 && words[7] === 0) return null;
    return problem('END invariant', `END ${hx(e)} is invalid but not in its reset state: ${words.map(hx).join(' ')}`);
  }
  const w = (i: number) => words[i]!;
  const bad = (why: string) => problem('END invariant', `END ${hx(e)} (${words.map(hx).join(' ')}): ${why}`);
  if ((w0 & ~(0x8000_0000 | 0x4000_0000 | 0x2000_0000 | 0x000f_0000)) !== 0) return bad('word 0 has bits the sPAPR hcalls never set (backlog, escalation, firmware...)');
  if ((w0 & 0x4000_0000) === 0) return bad('valid without enqueue');
  const qsize = (w0 >>> 16) & 0xf;
  if (![0, 4, 9, 12].includes(qsize)) return bad(`queue size code ${qsize} is not one of 4K, 64K, 2M, 16M`);
  const w1 = w(1);
  const esn = w1 >>> 30;
  if (esn === 1) return bad('ESn 01: configuration clears it to 00 and triggers only move it to 10 and 11');
  if ((w0 & 0x2000_0000) !== 0 && esn !== 0) return bad('ESn moved although notification is unconditional');
  if ((w1 & 0x3f80_0000) !== 0) return bad('ESe or reserved bits of word 1 set');
  const entries = 1 << (qsize + 10);
  const index = w1 & 0x003f_ffff;
  if (index >= entries) return bad(`write index ${index} beyond ${entries} entries`);
  if ((w(2) & 0xf000_0000) !== 0) return bad('migration bits of word 2 set');
  const qaddr = (w(2) & 0x0fff_ffff) * 0x1_0000_0000 + w(3);
  const bytes = 2 ** (qsize + 12);
  if (qaddr % bytes !== 0 || qaddr + bytes > ref.cfg.ramSize) return bad(`queue @0x${qaddr.toString(16)} of ${bytes} bytes is not aligned guest RAM`);
  if (w(4) !== 0 || w(5) !== 0) return bad('escalation words set');
  if (w(6) !== NVT_BASE + (e >>> 3)) return bad(`NVT word ${hx(w(6))}, expected NVT ${hx(NVT_BASE + (e >>> 3))} of its vCPU`);
  if (w(7) !== (e & 7) << 16 || (e & 7) === 7) return bad(`priority word ${hx(w(7))} does not match priority ${e & 7} of its index`);
  if (!ref.hasCpu(e >>> 3)) return bad(`vCPU ${e >>> 3} does not exist`);
  const writes = rx.writes[e]!;
  const gen = (w1 >>> 22) & 1;
  const wantGen = Math.floor(writes / entries) % 2 === 0 ? 1 : 0;
  if (index !== writes % entries || gen !== wantGen) {
    return bad(`${writes} entries written since configuration give index ${writes % entries} generation ${wantGen}; the END has index ${index} generation ${gen}`);
  }
  const last = rx.lastWrite(e);
  if (last !== null) {
    const word = m.memory.read32(last.addr) >>> 0;
    if (word >>> 31 !== last.gen) return bad(`last entry written (@0x${last.addr.toString(16)} = 0x${word.toString(16)}) does not carry generation ${last.gen}`);
  }
  return null;
}

function checkXics(m: SpaprMachine, ref: RefMachine, rx: RefXics, fx: Effects, every: boolean): Problem | null {
  const xs = m.xics;
  if (xs === null) return problem('xics', 'the model has no XICS controller');
  const ics = xs.ics;
  const srcs = every ? range(ICS_N) : fx.touchedIcs;
  for (const s of srcs) {
    const got = [ics.server[s]!, ics.priority[s]!, ics.savedPriority[s]!, ics.status[s]!, ics.flags[s]!];
    const want = [rx.server[s]!, rx.prio[s]!, rx.saved[s]!, rx.status[s]!, rx.flags[s]!];
    if (got.some((g, i) => g !== want[i])) {
      return problem('ICS', `ICS irq ${hx(ICS_BASE + s)} (server, priority, saved, status, flags): model ${got.map(hx).join(' ')}, reference ${want.map(hx).join(' ')}`);
    }
    const st = got[3]!;
    const fl = got[4]!;
    const name = `ICS irq ${hx(ICS_BASE + s)}`;
    if ((st & ~0x0f) !== 0) return problem('ICS invariant', `${name}: status ${hx(st)} has KVM-only bits`);
    if (fl !== 0 && fl !== FL_LSI && fl !== FL_MSI) return problem('ICS invariant', `${name}: flags ${hx(fl)}`);
    if ((st & (ST_ASSERTED | ST_SENT)) !== 0 && fl !== FL_LSI) return problem('ICS invariant', `${name}: asserted/sent on a source that is not an LSI`);
    if ((st & ST_REJECTED) !== 0 && fl !== FL_MSI) return problem('ICS invariant', `${name}: rejected flag on a source that is not an MSI`);
    if (!ref.hasCpu(got[0]!)) return problem('ICS invariant', `${name}: server ${got[0]} is not a vCPU`);
    if ((st & ST_SENT) !== 0 && !rx.lsiInService.has(s) && !xs.icps.some((i) => i.xisr === ICS_BASE + s)) {
      return problem('XICS lost LSI', `${name} is marked SENT but no ICP presents it and the guest is not handling it: it can never be presented again`);
    }
  }
  const cpus = every || ref.vcpus.length <= 16 ? ref.vcpus : fx.touchedCpu;
  for (const v of cpus) {
    const icp = xs.icpOfCpu(v);
    const r = rx.icpOf(v);
    if (icp === null || r === undefined) return problem('ICP', `vCPU ${v}: ICP missing`);
    if (icp.xirr !== r.xirr || icp.pendingPriority !== r.pp || icp.mfrr !== r.mfrr || icp.outputLevel !== r.output || (icp.owner !== null) !== r.owner) {
      return problem(
        'ICP',
        `vCPU ${v} ICP (XIRR, PP, MFRR, output, owner): model ${hx(icp.xirr)} ${hx(icp.pendingPriority)} ${hx(icp.mfrr)} ${icp.outputLevel} ${icp.owner !== null}, reference ${hx(r.xirr)} ${hx(r.pp)} ${hx(r.mfrr)} ${r.output} ${r.owner}`,
      );
    }
    const xisr = icp.xisr;
    if (icp.outputLevel !== (xisr !== 0)) return problem('ICP invariant', `vCPU ${v}: output ${icp.outputLevel} with XISR ${hx(xisr)}`);
    if (xisr === 0 && icp.pendingPriority !== 0xff) return problem('ICP invariant', `vCPU ${v}: nothing presented but pending priority ${hx(icp.pendingPriority)}`);
    if (xisr === 2 && icp.owner !== null) return problem('ICP invariant', `vCPU ${v}: an IPI with an owner ICS`);
    if (xisr !== 0 && xisr !== 2 && (xisr < ICS_BASE || xisr >= ICS_BASE + ICS_N || icp.owner === null)) return problem('ICP invariant', `vCPU ${v}: XISR ${hx(xisr)} is not a source of the ICS it came from`);
  }
  return null;
}

/** The ledger's "held" counts measured on the model's state. */
function checkCounts(m: SpaprMachine, ref: RefMachine): Problem | null {
  const led = ref.led;
  if (m.xive !== null) {
    let q = 0;
    for (let s = 0; s < NR_IRQS; s++) if ((m.xive.source.status[s]! & 3) === 3) q++;
    if (q !== led.qHeld) return problem('conservation', `${q} sources of the model hold an event in Q (PQ=11); the ledger counts ${led.qHeld}`);
  }
  if (m.xics !== null && ref.xics !== null) {
    let rej = 0;
    let mp = 0;
    for (let s = 0; s < ICS_N; s++) {
      if ((m.xics.ics.status[s]! & ST_REJECTED) !== 0) rej++;
      if ((m.xics.ics.status[s]! & 0x08) !== 0) mp++;
    }
    if (rej !== led.xRejected || mp !== led.xMaskedPending) {
      return problem('conservation', `model ICS holds ${rej} rejected and ${mp} masked-pending MSIs; the ledger counts ${led.xRejected} and ${led.xMaskedPending}`);
    }
    const held = ref.xics.countHeld();
    if (held.xisr !== led.xInXisr) return problem('conservation', `${held.xisr} XISRs hold an MSI; the ledger counts ${led.xInXisr}`);
  }
  return null;
}

function range(n: number): Iterable<number> {
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield i;
    },
  };
}

function union(a: Set<number>, b: Set<number>): Set<number> {
  if (b.size === 0) return a;
  const u = new Set(a);
  for (const x of b) u.add(x);
  return u;
}
