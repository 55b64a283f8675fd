/**
 * The actions of a log performed on the machine: each recorded guest or device action (hcall,
 * ESB load/store, TIMA load/store, device IRQ level change, IRQ claim, CAS, CPU hotplug) becomes
 * the same operation on the model, which returns what the model reported; also the machine's
 * moves (snapshot round trips, checkpoints) that a run may make between two actions.
 */
import { OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import { SPAPR_IRQ_NR_IPIS } from '../spapr/irq-map.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';
import type { TraceEvent } from '../trace/events.ts';
import { captureSnapshot, restoreSnapshot } from '../migration/snapshot.ts';
import { HCALL_EVENTS } from './classes.ts';
import { XICS_ACTIONS, inferGuestChoice } from './xics-actions.ts';
import { T } from './line-match.ts';
import type { StreamCheckpoint } from './api.ts';
import { TimaReplay } from './tima.ts';

const BASE_ESB = 0x0006_0100_0000_0000;
/** DRC type of a CPU core in the top 4 bits of a DRC index. */
const DRC_TYPE_CPU = 1;
export const SPAPR_DRC_ATTACH = 'spapr_drc_attach';
export const SPAPR_DRC_FINALIZING = 'spapr_drc_set_allocation_state_finalizing';

/** The actions of a replay run. */
export abstract class ActionReplay extends TimaReplay {
  protected checkpoint(line: number): StreamCheckpoint {
    const snapshot = captureSnapshot(this.machine, { includeMemory: true });
    return {
      line,
      offset: this.win.startOffset(line),
      replayed: this.result.replayed,
      snapshot,
      cpu: this.currentCpu,
      casDone: this.casDone,
      ov5Byte23: this.guestOv5Byte23,
      xicsUp: [...this.xics.up],
    };
  }

  /** Moves the run to a brand-new machine through an encoded snapshot (RAM included). */
  protected migrate(): void {
    const bytes = captureSnapshot(this.machine, { includeMemory: true });
    this.machine = restoreSnapshot(bytes, { trace: this.sink, postLoadResend: false });
    this.result.machine = this.machine;
    this.result.migrations++;
  }


  /** vCPUs named by lines i..j (target=, hcall targets, NVT indexes): hot-plug the missing ones. */
  protected plugReferenced(i: number, j: number): void {
    const win = this.win;
    // Only vCPUs beyond -smp can be missing.
    if (this.bootCpus === this.maxCpus) return;
    for (let k = i; k <= j && k < win.count; k++) {
      const c = win.code_(k);
      if (c < 0) continue;
      // Trace events name a CPU by its index, except those that carry a server number (vCPU id).
      let id = -1;
      const ev = win.event(k);
      if ('target' in ev) id = typeof ev.target === 'bigint' ? Number(ev.target & 0xffff_ffffn) : ev.target;
      else if (ev.name === 'xive_presenter_notify') id = this.machine.cpuOfVcpuId(spaprNvtVcpu(ev.nvtIdx));
      else if (ev.name === 'xics_icp_irq') id = this.machine.cpuOfVcpuId(ev.server);
      else if (ev.name === 'xics_icp_check_ipi' || ev.name === 'xics_icp_eoi') id = ev.server;
      if (id >= this.bootCpus && id < this.maxCpus && !this.machine.hasCpu(id)) {
        this.machine.plugCpu(id);
        this.result.notes.push(`vCPU ${id} hot-plugged at line ${k + 1} (first reference)`);
      }
    }
  }

  protected cas(i: number): void {
    const ev = this.win.event(i);
    this.result.replayed++;
    if (ev.name === 'spapr_cas_pvr') {
      // CAS runs once per boot: a second one means the guest rebooted, which resets the machine
      // (untraced) before its firmware negotiates again.
      if (this.casDone) {
        this.machine.reset();
        this.xics.reset();
        this.sink.take();
        this.result.notes.push(`machine reset before line ${i + 1} (the guest negotiates CAS again)`);
      }
      this.casDone = true;
      this.guestOv5Byte23 = null;
    }
    if (ev.name === 'spapr_ovec_parse_vector' && ev.vector === 5 && ev.byte === 23) this.guestOv5Byte23 = ev.entry;
    if (ev.name !== 'spapr_cas_continue') return;
    const mode = this.machine.icMode;
    const choice = mode === 'dual' ? inferGuestChoice((k) => this.lineEvent(k), i) : mode;
    const byte = this.guestOv5Byte23 ?? (choice === 'xics' ? 0 : OV5_XIVE_EXPLOIT);
    const out = this.machine.cas(byte);
    this.result.notes.push(
      out.ok ? `CAS at line ${i + 1}: the guest chose ${out.xive ? 'XIVE' : 'XICS'}` : `CAS at line ${i + 1}: QEMU would stop the VM: ${out.fatal}`,
    );
    this.sink.take();
  }

  /**
   * Performs the action recorded at line `at`, whose reported events start at line `from`, and
   * returns what the model reported.
   */
  protected execute(at: number, from: number): TraceEvent[] {
    const win = this.win;
    const c = win.code_(at);
    const m = this.machine;
    this.result.replayed++;
    this.lastHcallStore = false;
    switch (c) {
      case T.spapr_xive_set_irq:
        m.setIrq(win.field(at, 0), win.field(at, 1) !== 0);
        return this.sink.take();
      case T.xive_source_esb_write:
      case T.xive_source_esb_read:
      case T.xive_tctx_tm_write:
      case T.xive_tctx_tm_read: {
        const a = win.field(at, 0);
        const v = win.field(at, 2);
        // Offsets and values of more than 13 hex digits do not fit a number exactly: rare
        // enough to go through the event object.
        if (a !== a || v !== v) break;
        if (c === T.xive_source_esb_write) {
          m.mmioWrite(this.currentCpu, BASE_ESB + a, 8, v % 0x1_0000_0000, Math.floor(v / 0x1_0000_0000));
          return this.sink.take();
        }
        if (c === T.xive_source_esb_read) {
          m.mmioRead(this.currentCpu, BASE_ESB + a, 8);
          return this.sink.take();
        }
        return this.timaAccess(at, from, c === T.xive_tctx_tm_write, a, win.field(at, 1), v);
      }
    }
    const ev = win.event(at);
    if (XICS_ACTIONS.has(ev.name)) return this.xics.execute(at, ev, this.groupEnd(at));
    switch (ev.name) {
      case 'spapr_xive_claim_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.claimIrq(ev.lisn, ev.lsi);
        else m.xive!.claim(ev.lisn, ev.lsi);
        return this.sink.take();
      case 'spapr_xive_free_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.freeIrq(ev.lisn);
        else m.xive!.free(ev.lisn);
        return this.sink.take();
      case 'xive_source_esb_write':
        m.mmioWrite(this.currentCpu, BASE_ESB + Number(ev.addr), 8, Number(ev.value & 0xffff_ffffn), Number(ev.value >> 32n));
        return this.sink.take();
      case 'xive_source_esb_read':
        m.mmioRead(this.currentCpu, BASE_ESB + Number(ev.addr), 8);
        return this.sink.take();
      case 'xive_tctx_tm_write':
      case 'xive_tctx_tm_read':
        return this.timaAccess(at, from, ev.name === 'xive_tctx_tm_write', Number(ev.offset), ev.size, ev.value);
      default: {
        const op = HCALL_EVENTS.get(ev.name);
        if (op === undefined) return [];
        // The hcall's arguments are the event's fields, in order.
        const args: bigint[] = [];
        const rec = ev as unknown as Record<string, bigint>;
        for (const k in rec) if (k !== 'name') args.push(rec[k]!);
        if (ev.name === 'spapr_xive_esb') this.lastHcallStore = (ev.flags & 1n) !== 0n;
        if (ev.name === 'spapr_xive_set_queue_config') this.clearQueuePage(ev.qpage, ev.qsize);
        m.hcall(this.currentCpu, op, args);
        return this.sink.take();
      }
    }
  }

  /**
   * Linux zeroes an event-queue page just before it hands it to H_INT_SET_QUEUE_CONFIG. Guest
   * RAM writes are not traced, so the replay does it for the guest: it matters when a rebooted
   * guest reuses a page that held entries before the reset.
   */
  protected clearQueuePage(qpage: bigint, qsize: bigint): void {
    if (qpage === 0n || qsize < 12n || qsize > 24n) return;
    const mem = this.machine.memory;
    const base = Number(qpage);
    const len = 2 ** Number(qsize);
    if (!mem.isRam(base, len)) return;
    for (let a = base; a < base + len; a += 4) if (mem.read32(a) !== 0) mem.write32(a, 0);
  }

  /**
   * CPU hotplug and unplug, which leave no interrupt-controller event: a CPU core's DRC (dynamic
   * reconfiguration connector, index 0x1000_0000 + the vCPU id of its first thread) is attached
   * when the core is plugged (device_add creates its vCPUs and their presenter contexts), and
   * finalizes its release when an unplug completes (the guest let the core go; QEMU destroys the
   * vCPUs).
   */
  protected cpuDrc(i: number, name: string): void {
    const m = /\bdrc: 0x([0-9a-f]+)/.exec(this.win.text(i));
    if (m === null) return;
    const index = parseInt(m[1]!, 16);
    if (index >>> 28 !== DRC_TYPE_CPU) return;
    const first = this.machine.cpuOfVcpuId(index & 0x0fff_ffff);
    if (first < 0) return;
    const threads = this.machine.config.smp.threads;
    for (let cpu = first; cpu < first + threads; cpu++) {
      if (name === SPAPR_DRC_ATTACH && !this.machine.hasCpu(cpu)) {
        this.machine.plugCpu(cpu);
        this.result.notes.push(`vCPU ${cpu} hot-plugged at line ${i + 1} (its core was added)`);
      } else if (name === SPAPR_DRC_FINALIZING && this.machine.hasCpu(cpu)) {
        this.machine.unplugCpu(cpu);
        this.xics.cpuGone(cpu);
        this.result.notes.push(`vCPU ${cpu} unplugged at line ${i + 1} (the guest released its core)`);
      }
    }
  }
}
