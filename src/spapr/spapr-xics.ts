/**
 * The sPAPR XICS controller ("ics-spapr" + one "icp" per vCPU): the legacy PAPR interrupt model
 * wired the way a pseries machine does it — one ICS (interrupt source controller) covering the
 * device range 0x1000..0x1FFF, one ICP (interrupt presentation controller) per vCPU whose server
 * number is the vCPU id. IPIs are not ICS sources: they live in each ICP's MFRR. It is one of the
 * two backends of the platform's interrupt-controller interface (intc.ts); XICS has no MMIO.
 */
import { Ics, XICS_IRQ_BASE, XICS_NR_IRQS, type IcsState } from '../xics/ics.ts';
import { Icp, SimpleXicsFabric, type IcpState } from '../xics/icp.ts';
import type { PerCpu, StateMismatch } from '../base/state.ts';
import { SPAPR_XICS_STATE } from './xics-state.ts';
import { isXicsHcall, xicsHcall, xicsRtas, XICS_RTAS_TOKENS, type XicsHcallContext } from './xics-hcalls.ts';
import { xicsPicLines } from '../xics/info-pic.ts';
import { LINE_INT, type CpuLines } from '../ports/lines.ts';
import { Tracer, type TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../base/errors.ts';
import { INTC_TRACE_PREFIXES, type IntcPlatform, type SectionStates, type SpaprIntc } from './intc.ts';
import { propEmpty, propString, propU32, type DeviceTree } from './fdt.ts';
import { xicsView } from './xics-view.ts';
import type { IntcView } from './intc-view.ts';

/** The XICS node has no `reg`, hence no unit address. */
export const XICS_NODE_NAME = 'interrupt-controller';
export const XICS_NODE_PATH = `/${XICS_NODE_NAME}`;

/**
 * The sPAPR XICS controller: one ICS over the device interrupts and one ICP per vCPU, with the XICS
 * hcalls and RTAS calls, behind the interrupt-controller interface.
 */
export class SpaprXics implements SpaprIntc {
  readonly name = 'xics';
  readonly cpuLines: readonly number[] = [LINE_INT];
  readonly tracePrefixes: readonly string[] = INTC_TRACE_PREFIXES.xics;
  readonly rtasTokens: Readonly<Record<string, number>> = XICS_RTAS_TOKENS;
  readonly fabric = new SimpleXicsFabric();
  readonly ics: Ics;
  /** ICPs in CPU (plug) order. */
  readonly icps: Icp[] = [];
  private readonly byCpu = new Map<number, Icp>();
  /** Trace sink and guest-error reporter of the ICS and every ICP. */
  readonly tracer: Tracer;
  private readonly ctx: XicsHcallContext;

  /**
   * @param platform the machine around it; without one the controller stands alone and counts
   *   as active, and H_XIRR_X reports a host tick count of 0.
   */
  constructor(
    private readonly lines: CpuLines | null,
    trace: TraceSink | Tracer | null = null,
    platform?: IntcPlatform,
    nrIrqs = XICS_NR_IRQS,
  ) {
    this.tracer = trace instanceof Tracer ? trace : new Tracer(trace);
    this.ics = new Ics(this.fabric, XICS_IRQ_BASE, nrIrqs);
    this.ics.tracer = this.tracer;
    this.fabric.ics = this.ics;
    this.ctx = this.hcallContext(platform === undefined ? () => true : () => platform.isActive(this), platform === undefined ? () => 0n : () => platform.hostTicks());
  }

  /** The trace sink of the ICS and ICPs. */
  get trace(): TraceSink | null {
    return this.tracer.sink;
  }

  /** Plugs a trace sink into the ICS and every ICP (null: none). */
  setTrace(sink: TraceSink | null): void {
    this.tracer.sink = sink;
  }

  cpuCreate(vcpuId: number, cpuIndex: number): void {
    this.addCpu(vcpuId, cpuIndex);
  }

  hasCpu(cpu: number): boolean {
    return this.byCpu.has(cpu);
  }

  cpuDestroy(cpu: number): void {
    const icp = this.byCpu.get(cpu);
    if (icp === undefined) throw new XiveUsageError(`no vCPU ${cpu} to unplug`);
    this.fabric.removeIcp(icp.server);
    this.byCpu.delete(cpu);
    this.icps.splice(this.icps.indexOf(icp), 1);
  }

  /** Creates the ICP of a vCPU (machine init or CPU hotplug). */
  addCpu(vcpuId: number, cpuIndex = vcpuId): Icp {
    if (this.byCpu.has(cpuIndex)) throw new XiveUsageError(`vCPU ${cpuIndex} already has an ICP`);
    const icp = new Icp(cpuIndex, vcpuId, this.fabric, this.lines);
    icp.tracer = this.tracer;
    this.fabric.addIcp(icp);
    this.icps.push(icp);
    this.byCpu.set(cpuIndex, icp);
    icp.reset();
    return icp;
  }

  /** The ICP of the vCPU at `cpuIndex`, or null. */
  icpOfCpu(cpuIndex: number): Icp | null {
    return this.byCpu.get(cpuIndex) ?? null;
  }

  /** Machine reset: every source to its reset state (claims kept), every ICP reset. */
  reset(): void {
    this.ics.reset();
    for (const icp of this.icps) icp.reset();
  }

  // ---- IRQ numbers ---------------------------------------------------------------------------
  claim(irq: number, lsi: boolean): boolean {
    return this.ics.claim(irq, lsi);
  }

  free(irq: number): void {
    this.ics.free(irq);
  }

  isClaimed(irq: number): boolean {
    return this.ics.validIrq(irq) && this.ics.isClaimed(irq - this.ics.offset);
  }

  isLsi(irq: number): boolean {
    return this.ics.validIrq(irq) && this.ics.isLsi(irq - this.ics.offset);
  }

  setIrq(irq: number, level: boolean): void {
    if (!this.ics.validIrq(irq)) {
      throw new XiveUsageError(`device IRQ ${irq} is outside 0x${this.ics.offset.toString(16)}..0x${(this.ics.offset + this.ics.nrIrqs - 1).toString(16)}`);
    }
    this.ics.setIrq(irq - this.ics.offset, level);
  }

  // ---- Activation ----------------------------------------------------------------------------
  activate(): void {}

  deactivate(): void {
    this.reset();
  }

  setMapped(_active: boolean): void {}

  /** QEMU's ICP post-load re-sends: an interrupt displaced before the migration comes back. */
  postLoad(resend: boolean): void {
    if (resend) for (const icp of this.icps) icp.resend();
  }

  // ---- What the guest sees -------------------------------------------------------------------
  /** XICS drives only the INT input. */
  lineLevel(cpu: number, line: number): boolean {
    return line === LINE_INT && (this.byCpu.get(cpu)?.outputLevel ?? false);
  }

  mmioRead(_vcpuId: number, _addr: number, _size: number, _out: Uint32Array): void {}

  mmioWrite(_vcpuId: number, _addr: number, _size: number, _lo: number, _hi: number): void {}

  printInfo(): string[] {
    return xicsPicLines(this.icps, this.ics);
  }

  /** The XICS text is short: reports show all of it. */
  printInfoOf(_part: { cpu: number } | { irq: number } | null): string[] | null {
    return null;
  }

  view(): IntcView {
    return xicsView(this);
  }

  dt(tree: DeviceTree, nrServers: number, phandle: number): void {
    const n = tree.root.addChild(XICS_NODE_NAME);
    n.prependProp('device_type', propString('PowerPC-External-Interrupt-Presentation'));
    n.prependProp('compatible', propString('IBM,ppc-xicp'));
    n.prependProp('interrupt-controller', propEmpty());
    n.prependProp('ibm,interrupt-server-ranges', propU32(0, nrServers));
    n.prependProp('#interrupt-cells', propU32(2));
    n.prependProp('linux,phandle', propU32(phandle));
    n.prependProp('phandle', propU32(phandle));
  }

  // ---- Saved state ---------------------------------------------------------------------------
  readonly stateSpec = SPAPR_XICS_STATE;

  saveState(vcpus: readonly number[]): Map<string, unknown> {
    // As in QEMU, an ICP's owner (which ICS presented its XISR) is not part of the state.
    const icp: PerCpu<IcpState>[] = vcpus.map((v) => ({ vcpu: v, state: this.byCpu.get(v)!.saveState() }));
    return new Map<string, unknown>([
      ['ics', this.ics.saveState()],
      ['icp', icp],
    ]);
  }

  stateMismatch(states: SectionStates): StateMismatch | null {
    return this.ics.stateMismatch(states.get('ics') as IcsState);
  }

  /** Sources before presenters, as QEMU loads them. */
  loadState(states: SectionStates): void {
    this.ics.loadState(states.get('ics') as IcsState);
    for (const c of states.get('icp') as PerCpu<IcpState>[]) this.byCpu.get(c.vcpu)!.loadState(c.state);
  }

  handlesHcall(opcode: number): boolean {
    return isXicsHcall(opcode);
  }

  hcall(cpu: number, opcode: number, regs: bigint[]): number {
    return xicsHcall(this.ctx, cpu, opcode, regs);
  }

  rtas(name: string, args: readonly number[], nret: number): number[] {
    return xicsRtas(this.ctx, name, args, nret);
  }

  /**
   * Context of the XICS hcalls/RTAS calls; `active` says whether emulated XICS is in use,
   * `hostTicks` is what H_XIRR_X returns as the host's cycle counter.
   */
  hcallContext(active: () => boolean, hostTicks: () => bigint = () => 0n): XicsHcallContext {
    return {
      ics: this.ics,
      icpOfCpu: (c) => this.icpOfCpu(c),
      icpByServer: (s) => this.fabric.icpByServer(s),
      emulatedXicsActive: active,
      hostTicks: () => hostTicks() & 0xffff_ffff_ffff_ffffn,
      errorReport: (m) => this.diag(m),
    };
  }

  /** Reports a guest error (a guest_error trace event). */
  diag(message: string): void {
    this.tracer.guestError(message);
  }
}
