/**
 * The sPAPR XIVE controller ("spapr-xive"): one XIVE source (IPIs + device interrupts), the
 * router with its EAS and END tables, the presenter and one thread context per vCPU, laid out
 * the way a pseries machine configures them (block 0, END index = vcpu*8 + priority, NVT
 * index = 0x400 + vcpu, ESB pages and TIMA at the pseries guest addresses). It is one of the two
 * backends of the platform's interrupt-controller interface (intc.ts); the H_INT_* hcalls it
 * answers are in xive-hcalls.ts, its `info pic` lines in xive-info-pic.ts.
 *
 * Longer than the project's usual module on purpose: the guest load/store entries, their fused
 * interrupt paths and the checked paths they fall back to stay methods of this one class, on the
 * object that holds the blocks, so that V8 can compile the interrupt cycle into few functions
 * (bench/README.md, "Where the time goes").
 */
import * as R from '../xive/regs.ts';
import { ESB_ALL_ONES, XiveSource, type XiveSourceState } from '../xive/source.ts';
import { NVT_MISSING, NVT_VALID, XiveRouter, type NvtStore, type XiveRouterState } from '../xive/router.ts';
import { XivePresenter } from '../xive/presenter.ts';
import { ThreadContext, type TctxState } from '../xive/tctx.ts';
import type { PerCpu, StateMismatch } from '../base/state.ts';
import { SPAPR_XIVE_STATE } from './xive-state.ts';
import { Tima } from '../xive/tima.ts';
import type { GuestMemory } from '../ports/memory.ts';
import type { CpuLines } from '../ports/lines.ts';
import { Tracer, type TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';
import { INTC_TRACE_PREFIXES, type IntcPlatform, type SectionStates, type SpaprIntc } from './intc.ts';
import { isXiveHcall, xiveHcall, type XiveHcallContext } from './xive-hcalls.ts';
import { lisnPicLines, tctxPicLines, xivePicLines } from './xive-info-pic.ts';
import { xiveView } from './xive-view.ts';
import type { IntcView, IntcViewOptions } from './intc-view.ts';
import { LINE_HINT, LINE_INT } from '../ports/lines.ts';
import { propEmpty, propString, propU32, propU64, type DeviceTree } from './fdt.ts';
import { RTAS_OUT_PARAM_ERROR } from './xics-hcalls.ts';
import { XiveFastTrigger } from './xive-fast-path.ts';

import {
  ESB_REGION_NAME,
  MMIO_INVALID,
  MMIO_OK,
  SPAPR_XIVE_BLOCK_ID,
  SPAPR_XIVE_HV_PRIO,
  SPAPR_XIVE_ENDS_PER_VCPU,
  spaprNvtIndex,
  spaprNvtVcpu,
  SPAPR_XIVE_TM_BASE,
  SPAPR_XIVE_VC_BASE,
  TIMA_REGION_NAME,
  XIVE_EQ_SIZE_SHIFTS,
  XIVE_NODE_NAME,
  XIVE_TM_OS_PAGE,
  XIVE_TM_PAGE_SIZE,
  XIVE_TM_USER_PAGE,
} from './xive-layout.ts';

export * from './xive-layout.ts';

// The guest addresses and sizes every MMIO access is decoded with, as module constants: the
// engine folds those into the code, while a number field or an imported binding is loaded and
// type-checked on every access (measured on the interrupt cycle).
const VC_BASE = SPAPR_XIVE_VC_BASE;
const TM_BASE = SPAPR_XIVE_TM_BASE;
/** The four TIMA pages. */
const TM_BYTES = 4 * 2 ** R.TM_SHIFT;
/** ESB bytes per source (trigger page + management page), and its inverse (exact). */
const ESB_PAGE = 2 ** R.ESB_64K_2PAGE;
const PER_ESB_PAGE = 1 / ESB_PAGE;
/** Start of the management page in a source's ESB pages (the trigger page comes first). */
const ESB_MGMT = ESB_PAGE / 2;
/** The OS ring's ACK load and CPPR store, at the TIMA's OS page: what a guest does per interrupt. */
const TM_ACK_OS = R.TM_PAGE_OS * 2 ** R.TM_SHIFT + R.TM_SPC_ACK_OS_REG;
const TM_CPPR_OS = R.TM_PAGE_OS * 2 ** R.TM_SHIFT + R.TM_QW1_OS + R.TM_CPPR;
const TM_QW1_OS = R.TM_QW1_OS;
const SRC_STATUS_PQ = R.SRC_STATUS_PQ;
const ESB_OFFSET_PQ = R.ESB_OFFSET_PQ;
const ESB_OFFSET_PQ_SHIFT = R.ESB_OFFSET_PQ_SHIFT;
/** An 8-byte aligned load at 0xC00-0xFFF of a management page: a SET_PQ_xx. */
const ESB_SET_PQ_TESTED = 0xc07;
const ESB_SET_PQ = 0xc00;
const NVT_IS_VALID = NVT_VALID;
const NVT_IS_MISSING = NVT_MISSING;
const nvtVcpu = spaprNvtVcpu;

/**
 * Options of {@link SpaprXive}: its size, its ports, and optionally caller-provided table buffers.
 */
export interface SpaprXiveOptions {
  /** LISNs (IPIs and device interrupts). */
  nrIrqs: number;
  /** Server numbers (vCPU ids) the END table has room for: 8 ENDs each. */
  nrServers: number;
  /** Guest RAM, where the event queues are. */
  memory: GuestMemory;
  /** The vCPU interrupt inputs, or null. */
  lines: CpuLines | null;
  /** Trace sink (when no `tracer` is given). */
  trace?: TraceSink | null;
  /** The machine's tracer, shared with its other controller; a new one over `trace` otherwise. */
  tracer?: Tracer;
  /**
   * The machine around the controller, for the hcalls. Without one the controller stands alone:
   * XIVE counts as negotiated and as active.
   */
  platform?: IntcPlatform;
  /** Backing buffers (e.g. SharedArrayBuffer) for the tables; fresh ones otherwise. */
  buffers?: {
    eas: ArrayBufferLike;
    ends: ArrayBufferLike;
    status: Uint8Array;
    lsiMap: Uint32Array;
    tctx: Uint8Array;
    /**
     * One lock word per possible vCPU, in shared memory. Giving it declares that other threads
     * drive the same tables concurrently: PQ updates, END queue-index updates and thread-context
     * ring operations then use Atomics (src/xive/atomics.ts), as the hardware makes them atomic.
     */
    locks?: Int32Array;
  };
}

/**
 * The sPAPR XIVE controller: the XIVE blocks (source, router, presenter, thread contexts, TIMA)
 * wired as a pseries machine uses them, behind the interrupt-controller interface.
 */
export class SpaprXive implements NvtStore, SpaprIntc {
  readonly name = 'xive';
  readonly cpuLines: readonly number[] = [LINE_INT, LINE_HINT];
  readonly tracePrefixes: readonly string[] = INTC_TRACE_PREFIXES.xive;
  readonly nrIrqs: number;
  readonly nrEnds: number;
  readonly nrServers: number;
  readonly vcBase = SPAPR_XIVE_VC_BASE;
  readonly tmBase = SPAPR_XIVE_TM_BASE;
  readonly endBase = SPAPR_XIVE_VC_BASE + 0x2000 * 0x20000;
  readonly esbShift = R.ESB_64K_2PAGE;
  readonly hvPrio = SPAPR_XIVE_HV_PRIO;
  readonly source: XiveSource;
  readonly router: XiveRouter;
  readonly presenter: XivePresenter;
  readonly tima: Tima;
  /** Thread contexts by vCPU id. */
  readonly tctxById: (ThreadContext | undefined)[] = [];
  /** Thread contexts by CPU index (the CPU performing a TIMA access). */
  private readonly tctxByIndex: (ThreadContext | undefined)[] = [];
  /** Thread contexts in CPU (plug) order. */
  readonly cpus: ThreadContext[] = [];
  /** Backing store of all thread contexts, 64 bytes per possible vCPU id. */
  readonly tctxRegs: Uint8Array;
  /** Whether the ESB and TIMA MMIO regions are mapped (XIVE is the active controller). */
  mmioEnabled = false;
  /** @internal High 32 bits of the last guest load (`load`). */
  loadHi = 0;
  /** Trace sink and guest-error reporter of every block of the controller. */
  readonly tracer: Tracer;
  private readonly lines: CpuLines | null;
  private readonly locks: Int32Array | null;
  /** Size of the ESB region (fixed: the number of sources and the page size never change). */
  private readonly esbBytes: number;
  private readonly hcallCtx: XiveHcallContext;
  /**
   * Sources without flags and tables no other thread updates (every sPAPR guest's unless the
   * tables are shared): the accesses of an interrupt may then take the fused paths below, while
   * nothing is traced. Fixed at construction, as the blocks' `atomic` flags are (their owner,
   * this controller, sets them before use).
   */
  private readonly plain: boolean;
  private readonly fast: XiveFastTrigger;
  readonly rtasTokens: Readonly<Record<string, number>> = {};

  constructor(opts: SpaprXiveOptions) {
    this.nrIrqs = opts.nrIrqs;
    this.nrServers = opts.nrServers;
    this.nrEnds = opts.nrServers * SPAPR_XIVE_ENDS_PER_VCPU;
    this.esbBytes = this.nrIrqs * 2 ** this.esbShift;
    this.lines = opts.lines;
    this.tctxRegs = opts.buffers?.tctx ?? new Uint8Array(opts.nrServers * R.TCTX_BYTES);
    this.source = new XiveSource(this.nrIrqs, R.ESB_64K_2PAGE, 0, opts.buffers);
    this.presenter = new XivePresenter();
    this.router = new XiveRouter(SPAPR_XIVE_BLOCK_ID, this.nrIrqs, this.nrEnds, opts.memory, this, this.presenter, opts.buffers);
    this.source.notifier = this.router;
    this.router.pqSource = this.source;
    this.locks = opts.buffers?.locks ?? null;
    if (this.locks !== null) {
      if (this.locks.length < this.nrServers) throw new XiveUsageError(`buffers.locks holds ${this.locks.length} lock words, ${this.nrServers} are needed (one per possible vCPU)`);
      this.source.atomic = true;
      this.router.atomic = true;
    }
    this.tima = new Tima({
      camChanged: (t) => this.presenter.update(t),
      takeNvtIpb: () => 0, // sPAPR keeps no NVT table: nothing was saved
    });
    this.tracer = opts.tracer ?? new Tracer(opts.trace ?? null);
    this.source.tracer = this.tracer;
    this.router.tracer = this.tracer;
    this.presenter.tracer = this.tracer;
    this.tima.tracer = this.tracer;
    const platform = opts.platform;
    this.hcallCtx = { xive: this, memory: opts.memory, xiveNegotiated: platform === undefined ? () => true : () => platform.xiveNegotiated() };
    this.plain = this.locks === null && this.source.flags === 0;
    this.fast = new XiveFastTrigger(this);
  }

  /** The trace sink of the controller's blocks. */
  get trace(): TraceSink | null {
    return this.tracer.sink;
  }

  /** Plugs a trace sink into every block of the controller (null: none). */
  setTrace(sink: TraceSink | null): void {
    this.tracer.sink = sink;
  }

  // ---- vCPUs ---------------------------------------------------------------------------------
  cpuCreate(vcpuId: number, cpuIndex: number): void {
    this.addCpu(vcpuId, cpuIndex);
  }

  cpuDestroy(cpu: number): void {
    const t = this.tctxByIndex[cpu];
    if (t === undefined) throw new XiveUsageError(`no vCPU ${cpu} to unplug`);
    this.presenter.remove(t);
    this.tctxByIndex[cpu] = undefined;
    this.tctxById[t.pir] = undefined;
    this.cpus.splice(this.cpus.indexOf(t), 1);
  }

  /** Creates the thread context of a vCPU (machine init or CPU hotplug) and resets it. */
  addCpu(vcpuId: number, cpuIndex = vcpuId): ThreadContext {
    const t = this.createCpu(vcpuId, cpuIndex);
    this.resetCpu(t);
    return t;
  }

  /**
   * Creates the thread context of a vCPU over registers that already hold its state, without
   * resetting them: for a second thread that drives tables another thread set up (shared
   * buffers), so that it can present to that vCPU or run it.
   */
  attachCpu(vcpuId: number, cpuIndex = vcpuId): ThreadContext {
    const t = this.createCpu(vcpuId, cpuIndex);
    this.presenter.update(t);
    return t;
  }

  private createCpu(vcpuId: number, cpuIndex: number): ThreadContext {
    if (!Number.isInteger(vcpuId) || vcpuId < 0 || vcpuId >= this.nrServers) {
      throw new XiveUsageError(`vCPU id ${vcpuId} is outside 0..${this.nrServers - 1}; raise max-cpus to add it`);
    }
    if (this.tctxById[vcpuId] !== undefined) throw new XiveUsageError(`vCPU ${vcpuId} already exists; pick a free id`);
    const regs = this.tctxRegs.subarray(vcpuId * R.TCTX_BYTES, (vcpuId + 1) * R.TCTX_BYTES);
    const t = new ThreadContext(cpuIndex, vcpuId, this.lines, regs);
    t.useRegisterFile(this.tctxRegs, vcpuId * R.TCTX_BYTES);
    t.tracer = this.tracer;
    if (this.locks !== null) {
      t.locks = this.locks;
      t.lockIndex = vcpuId;
    }
    this.tctxById[vcpuId] = t;
    this.tctxByIndex[cpuIndex] = t;
    this.cpus.push(t);
    return t;
  }

  /** CPU reset: context reset, then the OS CAM line of the vCPU's NVT is pushed. */
  resetCpu(t: ThreadContext): void {
    t.reset();
    t.setWord2(R.TM_QW1_OS, R.TM_QW1W2_VO | R.camLine(SPAPR_XIVE_BLOCK_ID, spaprNvtIndex(t.pir)));
    this.presenter.update(t);
  }

  /** Has the CPU at this index a thread context? */
  hasCpu(cpu: number): boolean {
    return this.tctxByIndex[cpu] !== undefined;
  }

  /** The thread context of the CPU at this index (undefined when it has none). */
  tctxOfCpu(cpu: number): ThreadContext | undefined {
    return this.tctxByIndex[cpu];
  }

  /** Is there a vCPU with this id (server number)? */
  hasVcpuId(vcpuId: number): boolean {
    return vcpuId >= 0 && vcpuId < this.nrServers && this.tctxById[vcpuId] !== undefined;
  }

  // ---- NVT store (sPAPR: no table, an NVT exists iff its vCPU does) ---------------------------
  lookup(_blk: number, idx: number): number {
    return this.hasVcpuId(nvtVcpu(idx) >>> 0) ? NVT_IS_VALID : NVT_IS_MISSING;
  }

  backlog(blk: number, idx: number, _ipb: number): void {
    // QEMU 7.2 aborts on an NVT write on sPAPR; no sPAPR hcall can set BACKLOG.
    this.diag(`XIVE: cannot record backlog for NVT ${blk.toString(16)}/${idx.toString(16)}: sPAPR has no NVT table`);
  }

  // ---- IRQ claim / free / input --------------------------------------------------------------
  /** Returns false (QEMU: -EBUSY, "IRQ %d is not free") when the LISN is already claimed. */
  claim(lisn: number, lsi: boolean): boolean {
    this.checkLisn(lisn);
    this.tracer.sink?.emit({ name: 'spapr_xive_claim_irq', lisn, lsi });
    if (this.router.easValid(lisn)) return false;
    this.router.setEas(lisn, this.router.easHi(lisn) | R.EAS_HI_VALID, this.router.easLo(lisn) | R.EAS_LO_MASKED);
    if (lsi) this.source.setLsi(lisn, true);
    return true;
  }

  /** The IPIs of vCPU ids 0 .. n-1 (claimed at machine init, before any vCPU exists). */
  claimIpis(n: number): void {
    for (let i = 0; i < n; i++) this.claim(i, false);
  }

  isClaimed(lisn: number): boolean {
    return Number.isInteger(lisn) && lisn >= 0 && lisn < this.nrIrqs && this.router.easValid(lisn);
  }

  isLsi(lisn: number): boolean {
    return this.isClaimed(lisn) && this.source.isLsi(lisn);
  }

  free(lisn: number): void {
    this.checkLisn(lisn);
    this.tracer.sink?.emit({ name: 'spapr_xive_free_irq', lisn });
    this.router.setEas(lisn, this.router.easHi(lisn) & ~R.EAS_HI_VALID, this.router.easLo(lisn));
  }

  setIrq(lisn: number, level: boolean): void {
    this.checkLisn(lisn);
    this.tracer.sink?.emit({ name: 'spapr_xive_set_irq', lisn, val: level ? 1 : 0 });
    this.source.setIrq(lisn, level);
  }

  private checkLisn(lisn: number): void {
    if (!Number.isInteger(lisn) || lisn < 0 || lisn >= this.nrIrqs) {
      throw new XiveUsageError(`LISN ${lisn} is outside 0..0x${(this.nrIrqs - 1).toString(16)}`);
    }
  }

  // ---- Reset ---------------------------------------------------------------------------------
  /** Machine reset of the controller: sources OFF, claimed EAS masked, ENDs reset, contexts reset. */
  reset(): void {
    this.source.reset();
    for (let i = 0; i < this.nrIrqs; i++) {
      this.router.setEas(i, this.router.easValid(i) ? R.EAS_HI_VALID : 0, this.router.easValid(i) ? R.EAS_LO_MASKED : 0);
    }
    for (let e = 0; e < this.nrEnds; e++) this.router.resetEnd(e);
    for (const t of this.cpus) this.resetCpu(t);
  }

  // ---- Activation ----------------------------------------------------------------------------
  activate(): void {
    this.mmioEnabled = true;
  }

  deactivate(): void {
    this.reset();
    this.mmioEnabled = false;
  }

  setMapped(active: boolean): void {
    this.mmioEnabled = active;
  }

  /** Loaded state: each context's presentation follows its registers again. */
  postLoad(_resend: boolean): void {
    for (const t of this.cpus) this.presenter.update(t);
  }

  lineLevel(cpu: number, line: number): boolean {
    const t = this.tctxByIndex[cpu];
    return t !== undefined && ((t.lines >> line) & 1) === 1;
  }

  printInfo(): string[] {
    return xivePicLines(this, this.hcallCtx.memory);
  }

  printInfoOf(part: { cpu: number } | { irq: number } | null): string[] | null {
    if (part === null) return this.cpus.flatMap((t) => tctxPicLines(t));
    if ('cpu' in part) {
      const t = this.tctxByIndex[part.cpu];
      return t === undefined ? this.printInfoOf(null) : tctxPicLines(t);
    }
    const lines = lisnPicLines(this, this.hcallCtx.memory);
    const row = lines.find((l) => l.startsWith(`  ${part.irq.toString(16).padStart(8, '0')} `));
    return [lines[0]!, row ?? `  LISN 0x${part.irq.toString(16)} is not claimed`];
  }

  view(opts?: IntcViewOptions): IntcView {
    return xiveView(this, this.hcallCtx.memory, opts);
  }

  /** The XIVE node, and the priorities kept for the hypervisor in the root node. */
  dt(tree: DeviceTree, nrServers: number, phandle: number): void {
    const root = tree.root;
    const n = root.addChild(XIVE_NODE_NAME);
    n.prependProp('device_type', propString('power-ivpe'));
    // The guest only gets the OS and USER TIMA pages; USER first because it names the node.
    n.prependProp('reg', propU64(XIVE_TM_USER_PAGE, XIVE_TM_PAGE_SIZE, XIVE_TM_OS_PAGE, XIVE_TM_PAGE_SIZE));
    n.prependProp('compatible', propString('ibm,power-ivpe'));
    n.prependProp('ibm,xive-eq-sizes', propU32(...XIVE_EQ_SIZE_SHIFTS));
    // LISNs 0 .. nr_servers-1 are the IPIs claimed at machine init, one per possible vCPU.
    n.prependProp('ibm,xive-lisn-ranges', propU32(0, nrServers));
    n.prependProp('interrupt-controller', propEmpty());
    n.prependProp('#interrupt-cells', propU32(2));
    n.prependProp('linux,phandle', propU32(phandle));
    n.prependProp('phandle', propU32(phandle));
    // Priorities hv-prio .. 0xFE are kept for the hypervisor: <first, count>.
    root.prependProp('ibm,plat-res-int-priorities', propU32(SPAPR_XIVE_HV_PRIO, 0xff - SPAPR_XIVE_HV_PRIO));
  }

  // ---- Saved state ---------------------------------------------------------------------------
  readonly stateSpec = SPAPR_XIVE_STATE;

  saveState(vcpus: readonly number[]): Map<string, unknown> {
    const tctx: PerCpu<TctxState>[] = vcpus.map((v) => ({ vcpu: v, state: this.tctxByIndex[v]!.saveState() }));
    return new Map<string, unknown>([
      ['spapr-xive', this.router.saveState()],
      ['xive-source', this.source.saveState()],
      ['xive-tctx', tctx],
    ]);
  }

  stateMismatch(states: SectionStates): StateMismatch | null {
    return this.router.stateMismatch(states.get('spapr-xive') as XiveRouterState) ?? this.source.stateMismatch(states.get('xive-source') as XiveSourceState);
  }

  /** In the order a real load goes: END and EAS tables, thread contexts, then the sources. */
  loadState(states: SectionStates): void {
    this.router.loadState(states.get('spapr-xive') as XiveRouterState);
    for (const t of states.get('xive-tctx') as PerCpu<TctxState>[]) this.tctxByIndex[t.vcpu]!.loadState(t.state);
    this.source.loadState(states.get('xive-source') as XiveSourceState);
    // The presenter's index of dispatched contexts follows the loaded CAM lines.
    for (const t of this.cpus) this.presenter.update(t);
  }

  // ---- Guest calls ---------------------------------------------------------------------------
  handlesHcall(opcode: number): boolean {
    return isXiveHcall(opcode);
  }

  hcall(_vcpuId: number, opcode: number, regs: bigint[]): number {
    return xiveHcall(this.hcallCtx, opcode, regs);
  }

  rtas(_name: string, _args: readonly number[], _nret: number): number[] {
    return [RTAS_OUT_PARAM_ERROR];
  }

  // ---- MMIO ----------------------------------------------------------------------------------
  /**
   * A guest load in the ESB region or the TIMA (of the vCPU at index `cpu`); elsewhere, or while unmapped,
   * nothing answers and `out` keeps what the caller put there.
   */
  mmioRead(cpu: number, addr: number, size: number, out: Uint32Array): void {
    if (this.mmioEnabled !== true || !(this.inEsb(addr) || this.inTima(addr))) return;
    out[0] = this.load(cpu, addr, size);
    out[1] = this.loadHi;
  }

  mmioWrite(cpu: number, addr: number, size: number, lo: number, hi: number): void {
    this.store(cpu, addr, size, lo, hi);
  }

  /**
   * @internal The machine's guest load (mmioRead without the result buffer): returns the low 32 bits and
   * leaves the high 32 bits in `loadHi`; 0 where nothing answers.
   *
   * Guest addresses are 50-bit floating-point numbers. The region bounds are module constants
   * and the ESB decoding is one multiplication by an exact power of two, so that the access
   * paths below only take small integers (source, offset in its pages or in the TIMA): a
   * floating-point argument of a call that is not inlined is boxed into a new heap number.
   */
  load(cpu: number, addr: number, size: number): number {
    // The loads of an interrupt (EOI by SET_PQ_00 on the management page, ACK of the OS ring)
    // on sources and contexts no other thread shares, untraced; the rest is decoded below. Kept
    // small so that the compiler can take it into the caller.
    if (this.mmioEnabled === true && this.plain === true && this.tracer.sink === null) {
      const esb = addr - VC_BASE;
      if (size === 8 && esb >= 0 && esb < this.esbBytes) {
        const srcno = (esb * PER_ESB_PAGE) >>> 0;
        const inPage = esb - srcno * ESB_PAGE;
        if ((inPage | 0) === inPage && inPage >= ESB_MGMT && (inPage & ESB_SET_PQ_TESTED) === ESB_SET_PQ) {
          this.loadHi = 0;
          const st = this.source.status;
          const s = st[srcno]!;
          st[srcno] = (s & ~SRC_STATUS_PQ) | ((inPage & ESB_OFFSET_PQ) >>> ESB_OFFSET_PQ_SHIFT);
          return s & SRC_STATUS_PQ;
        }
      } else if (addr - TM_BASE === TM_ACK_OS && size === 2) {
        this.loadHi = 0;
        this.tima.hi = 0;
        return this.tctxOf(cpu).accept(TM_QW1_OS);
      }
    }
    return this.loadChecked(cpu, addr, size);
  }

  /** load() in every case. */
  private loadChecked(cpu: number, addr: number, size: number): number {
    this.loadHi = 0;
    if (this.mmioEnabled !== true) return 0;
    const esb = addr - VC_BASE;
    if (esb >= 0 && esb < this.esbBytes) {
      const srcno = (esb * PER_ESB_PAGE) >>> 0;
      const inPage = esb - srcno * ESB_PAGE;
      // The access guests make (8 bytes, aligned) goes straight to the source, with integer
      // arguments; anything else takes the checking path, which rejects it.
      if (size === 8 && (inPage | 0) === inPage && (inPage & 7) === 0) {
        const v = this.source.esbLoadAt(srcno, inPage | 0);
        if (v !== ESB_ALL_ONES) return v;
        this.loadHi = 0xffff_ffff;
        return 0xffff_ffff;
      }
      return this.esbLoadAt(srcno, inPage, size);
    }
    const tm = addr - TM_BASE;
    if (tm < 0 || tm >= TM_BYTES) return 0;
    const t = this.tctxOf(cpu);
    if ((tm | 0) === tm && timaAccessOk(tm | 0, size)) {
      const lo = this.tima.read(t, tm | 0, size);
      this.loadHi = this.tima.hi;
      return lo;
    }
    return this.timaLoad(t, tm, size);
  }

  /** @internal The machine's guest store; unassigned addresses, or an unmapped controller, ignore it. */
  store(cpu: number, addr: number, size: number, lo: number, hi: number): void {
    // The stores of an interrupt (ESB trigger, CPPR of the OS ring) as in load().
    if (this.mmioEnabled === true && this.plain === true && this.tracer.sink === null) {
      const esb = addr - VC_BASE;
      if (size === 8 && esb >= 0 && esb < this.esbBytes) {
        const srcno = (esb * PER_ESB_PAGE) >>> 0;
        const inPage = esb - srcno * ESB_PAGE;
        if ((inPage | 0) === inPage && inPage < ESB_MGMT && (inPage & 7) === 0 && this.fast.trigger(srcno)) return;
      } else if (addr - TM_BASE === TM_CPPR_OS && size === 1) {
        this.tctxOf(cpu).setCppr(TM_QW1_OS, lo & 0xff);
        return;
      }
    }
    this.storeChecked(cpu, addr, size, lo, hi);
  }

  /** store() in every case. */
  private storeChecked(cpu: number, addr: number, size: number, lo: number, hi: number): void {
    if (this.mmioEnabled !== true) return;
    const esb = addr - VC_BASE;
    if (esb >= 0 && esb < this.esbBytes) {
      const srcno = (esb * PER_ESB_PAGE) >>> 0;
      const inPage = esb - srcno * ESB_PAGE;
      if (size === 8 && (inPage | 0) === inPage && (inPage & 7) === 0) this.source.esbStoreAt(srcno, inPage | 0, lo, hi);
      else this.esbWriteAt(srcno, inPage, size, lo, hi);
      return;
    }
    const tm = addr - TM_BASE;
    if (tm < 0 || tm >= TM_BYTES) return;
    const t = this.tctxOf(cpu);
    if ((tm | 0) === tm && timaAccessOk(tm | 0, size)) this.tima.write(t, tm | 0, size, lo, hi);
    else this.timaWrite(t, tm, size, lo, hi);
  }

  private tctxOf(cpu: number): ThreadContext {
    const t = this.tctxByIndex[cpu];
    if (t === undefined) this.noCpu(cpu);
    return t!;
  }

  private noCpu(cpu: number): never {
    throw new XiveUsageError(`no vCPU ${cpu} in this machine`);
  }

  /** Size in bytes of the ESB region (two 64K pages per LISN). */
  esbRegionSize(): number {
    return this.esbBytes;
  }

  /** Is `addr` (guest physical) inside the ESB region / the TIMA? */
  inEsb(addr: number): boolean {
    return addr >= VC_BASE && addr - VC_BASE < this.esbBytes;
  }
  /** Is `addr` (guest physical) inside the TIMA? */
  inTima(addr: number): boolean {
    return addr >= TM_BASE && addr - TM_BASE < TM_BYTES;
  }

  /** The source whose ESB pages hold guest address `addr` (inside the ESB region). */
  esbSourceOf(addr: number): number {
    return Math.floor((addr - VC_BASE) * PER_ESB_PAGE);
  }

  /** Guest address of the ESB pages of source `srcno`. */
  esbPageOf(srcno: number): number {
    return VC_BASE + srcno * ESB_PAGE;
  }

  /**
   * ESB load at region offset `off` of `size` bytes; the result is in `out[0]` (lo), `out[1]`
   * (hi). Returns MMIO_INVALID when the memory core would reject the access (size/alignment).
   */
  esbRead(off: number, size: number, out: Uint32Array): number {
    const srcno = Math.floor(off * PER_ESB_PAGE);
    const inPage = off - srcno * ESB_PAGE;
    out[0] = this.esbLoadAt(srcno, inPage, size);
    out[1] = this.loadHi;
    return esbAccessOk(inPage, size) ? MMIO_OK : MMIO_INVALID;
  }

  /** ESB region store at offset `off`: MMIO_OK, or MMIO_INVALID for a bad size or alignment. */
  esbWrite(off: number, size: number, lo: number, hi: number): number {
    const srcno = Math.floor(off * PER_ESB_PAGE);
    return this.esbWriteAt(srcno, off - srcno * ESB_PAGE, size, lo, hi);
  }

  /**
   * esbRead at region offset srcno * pageBytes + inPage. ESB region offsets go beyond 2^31 with
   * many sources; split this way they are two small integers, which the MMIO dispatch passes on
   * without boxing a floating-point offset on every access.
   */
  esbReadAt(srcno: number, inPage: number, size: number, out: Uint32Array): number {
    out[0] = this.esbLoadAt(srcno, inPage, size);
    out[1] = this.loadHi;
    return esbAccessOk(inPage, size) ? MMIO_OK : MMIO_INVALID;
  }

  /**
   * @internal ESB load at region offset srcno * ESB_PAGE + inPage: returns the low 32 bits, the high ones
   * in `loadHi`. ESB region offsets go beyond 2^31 with many sources; split this way they are
   * two small integers, which the MMIO dispatch passes on without boxing a floating-point offset
   * on every access.
   */
  esbLoadAt(srcno: number, inPage: number, size: number): number {
    if (!esbAccessOk(inPage, size)) {
      this.rejected('read', srcno * ESB_PAGE + inPage, size, ESB_REGION_NAME, 8, 8);
      this.loadHi = 0;
      return 0;
    }
    const v = this.source.esbLoadAt(srcno, inPage);
    if (v === ESB_ALL_ONES) {
      this.loadHi = 0xffff_ffff;
      return 0xffff_ffff;
    }
    this.loadHi = 0;
    return v;
  }

  /** esbWrite at region offset srcno * pageBytes + inPage (see esbReadAt). */
  esbWriteAt(srcno: number, inPage: number, size: number, lo: number, hi: number): number {
    if (!esbAccessOk(inPage, size)) {
      this.rejected('write', srcno * ESB_PAGE + inPage, size, ESB_REGION_NAME, 8, 8);
      return MMIO_INVALID;
    }
    this.source.esbStoreAt(srcno, inPage, lo, hi);
    return MMIO_OK;
  }

  /** TIMA load at `off` by the thread of `t`: the low 32 bits, the high ones in `loadHi`. */
  private timaLoad(t: ThreadContext, off: number, size: number): number {
    if (!timaAccessOk(off, size)) {
      this.rejected('read', off, size, TIMA_REGION_NAME, 1, 8);
      this.loadHi = 0;
      return 0;
    }
    const lo = this.tima.read(t, off, size);
    this.loadHi = this.tima.hi;
    return lo;
  }

  /**
   * TIMA load at region offset `off` by the thread of `t`; the value goes to out[0] (low), out[1]
   * (high). MMIO_OK or MMIO_INVALID.
   */
  timaRead(t: ThreadContext, off: number, size: number, out: Uint32Array): number {
    out[0] = this.timaLoad(t, off, size);
    out[1] = this.loadHi;
    return timaAccessOk(off, size) ? MMIO_OK : MMIO_INVALID;
  }

  /** TIMA store at region offset `off` by the thread of `t`: MMIO_OK or MMIO_INVALID. */
  timaWrite(t: ThreadContext, off: number, size: number, lo: number, hi: number): number {
    if (!timaAccessOk(off, size)) {
      this.rejected('write', off, size, TIMA_REGION_NAME, 1, 8);
      return MMIO_INVALID;
    }
    this.tima.write(t, off, size, lo, hi);
    return MMIO_OK;
  }

  private rejected(dir: string, off: number, size: number, region: string, min: number, max: number): void {
    const reason = size < min || size > max || (size & (size - 1)) !== 0 ? `invalid size (min:${min} max:${max})` : 'unaligned';
    this.diag(`Invalid ${dir} at addr 0x${off.toString(16).toUpperCase()}, size ${size}, region '${region}', reason: ${reason}`);
  }

  /** Reports a guest error (a guest_error trace event). */
  diag(message: string): void {
    this.tracer.sink?.emit({ name: 'guest_error', message });
  }
}

/**
 * What the memory core lets through to the ESB pages: 8-byte accesses, 8-byte aligned (the page
 * size is a multiple of 8, so the region offset is aligned exactly when the one in the pages is).
 */
function esbAccessOk(inPage: number, size: number): boolean {
  return size === 8 && !misaligned(inPage, 8);
}

/** What the memory core lets through to the TIMA: 1, 2, 4 or 8 bytes, naturally aligned. */
function timaAccessOk(off: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4 || size === 8) && !misaligned(off, size);
}

/**
 * `off % n !== 0` for a power of two `n`. Offsets computed from 50-bit guest addresses are
 * floating-point values; their remainder is an x87 instruction loop, while the same test on an
 * int32 is a mask.
 */
function misaligned(off: number, n: number): boolean {
  return (off | 0) === off ? (off & (n - 1)) !== 0 : off % n !== 0;
}
