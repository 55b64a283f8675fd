/**
 * The pseries (sPAPR) machine as far as interrupts go: vCPUs, guest RAM, the IRQ number space,
 * the interrupt controller(s) selected by ic-mode, CAS negotiation, machine reset, and the guest
 * entry points (hcalls and MMIO) routed to the active controller.
 */
import { SpaprXive, MMIO_OK } from './spapr-xive.ts';
import { SpaprXics } from './spapr-xics.ts';
import { isXicsHcall, isXicsRtas, xicsHcall, xicsRtas, XICS_RTAS_TOKENS, RTAS_OUT_PARAM_ERROR, type XicsHcallContext } from '../xics/xics-hcalls.ts';
import { isXiveHcall, xiveHcall, type XiveHcallContext } from './xive-hcalls.ts';
import * as H from './hcall.ts';
import { SPAPR_IRQ_EPOW, SPAPR_IRQ_HOTPLUG, SPAPR_MAX_CPUS, SPAPR_XIVE_NR_IRQS, SPAPR_XIRQ_BASE, SPAPR_NR_XIRQS, MsiAllocator, vioIrq, pciLsiIrq } from './irq-map.ts';
import { IC_MODES, negotiateIcMode, OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT, type CasOutcome, type IcMode } from './cas.ts';
import { SparseGuestMemory, type GuestMemory } from '../ports/memory.ts';
import { LineState, LINE_INT, type CpuLines } from '../ports/lines.ts';
import type { TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../errors.ts';
import type { ThreadContext } from '../xive/tctx.ts';

export interface MachineOptions {
  /** vCPUs present at start. */
  smp: number;
  /** Possible vCPUs (hotplug headroom); default = smp. */
  maxCpus?: number;
  icMode?: IcMode;
  /** Guest RAM size in bytes when no `memory` is given (default 1 GiB). */
  ramSize?: number;
  memory?: GuestMemory;
  lines?: CpuLines;
  trace?: TraceSink | null;
  /**
   * 'default': the interrupts of QEMU's default pseries devices are claimed (EPOW, hotplug,
   * the VIO console and NVRAM, the 4 LSIs of PHB 0), as `-nodefaults` still creates them.
   * 'none': only the IPIs (used by trace replay, which claims what the trace claims).
   */
  devices?: 'default' | 'none';
}

export const DEFAULT_RAM_SIZE = 1 << 30;

export class SpaprMachine {
  readonly smp: number;
  readonly maxCpus: number;
  readonly icMode: IcMode;
  readonly memory: GuestMemory;
  readonly lines: CpuLines;
  readonly xive: SpaprXive | null;
  readonly xics: SpaprXics | null;
  readonly msi = new MsiAllocator();
  /** Negotiated option vector 5 (byte n at index n). */
  readonly ov5Cas = new Uint8Array(256);
  /** vCPU ids in plug order. */
  readonly vcpus: number[] = [];
  /** Set when the guest did something QEMU terminates the VM for (the machine stops). */
  halted: string | null = null;
  private active: 'xive' | 'xics';
  private traceSink: TraceSink | null;
  private readonly hcallCtx: XiveHcallContext | null;
  private readonly xicsCtx: XicsHcallContext | null;
  /** High 32 bits of the last 8-byte MMIO load. */
  mmioHi = 0;
  private readonly scratch = new Uint32Array(2);

  constructor(opts: MachineOptions) {
    const smp = opts.smp;
    const maxCpus = opts.maxCpus ?? smp;
    if (!Number.isInteger(smp) || smp < 1) throw new XiveUsageError(`smp must be a positive integer, got ${smp}`);
    if (!Number.isInteger(maxCpus) || maxCpus < smp || maxCpus > SPAPR_MAX_CPUS) {
      throw new XiveUsageError(`max-cpus must be an integer in ${smp}..${SPAPR_MAX_CPUS}, got ${maxCpus}`);
    }
    const icMode = opts.icMode ?? 'dual';
    if (!IC_MODES.includes(icMode)) throw new XiveUsageError(`ic-mode must be one of ${IC_MODES.join(', ')}, got ${String(icMode)}`);
    this.smp = smp;
    this.maxCpus = maxCpus;
    this.icMode = icMode;
    this.memory = opts.memory ?? new SparseGuestMemory(opts.ramSize ?? DEFAULT_RAM_SIZE);
    this.lines = opts.lines ?? new LineState();
    this.traceSink = opts.trace ?? null;
    this.xive = icMode === 'xics' ? null : new SpaprXive({ nrIrqs: SPAPR_XIVE_NR_IRQS, nrServers: maxCpus, memory: this.memory, lines: this.lines, trace: this.traceSink });
    this.xics = icMode === 'xive' ? null : new SpaprXics(this.lines, this.traceSink);
    this.active = this.xics === null ? 'xive' : 'xics';
    const xive = this.xive;
    this.hcallCtx =
      xive === null ? null : { xive, memory: this.memory, xiveNegotiated: () => (this.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0 };
    this.xicsCtx = this.xics === null ? null : this.xics.hcallContext(() => this.active === 'xics');
    // IPIs of every possible vCPU are claimed first (XIVE only: XICS IPIs live in the ICPs),
    // then the vCPUs are created.
    if (xive !== null) for (let i = 0; i < maxCpus; i++) xive.claim(i, false);
    for (let i = 0; i < smp; i++) this.plugCpu(i);
    if ((opts.devices ?? 'default') === 'default') {
      this.claimIrq(SPAPR_IRQ_EPOW, false);
      this.claimIrq(SPAPR_IRQ_HOTPLUG, false);
      this.claimIrq(vioIrq(0), false);
      this.claimIrq(vioIrq(1), false);
      for (let pin = 0; pin < 4; pin++) this.claimIrq(pciLsiIrq(0, pin), true);
    }
    this.reset();
  }

  get trace(): TraceSink | null {
    return this.traceSink;
  }

  setTrace(sink: TraceSink | null): void {
    this.traceSink = sink;
    this.xive?.setTrace(sink);
    this.xics?.setTrace(sink);
  }

  /** The controller the guest currently talks to. */
  activeController(): 'xive' | 'xics' {
    return this.active;
  }

  // ---- vCPUs ---------------------------------------------------------------------------------
  hasCpu(vcpuId: number): boolean {
    return this.vcpus.includes(vcpuId);
  }

  /** Adds a vCPU (at start, or hotplug at run time): its thread context is created and reset. */
  plugCpu(vcpuId: number): void {
    if (!Number.isInteger(vcpuId) || vcpuId < 0 || vcpuId >= this.maxCpus) {
      throw new XiveUsageError(`vCPU id ${vcpuId} is outside 0..${this.maxCpus - 1}; raise max-cpus`);
    }
    if (this.hasCpu(vcpuId)) throw new XiveUsageError(`vCPU ${vcpuId} is already plugged`);
    this.xive?.addCpu(vcpuId, vcpuId);
    this.xics?.addCpu(vcpuId, vcpuId);
    this.vcpus.push(vcpuId);
  }

  /** Current level of a vCPU's interrupt input (LINE_INT or LINE_HINT), whatever port is plugged. */
  lineLevel(vcpuId: number, line: number): boolean {
    this.checkCpu(vcpuId);
    if (this.active === 'xics') return line === LINE_INT && this.xics!.icpOfCpu(vcpuId)!.outputLevel;
    return ((this.tctx(vcpuId).lines >> line) & 1) === 1;
  }

  private checkCpu(vcpuId: number): void {
    if (!this.hasCpu(vcpuId)) throw new XiveUsageError(`no vCPU ${vcpuId} in this machine (plugged: ${this.vcpus.join(', ')})`);
  }

  private tctx(vcpuId: number): ThreadContext {
    const t = this.xive?.tctxById[vcpuId];
    if (t === undefined) throw new XiveUsageError(`no vCPU ${vcpuId} in this machine (plugged: ${this.vcpus.join(', ')})`);
    return t;
  }

  // ---- IRQs ----------------------------------------------------------------------------------
  /** Claims a device interrupt (0x1000..0x1FFF); false when it is already claimed (EBUSY). */
  claimIrq(irq: number, lsi: boolean): boolean {
    if (!Number.isInteger(irq) || irq < SPAPR_XIRQ_BASE || irq >= SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS) {
      throw new XiveUsageError(`device IRQ ${irq} is outside 0x1000..0x1fff`);
    }
    // Dual mode: both backends get every claim (QEMU errors out when either refuses).
    const okXics = this.xics === null ? true : this.xics.ics.claim(irq, lsi);
    const okXive = this.xive === null ? true : this.xive.claim(irq, lsi);
    return okXics && okXive;
  }

  freeIrq(irq: number): void {
    if (!Number.isInteger(irq) || irq < SPAPR_XIRQ_BASE || irq >= SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS) {
      throw new XiveUsageError(`device IRQ ${irq} is outside 0x1000..0x1fff`);
    }
    this.xics?.ics.free(irq);
    this.xive?.free(irq);
  }

  /** Device input level change (an MSI is a pulse: level 1 then 0). */
  setIrq(irq: number, level: boolean): void {
    if (this.active === 'xive') this.xive!.setIrq(irq, level);
    else {
      if (!Number.isInteger(irq) || irq < SPAPR_XIRQ_BASE || irq >= SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS) {
        throw new XiveUsageError(`device IRQ ${irq} is outside 0x1000..0x1fff`);
      }
      this.xics!.ics.setIrq(irq - SPAPR_XIRQ_BASE, level);
    }
  }

  /** A device's MSI: the pulse QEMU sends through the active controller. */
  pulseMsi(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  // ---- Reset and CAS -------------------------------------------------------------------------
  reset(): void {
    this.xive?.reset();
    this.xics?.reset();
    this.ov5Cas.fill(0);
    this.halted = null;
    this.updateActive();
  }

  /** The guest's CAS call with its option vector 5 byte 23. */
  cas(guestByte23: number): CasOutcome {
    const out = negotiateIcMode(this.xics !== null, this.xive !== null, guestByte23 & 0xff);
    if (!out.ok) {
      this.halted = out.fatal;
      return out;
    }
    const machineByte = this.xive !== null ? OV5_XIVE_EXPLOIT : 0;
    this.ov5Cas[OV5_INT_CTRL_BYTE] = machineByte & guestByte23;
    this.updateActive();
    return out;
  }

  /**
   * Restores the negotiated option vector after a migration and selects the active controller
   * from it without resetting either backend: both were just loaded, as QEMU's post-load does.
   */
  restoreMode(ov5Cas: Uint8Array): void {
    this.ov5Cas.fill(0);
    this.ov5Cas.set(ov5Cas.subarray(0, this.ov5Cas.length));
    this.active = this.xics === null || (this.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0 ? 'xive' : 'xics';
    if (this.xive !== null) this.xive.mmioEnabled = this.active === 'xive';
  }

  /**
   * Active controller: XIVE when there is no XICS or when XIVE was negotiated. The backend that
   * goes inactive is reset (claims kept): the guest can no longer reach it, and it must not keep
   * state from before the switch.
   */
  private updateActive(): void {
    const next = this.xics === null || (this.ov5Cas[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0 ? 'xive' : 'xics';
    if (next !== this.active) {
      if (this.active === 'xive') this.xive?.reset();
      else this.xics?.reset();
    }
    this.active = next;
    if (this.xive !== null) this.xive.mmioEnabled = this.active === 'xive';
  }

  // ---- Guest entry points --------------------------------------------------------------------
  /**
   * An hcall made by vCPU `vcpuId` (`sc 1`, R3 = opcode, `args` = R4..R9, at most 6 values, each
   * taken modulo 2^64). `problemState`: the caller ran with MSR[PR]=1.
   */
  hcall(vcpuId: number, opcode: number, args: readonly bigint[] = [], problemState = false): H.HcallResult {
    this.checkCpu(vcpuId);
    const regs = new Array<bigint>(H.HCALL_REGS).fill(0n);
    for (let i = 0; i < Math.min(args.length, H.HCALL_REGS); i++) regs[i] = BigInt.asUintN(64, args[i]!);
    if (problemState) return { ret: H.H_PRIVILEGE, regs };
    if (this.hcallCtx !== null && isXiveHcall(opcode)) return { ret: xiveHcall(this.hcallCtx, opcode, regs), regs };
    if (this.xicsCtx !== null && isXicsHcall(opcode)) return { ret: xicsHcall(this.xicsCtx, vcpuId, opcode, regs), regs };
    this.traceSink?.emit({ name: 'guest_error', message: `Unimplemented SPAPR hcall 0x${(opcode >>> 0).toString(16)}` });
    return { ret: H.H_FUNCTION, regs };
  }

  /**
   * An RTAS call by name or token with its argument words; returns the return words (status
   * first, as the signed RTAS status). Only the XICS calls exist here; an unknown call answers
   * the parameter error QEMU gives an unknown token.
   */
  rtas(vcpuId: number, call: string | number, args: readonly number[], nret: number): number[] {
    this.checkCpu(vcpuId);
    const name = typeof call === 'string' ? call : Object.entries(XICS_RTAS_TOKENS).find(([, t]) => t === call)?.[0];
    if (this.xicsCtx === null || name === undefined || !isXicsRtas(name)) return [RTAS_OUT_PARAM_ERROR];
    return xicsRtas(this.xicsCtx, name, args.map((a) => a >>> 0), nret);
  }

  /**
   * MMIO load of `size` bytes at guest physical `addr` by vCPU `vcpuId`. Returns the low 32 bits;
   * `mmioHi` holds the high 32 bits of an 8-byte load. Unassigned addresses read 0.
   */
  mmioRead(vcpuId: number, addr: number, size: number): number {
    const x = this.xive;
    const out = this.scratch;
    out[0] = 0;
    out[1] = 0;
    if (x !== null && x.mmioEnabled) {
      // Guest addresses are 50-bit floating-point numbers; only small integers (source, offset
      // in its pages or in the TIMA) are passed on, so no call has to box a number.
      if (x.inEsb(addr)) {
        const srcno = x.esbSourceOf(addr);
        x.esbReadAt(srcno, addr - x.esbPageOf(srcno), size, out);
      } else if (x.inTima(addr)) x.timaRead(this.tctx(vcpuId), addr - x.tmBase, size, out);
    }
    this.mmioHi = out[1]!;
    return out[0]!;
  }

  /** 8-byte load as a bigint (convenience; allocates). */
  mmioRead64(vcpuId: number, addr: number): bigint {
    const lo = this.mmioRead(vcpuId, addr, 8);
    return (BigInt(this.mmioHi) << 32n) | BigInt(lo);
  }

  /** MMIO store; `hi` carries the upper 32 bits of an 8-byte store. Unassigned addresses ignore it. */
  mmioWrite(vcpuId: number, addr: number, size: number, lo: number, hi = 0): void {
    const x = this.xive;
    if (x === null || !x.mmioEnabled) return;
    if (x.inEsb(addr)) {
      const srcno = x.esbSourceOf(addr);
      x.esbWriteAt(srcno, addr - x.esbPageOf(srcno), size, lo, hi);
    } else if (x.inTima(addr)) x.timaWrite(this.tctx(vcpuId), addr - x.tmBase, size, lo, hi);
  }

  mmioWrite64(vcpuId: number, addr: number, v: bigint): void {
    this.mmioWrite(vcpuId, addr, 8, Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn));
  }
}

export { MMIO_OK };
