/**
 * Reference pseries machine of the fuzzer: the reference XIVE and XICS (ref-xive.ts,
 * ref-xics.ts) composed as docs/spapr-xive.md §1, §2.1, §4 and docs/xics.md §4-§5 describe the machine —
 * ic-mode objects, default device claims, reset, CAS negotiation and the choice of the active
 * controller, hotplug, and the dispatch of hcalls, RTAS calls and MMIO.
 *
 * Like the product's machine it holds its controllers behind one interface (ref-intc.ts): claims,
 * frees, vCPUs and resets go to all of them, device input and MMIO to the active one, a guest
 * call to the controller that owns it.
 *
 * It computes the answer each operation must get; the engine compares it with the model's.
 * The one behaviour taken from the model's documentation rather than from QEMU: the backend that
 * becomes inactive at a CAS or reset switch is reset (docs/qemu-compatibility.md, "Mode switch").
 */
import * as H from '../spapr/hcall.ts';
import { IC_MODE_BACKENDS, OV5_XIVE_EITHER, OV5_XIVE_EXPLOIT, OV5_XIVE_LEGACY } from '../spapr/cas.ts';
import { Effects } from './effects.ts';
import { Ledger } from './ledger.ts';
import type { LoadResult, RefIntc, RefPlatform } from './ref-intc.ts';
import { RefXive } from './ref-xive.ts';
import { RefXics } from './ref-xics.ts';
import type { Op } from './ops.ts';

export type IcModeName = 'xics' | 'xive' | 'dual';

export interface RefConfig {
  smp: number;
  maxCpus: number;
  icMode: IcModeName;
  ramSize: number;
}

/**
 * Why CAS stops the VM when the guest asks for an interrupt mode the machine has no controller
 * for, by the mode bits it asked for (docs/spapr-xive.md §4.3).
 */
const CAS_UNAVAILABLE: Readonly<Record<number, string>> = {
  [OV5_XIVE_EXPLOIT]: 'Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property',
  [OV5_XIVE_LEGACY]: "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual",
};

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

export class RefMachine implements RefPlatform {
  readonly fx = new Effects();
  readonly led = new Ledger();
  /** The XIVE controller, when the ic-mode has one (for its tables: checks, generator). */
  readonly xive: RefXive | null;
  /** The XICS controller, when the ic-mode has one. */
  readonly xics: RefXics | null;
  /** Every controller of the machine, in QEMU's order (XICS first). */
  readonly intcs: readonly RefIntc[];
  /** The controller the guest talks to. */
  active: RefIntc;
  /** Negotiated option vector 5 byte 23. */
  ov5 = 0;
  halted: string | null = null;
  readonly vcpus: number[] = [];
  private readonly plugged = new Set<number>();
  /** Interrupt-mode bits of byte 23 some controller answers to. */
  private readonly casModes: number;
  /** RTAS call names by token, over every controller. */
  private readonly rtasNames = new Map<number, string>();

  constructor(readonly cfg: RefConfig) {
    // The ic-mode says which controllers the machine has (the one place the reference reads it).
    const backends = IC_MODE_BACKENDS[cfg.icMode];
    this.xics = backends.includes('xics') ? new RefXics(this.fx, this.led, this) : null;
    this.xive = backends.includes('xive') ? new RefXive(cfg.maxCpus, cfg.ramSize, this.fx, this.led, this) : null;
    this.intcs = [this.xics, this.xive].filter((c): c is RefXics | RefXive => c !== null);
    this.casModes = this.intcs.reduce((bits, c) => bits | c.casMode, 0);
    for (const c of this.intcs) for (const [name, token] of Object.entries(c.rtasTokens)) this.rtasNames.set(token, name);
    // Before CAS the negotiated vector is empty: the first controller (XICS when there is one).
    this.active = this.intcs[0]!;
    for (let i = 0; i < cfg.smp; i++) this.plug(i);
    for (const d of DEFAULT_DEVICE_IRQS) this.claim(d.irq, d.lsi);
    this.reset();
    this.fx.clear();
  }

