/**
 * Writes a running machine's interrupt activity as a QEMU 7.2 "log" trace backend would: the
 * same events, fields and text (formatTraceEvent), so that `xive replay` with the same machine
 * options reads it back with no divergence.
 *
 * The model traces what QEMU's interrupt controllers trace. Around it, QEMU logs a few things
 * the controllers do not report, and the writer supplies them:
 *  - the claims made while the machine is built are logged (the sink is attached from the
 *    start, as QEMU traces from its first instruction);
 *  - the guest's CAS call: QEMU logs spapr_cas_pvr when it starts and spapr_cas_continue when it
 *    ends, and nothing of what the negotiation does to the controllers in between;
 *  - a PCI INTx line reaches the controller only when its level changes (the PCI layer drops a
 *    device's repeated assertions), so a repeated level of an LSI is dropped before the machine,
 *    as QEMU's PCI host bridge would.
 * Guest errors go to QEMU's -d log, not to the trace: they are left out.
 */
import type { SpaprMachine } from '../spapr/machine.ts';
import type { CasOutcome } from '../spapr/cas.ts';
import type { MachineConfig } from '../spapr/machine-config.ts';
import { COMPAT_MODES, COMPAT_PVR, runsAt } from '../spapr/cpu-models.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { formatTraceEvent } from '../trace/format.ts';
import { machineDeviceTree } from '../spapr/device-tree.ts';
import { encodeDtb } from '../spapr/fdt.ts';

/** Where the lines go (a file, a compressed file, a string). */
export interface LineOutput {
  /** Text of whole lines, each ending in a newline. */
  write(text: string): void;
}

/** Lines are handed to the output in pieces of about this many characters. */
const FLUSH_CHARS = 1 << 20;

export class TraceLogWriter implements TraceSink {
  private pending = '';
  private muted = false;
  /** Lines written. */
  lines = 0;

  constructor(private readonly out: LineOutput) {}

  emit(ev: TraceEvent): void {
    if (this.muted || ev.name === 'guest_error') return;
    this.line(formatTraceEvent(ev));
  }

  /** A line of the log (without its newline). */
  line(text: string): void {
    this.pending += `${text}\n`;
    this.lines++;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.out.write(this.pending);
    this.pending = '';
  }

  /**
   * Makes `machine` log what QEMU logs around its controllers (CAS, PCI INTx level changes).
   * Call before the guest boots; the writer must be the machine's trace sink from its creation.
   */
  attach(machine: SpaprMachine): void {
    const cas = machine.cas.bind(machine);
    const pvr = casPvr(machine.config);
    machine.cas = (guestByte23: number): CasOutcome => {
      this.line(`spapr_cas_pvr current=0x0, explicit_match=1, new=0x${pvr.toString(16)}`);
      this.muted = true;
      let out: CasOutcome;
      try {
        out = cas(guestByte23);
      } finally {
        this.muted = false;
      }
      // QEMU logs the size of the device tree it copies to the guest: here the model's tree
      // (the replay does not read the number).
      if (out.ok) this.line(`spapr_cas_continue Copy changes to the guest: ${encodeDtb(machineDeviceTree(machine)).length} bytes`);
      return out;
    };
    const setIrq = machine.setIrq.bind(machine);
    const levels = new Map<number, boolean>();
    machine.setIrq = (lisn: number, level: boolean): void => {
      if (machine.isLsi(lisn)) {
        if ((levels.get(lisn) ?? false) === level) return;
        levels.set(lisn, level);
      }
      setIrq(lisn, level);
    };
  }
}

/** The logical PVR CAS gives the guest: the newest compatibility mode the CPU runs at. */
function casPvr(cfg: MachineConfig): number {
  for (let i = COMPAT_MODES.length - 1; i >= 0; i--) {
    const mode = COMPAT_MODES[i]!;
    if (runsAt(cfg.cpu, mode, cfg.maxCpuCompat)) return COMPAT_PVR[mode];
  }
  return cfg.cpu.pvr;
}
