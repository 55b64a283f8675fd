/**
 * The sPAPR XICS controller ("ics-spapr" + one "icp" per vCPU): the legacy PAPR interrupt model
 * wired the way a pseries machine does it — one ICS (interrupt source controller) covering the
 * device range 0x1000..0x1FFF, one ICP (interrupt presentation controller) per vCPU whose server
 * number is the vCPU id. IPIs are not ICS sources: they live in each ICP's MFRR.
 */
import { Ics, XICS_IRQ_BASE, XICS_NR_IRQS } from '../xics/ics.ts';
import { Icp, SimpleXicsFabric } from '../xics/icp.ts';
import type { XicsHcallContext } from '../xics/xics-hcalls.ts';
import type { CpuLines } from '../ports/lines.ts';
import type { TraceSink } from '../trace/events.ts';
import { XiveUsageError } from '../errors.ts';

export class SpaprXics {
  readonly fabric = new SimpleXicsFabric();
  readonly ics: Ics;
  /** ICPs in CPU (plug) order. */
  readonly icps: Icp[] = [];
  private readonly byCpu = new Map<number, Icp>();
  private traceSink: TraceSink | null = null;

  constructor(
    private readonly lines: CpuLines | null,
    trace: TraceSink | null = null,
  ) {
    this.ics = new Ics(this.fabric, XICS_IRQ_BASE, XICS_NR_IRQS);
    this.fabric.ics = this.ics;
    this.ics.onUnsupported = (m) => this.diag(m);
    this.setTrace(trace);
  }

  get trace(): TraceSink | null {
    return this.traceSink;
  }

  setTrace(sink: TraceSink | null): void {
    this.traceSink = sink;
    this.ics.trace = sink;
    for (const icp of this.icps) icp.trace = sink;
  }

  addCpu(vcpuId: number, cpuIndex = vcpuId): Icp {
    if (this.byCpu.has(cpuIndex)) throw new XiveUsageError(`vCPU ${cpuIndex} already has an ICP`);
    const icp = new Icp(cpuIndex, vcpuId, this.fabric, this.lines);
    icp.trace = this.traceSink;
    this.fabric.addIcp(icp);
    this.icps.push(icp);
    this.byCpu.set(cpuIndex, icp);
    icp.reset();
    return icp;
  }

  icpOfCpu(cpuIndex: number): Icp | null {
    return this.byCpu.get(cpuIndex) ?? null;
  }

  /** Machine reset: every source to its reset state (claims kept), every ICP reset. */
  reset(): void {
    this.ics.reset();
    for (const icp of this.icps) icp.reset();
  }

  /** Context of the XICS hcalls/RTAS calls; `active` says whether emulated XICS is in use. */
  hcallContext(active: () => boolean): XicsHcallContext {
    return {
      ics: this.ics,
      icpOfCpu: (c) => this.icpOfCpu(c),
      icpByServer: (s) => this.fabric.icpByServer(s),
      emulatedXicsActive: active,
      hostTicks: () => BigInt(Math.floor(performance.now() * 1e6)) & 0xffff_ffff_ffff_ffffn,
      errorReport: (m) => this.diag(m),
    };
  }

  diag(message: string): void {
    this.traceSink?.emit({ name: 'guest_error', message });
  }
}