  // ---- what the controllers ask of the machine (RefPlatform) -----------------------------------
  isActive(intc: RefIntc): boolean {
    return intc === this.active;
  }

  xiveNegotiated(): boolean {
    return (this.ov5 & OV5_XIVE_EXPLOIT) !== 0;
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
    for (const c of this.intcs) c.addCpu(v);
    this.vcpus.push(v);
    this.plugged.add(v);
    this.fx.full = true;
  }

  /** Claimed in every controller (each is asked, even after one refused). */
  claim(irq: number, lsi: boolean): boolean {
    let ok = true;
    for (const c of this.intcs) ok = c.claim(irq, lsi) && ok;
    return ok;
  }

  free(irq: number): void {
    for (const c of this.intcs) c.free(irq);
  }

  reset(): void {
    for (const c of this.intcs) c.reset();
    this.ov5 = 0;
    this.halted = null;
    this.updateActive();
  }

  /** After a snapshot is loaded; the resend, when asked for, happens in the active controller. */
  postLoad(resend: boolean): void {
    for (const c of this.intcs) c.postLoad(resend && c === this.active);
  }

  /** The controller the negotiated vector selects; before CAS, or when none, the first one. */
  private updateActive(): void {
    const mode = this.ov5 & OV5_XIVE_EXPLOIT;
    const next = this.intcs.find((c) => c.casMode === mode) ?? this.intcs[0]!;
    if (next !== this.active) {
      this.active.reset();
      this.fx.full = true;
    }
    this.active = next;
  }

  /** docs/spapr-xive.md §4.2-§4.3. */
  cas(byte: number): { ok: boolean; detail: string } {
    const b = byte & 0xff;
    const mode = b & OV5_XIVE_EXPLOIT;
    const wanted = this.intcs.find((c) => c.casMode === mode);
    let fatal: string | null = null;
    if ((b & OV5_XIVE_EITHER) !== 0) fatal = 'guest requested an invalid interrupt mode';
    else if (wanted === undefined) fatal = CAS_UNAVAILABLE[mode]!;
    if (fatal !== null) {
      this.halted = fatal;
      return { ok: false, detail: fatal };
    }
    this.ov5 = this.casModes & byte;
    this.updateActive();
    return { ok: true, detail: wanted!.name };
  }

  private hcall(v: number, opcode: number, args: readonly bigint[], pr: boolean): Answer {
    const regs = new Array<bigint>(6).fill(0n);
    for (let i = 0; i < Math.min(args.length, 6); i++) regs[i] = BigInt.asUintN(64, args[i]!);
    if (pr) return { k: 'hcall', ret: H.H_PRIVILEGE, regs, ticks: false };
    const owner = this.intcs.find((c) => c.handlesHcall(opcode));
    if (owner === undefined) return { k: 'hcall', ret: H.H_FUNCTION, regs, ticks: false };
    return { k: 'hcall', ...owner.hcall(v, opcode, regs), regs };
  }

  private rtas(call: string | number, args: readonly number[], nret: number): number[] {
    const name = typeof call === 'string' ? call : this.rtasNames.get(call);
    const owner = name === undefined ? undefined : this.intcs.find((c) => Object.hasOwn(c.rtasTokens, name));
    if (owner === undefined) return [-3];
    return owner.rtas(name!, args.map((a) => a >>> 0), nret);
  }

  /** The answer the operation must get (eq-pop and host operations are handled by the engine). */
  apply(op: Op): Answer {
    switch (op.k) {
      case 'hcall':
        return this.hcall(op.vcpu, op.opcode, op.args, op.pr);
      case 'rtas':
        return { k: 'rtas', rets: this.rtas(op.call, op.args, op.nret) };
      case 'load':
        return { k: 'load', v: this.active.mmioLoad(op.vcpu, op.addr, op.size) };
      case 'store':
        this.active.mmioStore(op.vcpu, op.addr, op.size, op.lo, op.hi);
        return { k: 'none' };
      case 'irq':
        this.active.setIrq(op.irq, op.level);
        return { k: 'none' };
      case 'msi':
        this.active.setIrq(op.irq, true);
        this.active.setIrq(op.irq, false);
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
