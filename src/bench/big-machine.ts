/**
 * A XIVE-only machine of any size, for scale measurements: the sPAPR XIVE controller built with
 * the requested number of LISNs and vCPUs (up to 2^20 sources and 4096 vCPUs, where the pseries
 * machine has 0x2000 LISNs), with the guest entry points of SpaprMachine — the H_INT_* hcalls,
 * ESB and TIMA MMIO at the pseries addresses — and nothing else (no XICS, no CAS: XIVE
 * exploitation is taken as negotiated).
 *
 * It can also attach to tables another thread set up in shared memory (`attach`): the thread
 * contexts are then created over the existing registers instead of being reset, which is how a
 * worker thread joins the machine to run some of its vCPUs.
 */
import { SpaprXive, type SpaprXiveOptions } from '../spapr/spapr-xive.ts';
import { isXiveHcall, xiveHcall, type XiveHcallContext } from '../spapr/xive-hcalls.ts';
import * as H from '../spapr/hcall.ts';
import type { GuestMemory } from '../ports/memory.ts';
import type { CpuLines } from '../ports/lines.ts';
import type { ThreadContext } from '../xive/tctx.ts';
import type { TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';

/** Largest sizes the addressing allows: 2^20 ESB page pairs fit below the TIMA; 4096 NVTs. */
export const BIG_MAX_IRQS = 1 << 20;
export const BIG_MAX_SERVERS = 4096;

export interface BigMachineOptions {
  /** Number of LISNs (sources). */
  nrIrqs: number;
  /** Number of vCPUs (all present from the start). */
  nrServers: number;
  memory: GuestMemory;
  lines?: CpuLines | null;
  /** Receives the controller's trace events (none by default). */
  trace?: TraceSink | null;
  /** Tables in caller-provided (e.g. shared) buffers. */
  buffers?: SpaprXiveOptions['buffers'];
  /**
   * The buffers already hold a configured machine (set up by another thread): create the thread
   * contexts without resetting anything.
   */
  attach?: boolean;
}

export class BigXiveMachine {
  readonly xive: SpaprXive;
  readonly memory: GuestMemory;
  readonly nrServers: number;
  /** High 32 bits of the last 8-byte MMIO load. */
  mmioHi = 0;
  private readonly scratch = new Uint32Array(2);
  private readonly hcallCtx: XiveHcallContext;

  constructor(opts: BigMachineOptions) {
    const { nrIrqs, nrServers } = opts;
    if (!Number.isInteger(nrIrqs) || nrIrqs < 1 || nrIrqs > BIG_MAX_IRQS) throw new XiveUsageError(`nrIrqs must be an integer in 1..${BIG_MAX_IRQS}, got ${nrIrqs}`);
    if (!Number.isInteger(nrServers) || nrServers < 1 || nrServers > BIG_MAX_SERVERS) {
      throw new XiveUsageError(`nrServers must be an integer in 1..${BIG_MAX_SERVERS}, got ${nrServers}`);
    }
    this.memory = opts.memory;
    this.nrServers = nrServers;
    const xive = new SpaprXive({ nrIrqs, nrServers, memory: opts.memory, lines: opts.lines ?? null, trace: opts.trace ?? null, buffers: opts.buffers });
    this.xive = xive;
    for (let i = 0; i < nrServers; i++) {
      if (opts.attach === true) xive.attachCpu(i);
      else xive.addCpu(i);
    }
    // Machine reset, as at power-on: every source off (PQ 01), ENDs and contexts reset.
    if (opts.attach !== true) xive.reset();
    xive.mmioEnabled = true;
    this.hcallCtx = { xive, memory: opts.memory, xiveNegotiated: () => true };
  }

  /** Claims a LISN (false when already claimed). */
  claim(lisn: number, lsi = false): boolean {
    return this.xive.claim(lisn, lsi);
  }

  /** An H_INT_* hcall by vCPU `vcpuId`; any other opcode answers H_FUNCTION. */
  hcall(vcpuId: number, opcode: number, args: readonly bigint[] = []): H.HcallResult {
    this.tctx(vcpuId);
    const regs = new Array<bigint>(H.HCALL_REGS).fill(0n);
    for (let i = 0; i < Math.min(args.length, H.HCALL_REGS); i++) regs[i] = BigInt.asUintN(64, args[i]!);
    if (!isXiveHcall(opcode)) return { ret: H.H_FUNCTION, regs };
    return { ret: xiveHcall(this.hcallCtx, opcode, regs), regs };
  }

  /** MMIO load (as SpaprMachine.mmioRead): low 32 bits returned, high 32 bits in `mmioHi`. */
  mmioRead(vcpuId: number, addr: number, size: number): number {
    const x = this.xive;
    const out = this.scratch;
    out[0] = 0;
    out[1] = 0;
    if (x.inEsb(addr)) {
      const srcno = x.esbSourceOf(addr);
      x.esbReadAt(srcno, addr - x.esbPageOf(srcno), size, out);
    } else if (x.inTima(addr)) x.timaRead(this.tctx(vcpuId), addr - x.tmBase, size, out);
    this.mmioHi = out[1]!;
    return out[0]!;
  }

  /** MMIO store (as SpaprMachine.mmioWrite); `hi` carries the upper 32 bits of an 8-byte store. */
  mmioWrite(vcpuId: number, addr: number, size: number, lo: number, hi = 0): void {
    const x = this.xive;
    if (x.inEsb(addr)) {
      const srcno = x.esbSourceOf(addr);
      x.esbWriteAt(srcno, addr - x.esbPageOf(srcno), size, lo, hi);
    } else if (x.inTima(addr)) x.timaWrite(this.tctx(vcpuId), addr - x.tmBase, size, lo, hi);
  }

  private tctx(vcpuId: number): ThreadContext {
    const t = this.xive.tctxById[vcpuId];
    if (t === undefined) this.noCpu(vcpuId);
    return t!;
  }

  private noCpu(vcpuId: number): never {
    throw new XiveUsageError(`no vCPU ${vcpuId} in this machine (0..${this.nrServers - 1})`);
  }
}
