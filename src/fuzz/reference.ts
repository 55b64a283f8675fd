/**
 * Reference pseries machine of the fuzzer: the reference XIVE and XICS (ref-xive.ts,
 * ref-xics.ts) composed as spapr-xive.md §1, §2.1, §4 and xics.md §4-§5 describe the machine —
 * ic-mode objects, the IPI claims, default device claims, reset, CAS negotiation and the choice
 * of the active controller, hotplug, and the dispatch of hcalls, RTAS calls and MMIO.
 *
 * It computes the answer each operation must get; the engine compares it with the model's.
 * The one behaviour taken from the model's documentation rather than from QEMU: the backend that
 * becomes inactive at a CAS or reset switch is reset (docs/qemu-compatibility.md, "Mode switch").
 */
import * as H from '../spapr/hcall.ts';
import { Effects } from './effects.ts';
import { Ledger } from './ledger.ts';
import { ESB_REGION, RefXive, TIMA_SIZE, TM_BASE, VC_BASE, type LoadResult } from './ref-xive.ts';
import { RefXics } from './ref-xics.ts';
import type { Op } from './ops.ts';

export type IcModeName = 'xics' | 'xive' | 'dual';

export interface RefConfig {
  smp: number;
  maxCpus: number;
  icMode: IcModeName;
  ramSize: number;
}

const XIVE_OPCODES = new Set([0x3a8, 0x3ac, 0x3b0, 0x3b4, 0x3b8, 0x3bc, 0x3c0, 0x3c4, 0x3c8, 0x3cc, 0x3d0]);
const XICS_OPCODES = new Set([H.H_EOI, H.H_CPPR, H.H_IPI, H.H_IPOLL, H.H_XIRR, H.H_XIRR_X]);
const RTAS_TOKENS: Readonly<Record<number, string>> = { 0x200a: 'ibm,set-xive', 0x200b: 'ibm,get-xive', 0x200c: 'ibm,int-off', 0x200d: 'ibm,int-on' };
const RTAS_NAMES = new Set(Object.values(RTAS_TOKENS));

/** Interrupts of QEMU's default pseries devices (EPOW, hotplug, VIO console and NVRAM, PHB 0 INTx). */
export const DEFAULT_DEVICE_IRQS: readonly { irq: number; lsi: boolean }[] = [
  { irq: 0x1000, lsi: false },
  { irq: 0x1001, lsi: false },
  { irq: 0x1100, lsi: false },
  { irq: 0x1101, lsi: false },
  { irq: 0x1200, lsi: true },
  { irq: 0x1201, lsi: true },
  { irq: 0x1202, lsi: true },
  { irq: 0x1203, lsi: true },
];

export type Answer =
  | { k: 'none' }
  | { k: 'hcall'; ret: number; regs: bigint[]; ticks: boolean }
  | { k: 'rtas'; rets: number[] }
  | { k: 'load'; v: LoadResult }
  | { k: 'cas'; ok: boolean; detail: string }
  | { k: 'claim'; ok: boolean };

export class RefMachine {
  readonly fx = new Effects();
  readonly led = new Ledger();
  readonly xive: RefXive | null;
  readonly xics: RefXics | null;
  active: 'xive' | 'xics';
  /** Negotiated option vector 5 byte 23. */
  ov5 = 0;
  halted: string | null = null;
  readonly vcpus: number[] = [];
  private readonly plugged = new Set<number>();

  constructor(readonly cfg: RefConfig) {
    this.xive = cfg.icMode === 'xics' ? null : new RefXive(cfg.maxCpus, cfg.ramSize, this.fx, this.led);
    this.xics = cfg.icMode === 'xive' ? null : new RefXics(this.fx, this.led);
    this.active = this.xics === null ? 'xive' : 'xics';
    if (this.xive !== null) for (let i = 0; i < cfg.maxCpus; i++) this.xive.claim(i, false);
    for (let i = 0; i < cfg.smp; i++) this.plug(i);
    for (const d of DEFAULT_DEVICE_IRQS) this.claim(d.irq, d.lsi);
    this.reset();
    this.fx.clear();
  }

  negotiated(): boolean {
    return (this.ov5 & 0x40) !== 0;
  }

  hasCpu(v: number): boolean {
    return this.plugged.has(v);
  }

  /**
   * Whether the machine API accepts the operation at all in this state (a shrunk sequence can
   * lose the hotplug a later operation needs: such operations are skipped when replaying).
   */
  applicable(op: Op): boolean {
    switch (op.k) {
      case 'hcall':
      case 'rtas':
      case 'load':
      case 'store':
        return this.hasCpu(op.vcpu);
      case 'eq-pop':
        return this.hasCpu(op.vcpu) && op.prio >= 0 && op.prio < 8;
      case 'plug':
        return Number.isInteger(op.id) && op.id >= 0 && op.id < this.cfg.maxCpus && !this.hasCpu(op.id);
      case 'irq':
      case 'msi':
      case 'claim':
      case 'free':
        return Number.isInteger(op.irq) && op.irq >= 0x1000 && op.irq < 0x2000;
      default:
        return true;
    }
  }

  plug(v: number): void {
    this.xive?.addCpu(v);
    this.xics?.addCpu(v);
    this.vcpus.push(v);
    this.plugged.add(v);
    this.fx.full = true;
  }

  claim(irq: number, lsi: boolean): boolean {
    const a = this.xics === null ? true : this.xics.claim(irq, lsi);
    const b = this.xive === null ? true : this.xive.claim(irq, lsi);
    return a && b;
  }

