/**
 * What a QEMU 7.2 trace log says about XICS guest actions. The XICS hcalls and RTAS calls have
 * no trace events of their own; each is recognised from the first event it causes:
 *   xics_icp_check_ipi (not caused by a previous action) -> H_IPI(server, mfrr)
 *   xics_icp_accept  -> H_XIRR on the vCPU whose XIRR / pending priority give those values
 *   xics_icp_eoi     -> H_EOI(xirr) on that server
 *   xics_ics_write_xive -> ibm,set-xive (or ibm,int-off for a first masking write)
 *   xics_ics_set_irq_msi / _lsi -> a device level change (level 1 iff a delivery follows)
 * and the untraced calls Linux makes around them are supplied: H_CPPR(0xFF) when a vCPU first
 * takes part (its CPPR is 0 from reset), H_IPI(self, 0xFF) before the EOI of an IPI.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { TraceEvent } from '../trace/events.ts';
import * as H from '../spapr/hcall.ts';
import { XICS_IPI } from '../xics/ics.ts';

export const XICS_ACTIONS: ReadonlySet<string> = new Set([
  'xics_icp_check_ipi',
  'xics_icp_accept',
  'xics_icp_eoi',
  'xics_ics_write_xive',
  'xics_ics_set_irq_msi',
  'xics_ics_set_irq_lsi',
]);

export const XICS_OUTPUTS: ReadonlySet<string> = new Set(['xics_icp_irq', 'xics_icp_raise', 'xics_ics_reject', 'xics_ics_eoi', 'xics_masked_pending']);

/** What the inference needs from the replay. */
export interface XicsReplayContext {
  /** The machine being replayed (it changes when the run moves to a restored snapshot). */
  readonly machine: SpaprMachine;
  /**
   * The event of log line k: null when that line is no event, undefined past the end of the log
   * (it throws past the lookahead the replay may use).
   */
  lineEvent(k: number): TraceEvent | null | undefined;
  /** Index of the next line that is not skipped (other subsystems), or -1. */
  nextRelevant(i: number): number;
  note(text: string): void;
  takeEmitted(): TraceEvent[];
  currentCpu: number;
}

export class XicsInference {
  /**
   * vCPUs that have opened their CPPR (Linux's xics_setup_cpu), since the last reset; a replay
   * resumed from a checkpoint fills it again.
   */
  readonly up = new Set<number>();

  constructor(private readonly ctx: XicsReplayContext) {}

  reset(): void {
    this.up.clear();
  }

  /** A vCPU was unplugged: plugged again, it starts with the CPPR of a reset ICP. */
  cpuGone(cpu: number): void {
    this.up.delete(cpu);
  }

  private icp(cpu: number) {
    return this.ctx.machine.xics!.icpOfCpu(cpu);
  }

  /** Untraced H_CPPR(0xFF) of a vCPU that has not opened its CPPR yet. */
  private bringUp(cpu: number, out: TraceEvent[]): void {
    if (this.up.has(cpu)) return;
    const icp = this.icp(cpu);
    if (icp === null) return;
    this.up.add(cpu);
    if (icp.cppr !== 0) return;
    this.ctx.machine.hcall(cpu, H.H_CPPR, [0xffn]);
    const evs = this.ctx.takeEmitted();
    // Opening the CPPR makes the ICS resend its rejected sources. Linux opens it when the vCPU
    // comes up, which can be long before the log first names that vCPU; if the resend only
    // rejects them again (state unchanged), it happened when nothing was rejected, and the log
    // cannot show it.
    if (!onlyRejected(evs)) out.push(...evs);
  }

  /** vCPUs that lines i..j make take part: bring each up before the action. */
  bringUpReferenced(i: number, j: number, out: TraceEvent[]): void {
    for (let k = i; k <= j; k++) {
      const ev = this.ctx.lineEvent(k);
      if (ev === undefined) break;
      if (ev === null) continue;
      // check_ipi and eoi name the CPU by its index, icp_irq by its server number (vCPU id).
      if (ev.name === 'xics_icp_check_ipi' || ev.name === 'xics_icp_eoi') this.bringUp(ev.server, out);
      else if (ev.name === 'xics_icp_irq') this.bringUp(this.ctx.machine.cpuOfVcpuId(ev.server), out);
    }
  }

  /** Claims a source the log uses but whose claim it does not show (XICS claims are untraced). */
  private ensureClaimed(irq: number, line: number): void {
    const m = this.ctx.machine;
    const ics = m.xics!.ics;
    if (!ics.validIrq(irq) || ics.isClaimed(irq - ics.offset)) return;
    const lsi = irq >= 0x1200 && irq < 0x1280;
    m.claimIrq(irq, lsi);
    this.ctx.takeEmitted();
    this.ctx.note(`IRQ 0x${irq.toString(16)} claimed as ${lsi ? 'LSI' : 'MSI'} at line ${line + 1} (first reference)`);
  }