  free(irq: number): void {
    this.xics?.free(irq);
    this.xive?.free(irq);
  }

  reset(): void {
    this.xive?.reset();
    this.xics?.reset();
    this.ov5 = 0;
    this.halted = null;
    this.updateActive();
  }

  private updateActive(): void {
    const next = this.xics === null || this.negotiated() ? 'xive' : 'xics';
    if (next !== this.active) {
      if (this.active === 'xive') this.xive?.reset();
      else this.xics?.reset();
      this.fx.full = true;
    }
    this.active = next;
  }

  /** spapr-xive.md §4.2-§4.3. */
  cas(byte: number): { ok: boolean; detail: string } {
    const b = byte & 0xff;
    let fatal: string | null = null;
    if ((b & 0x80) !== 0) fatal = 'guest requested an invalid interrupt mode';
    else if ((b & 0x40) !== 0 && this.xive === null) fatal = 'Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property';
    else if ((b & 0x40) === 0 && this.xics === null) {
      fatal = "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual";
    }
    if (fatal !== null) {
      this.halted = fatal;
      return { ok: false, detail: fatal };
    }
    this.ov5 = (this.xive !== null ? 0x40 : 0) & byte;
    this.updateActive();
    return { ok: true, detail: (b & 0x40) !== 0 ? 'xive' : 'xics' };
  }

  private hcall(v: number, opcode: number, args: readonly bigint[], pr: boolean): Answer {
    const regs = new Array<bigint>(6).fill(0n);
    for (let i = 0; i < Math.min(args.length, 6); i++) regs[i] = BigInt.asUintN(64, args[i]!);
    if (pr) return { k: 'hcall', ret: H.H_PRIVILEGE, regs, ticks: false };
    if (this.xive !== null && XIVE_OPCODES.has(opcode)) {
      if (!this.negotiated()) return { k: 'hcall', ret: H.H_FUNCTION, regs, ticks: false };
      return { k: 'hcall', ret: this.xive.hcall(opcode, regs), regs, ticks: false };
    }
    if (this.xics !== null && XICS_OPCODES.has(opcode)) {
      const r = this.xics.hcall(v, opcode, regs, this.active === 'xics');
      return { k: 'hcall', ret: r.ret, regs, ticks: r.ticks === true };
    }
    return { k: 'hcall', ret: H.H_FUNCTION, regs, ticks: false };
  }

  private rtas(call: string | number, args: readonly number[], nret: number): number[] {
    const name = typeof call === 'string' ? call : RTAS_TOKENS[call];
    if (this.xics === null || name === undefined || !RTAS_NAMES.has(name)) return [-3];
    return this.xics.rtas(name, args.map((a) => a >>> 0), nret, this.active === 'xics');
  }

  private xiveMmio(): RefXive | null {
    return this.xive !== null && this.active === 'xive' ? this.xive : null;
  }

  private load(v: number, addr: number, size: number): LoadResult {
    const x = this.xiveMmio();
    if (x !== null) {
      if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
        const off = addr - VC_BASE;
        return size === 8 && off % 8 === 0 ? x.esbLoad(off) : { lo: 0, hi: 0 };
      }
      if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
        const off = addr - TM_BASE;
        this.fx.touchedCpu.add(v);
        return (size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0 ? x.timaLoad(v, off, size) : { lo: 0, hi: 0 };
      }
    }
    return { lo: 0, hi: 0 };
  }

  private store(v: number, addr: number, size: number, lo: number, hi: number): void {
    const x = this.xiveMmio();
    if (x === null) return;
    if (addr >= VC_BASE && addr < VC_BASE + ESB_REGION) {
      const off = addr - VC_BASE;
      if (size === 8 && off % 8 === 0) x.esbStore(off);
    } else if (addr >= TM_BASE && addr < TM_BASE + TIMA_SIZE) {
      const off = addr - TM_BASE;
      this.fx.touchedCpu.add(v);
      if ((size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0) x.timaStore(v, off, size, lo >>> 0, hi >>> 0);
    }
  }

  private setIrq(irq: number, level: boolean): void {
    if (this.active === 'xive') this.xive!.setIrq(irq, level);
    else this.xics!.setIrq(irq - 0x1000, level);
  }

  /** The answer the operation must get (eq-pop and host operations are handled by the engine). */
  apply(op: Op): Answer {
    switch (op.k) {
      case 'hcall':
        return this.hcall(op.vcpu, op.opcode, op.args, op.pr);
      case 'rtas':
        return { k: 'rtas', rets: this.rtas(op.call, op.args, op.nret) };
      case 'load':
        return { k: 'load', v: this.load(op.vcpu, op.addr, op.size) };
      case 'store':
        this.store(op.vcpu, op.addr, op.size, op.lo, op.hi);
        return { k: 'none' };
      case 'irq':
        this.setIrq(op.irq, op.level);
        return { k: 'none' };
      case 'msi':
        this.setIrq(op.irq, true);
        this.setIrq(op.irq, false);
        return { k: 'none' };
      case 'cas':
        return { k: 'cas', ...this.cas(op.byte) };
      case 'reset':
        this.reset();
        return { k: 'none' };
      case 'plug':
        this.plug(op.id);
        return { k: 'none' };
      case 'claim':
        return { k: 'claim', ok: this.claim(op.irq, op.lsi) };
      case 'free':
        this.free(op.irq);
        return { k: 'none' };
      case 'eq-pop':
      case 'host':
        return { k: 'none' };
    }
  }
}