  /** The vCPU that made the H_XIRR giving this accept line. */
  private acceptCpu(at: number, oldXirr: number, newXirr: number): number {
    const m = this.ctx.machine;
    const cands = m.vcpus.filter((c) => {
      const icp = this.icp(c);
      return icp !== null && icp.xirr === oldXirr >>> 0 && ((icp.pendingPriority << 24) >>> 0) === newXirr >>> 0;
    });
    if (cands.length <= 1) return cands[0] ?? this.ctx.currentCpu;
    // Identical states: the one whose EOI comes first took this accept.
    for (let k = at + 1; ; k++) {
      const ev = this.ctx.lineEvent(k);
      if (ev === undefined) break;
      if (ev !== null && ev.name === 'xics_icp_eoi' && cands.includes(ev.server)) return ev.server;
    }
    return cands[0]!;
  }

  /** Level of a device input change: 1 iff the log shows it being delivered or latched. */
  private levelOf(at: number, nr: number, msi: boolean): boolean {
    const j = this.ctx.nextRelevant(at + 1);
    if (j < 0) return false;
    const ev = this.ctx.lineEvent(j);
    if (ev === null || ev === undefined) return false;
    if (ev.name === 'xics_icp_irq' && ev.nr === nr) return true;
    return msi && ev.name === 'xics_masked_pending';
  }

  /** Performs the action recorded at line `at`; returns the model's events (untraced ones first). */
  execute(at: number, ev: TraceEvent, groupEnd: number): TraceEvent[] {
    const m = this.ctx.machine;
    const out: TraceEvent[] = [];
    this.bringUpReferenced(at, groupEnd, out);
    switch (ev.name) {
      case 'xics_icp_check_ipi':
        // The event names the target CPU by index; H_IPI takes its server number.
        m.hcall(this.ctx.currentCpu, H.H_IPI, [BigInt(m.vcpuId(ev.server)), BigInt(ev.mfrr)]);
        break;
      case 'xics_icp_accept': {
        const cpu = this.acceptCpu(at, ev.oldXirr, ev.newXirr);
        this.ctx.currentCpu = cpu;
        m.hcall(cpu, H.H_XIRR, [0n]);
        break;
      }
      case 'xics_icp_eoi': {
        const icp = this.icp(ev.server);
        this.ctx.currentCpu = ev.server;
        // Linux's IPI handler clears its own MFRR before the EOI (no event: 0xFF never beats CPPR).
        if (icp !== null && (ev.xirr & 0xffffff) === XICS_IPI && icp.mfrr !== 0xff) {
          m.hcall(ev.server, H.H_IPI, [BigInt(m.vcpuId(ev.server)), 0xffn]);
          out.push(...this.ctx.takeEmitted());
        }
        m.hcall(ev.server, H.H_EOI, [BigInt(ev.xirr >>> 0)]);
        break;
      }
      case 'xics_ics_write_xive': {
        this.ensureClaimed(ev.nr, at);
        const ics = m.xics!.ics;
        const srcno = ev.nr - ics.offset;
        const cpu = this.ctx.currentCpu;
        // A first masking write of a live source is Linux's ibm,int-off (the priority is saved).
        if (ev.priority === 0xff && ics.validIrq(ev.nr) && ics.priority[srcno] !== 0xff && ics.server[srcno] === ev.server) {
          m.rtas(cpu, 'ibm,int-off', [ev.nr], 1);
        } else {
          m.rtas(cpu, 'ibm,set-xive', [ev.nr, ev.server, ev.priority], 1);
        }
        break;
      }
      case 'xics_ics_set_irq_msi':
      case 'xics_ics_set_irq_lsi': {
        this.ensureClaimed(ev.nr, at);
        m.setIrq(ev.nr, this.levelOf(at, ev.nr, ev.name === 'xics_ics_set_irq_msi'));
        break;
      }
      default:
        return out;
    }
    out.push(...this.ctx.takeEmitted());
    return out;
  }
}

/** Are the events pairs of a delivery attempt and its rejection (nothing changed)? */
function onlyRejected(evs: readonly TraceEvent[]): boolean {
  if (evs.length === 0 || evs.length % 2 !== 0) return false;
  for (let k = 0; k < evs.length; k += 2) {
    const a = evs[k]!;
    const b = evs[k + 1]!;
    if (a.name !== 'xics_icp_irq' || b.name !== 'xics_ics_reject' || a.nr !== b.nr) return false;
  }
  return true;
}

/** The controller a dual-mode guest chose at the CAS at line `at`, from the events that follow. */
export function inferGuestChoice(lineEvent: (k: number) => TraceEvent | null | undefined, at: number): 'xive' | 'xics' | null {
  for (let k = at + 1; ; k++) {
    const ev = lineEvent(k);
    if (ev === undefined) break;
    if (ev === null) continue;
    const n = ev.name;
    if (n === 'spapr_cas_pvr') return null;
    if (n.startsWith('xics_')) return 'xics';
    if (n.startsWith('xive_') || (n.startsWith('spapr_xive_') && n !== 'spapr_xive_claim_irq' && n !== 'spapr_xive_free_irq')) return 'xive';
  }
  return null;
}
