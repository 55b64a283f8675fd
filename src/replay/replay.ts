/**
 * Replay of QEMU 7.2 trace logs against the model. Every recorded guest or device action (hcall,
 * ESB load/store, TIMA load/store, device IRQ level change, IRQ claim, CAS) is turned into the
 * same operation on a fresh machine; everything the model then reports (its own trace events,
 * formatted as QEMU prints them) must appear in the log, in order. Loaded values (ESB, TIMA),
 * thread-context registers (notify/accept/set_cppr), presenter matches and END notifications are
 * thereby all checked.
 *
 * The log does not say which vCPU made a TIMA access: the vCPU is taken from the events the
 * access produced (accept, set_cppr, notify), else by trying each vCPU (most recent first) and
 * keeping the one whose outcome matches the log.
 */
import { SpaprMachine } from '../spapr/machine.ts';
import { resolveMachine, type MachineConfig, type MachineSpec } from '../spapr/machine-config.ts';
import { SPAPR_IRQ_NR_IPIS, SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { spaprNvtVcpu } from '../spapr/xive-layout.ts';
import type { IcMode } from '../spapr/cas.ts';
import { OV5_XIVE_EXPLOIT } from '../spapr/cas.ts';
import { TraceBuffer, type TraceEvent, type TraceSink } from '../trace/events.ts';
import { formatTraceEvent, sameTraceLine, TEMPLATES } from '../trace/format.ts';
import { parseTraceLine, KNOWN_EVENTS, type ParsedLine } from '../trace/parse.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { modelStateFor } from './state.ts';
import { SparseGuestMemory } from '../ports/memory.ts';
import { XiveUsageError } from '../base/errors.ts';
import { captureSnapshot, restoreSnapshot } from '../migration/snapshot.ts';
import { leHostEquivalent } from './le-host.ts';
import { HCALL_EVENTS, OUTPUT_ONLY, controllerMismatch, isModelEvent } from './classes.ts';
import { XicsInference, XICS_ACTIONS, XICS_OUTPUTS, inferGuestChoice } from './xics-actions.ts';

/** Options of {@link replayTrace}: the machine the trace was recorded on, and what to do along. */
export interface ReplayOptions {
  /** The machine the trace was recorded on, in QEMU's terms (machine type, CPU, -smp, …). */
  spec?: MachineSpec;
  /** Shorthands over `spec`: -smp N, maxcpus=M, ic-mode. */
  smp?: number;
  maxCpus?: number;
  icMode?: IcMode;
  /** Guest RAM size in bytes (default 1 GiB). */
  ramSize?: number;
  /** Receives every model event that matched the log, in order (e.g. a Perfetto exporter). */
  tap?: TraceSink;
  /**
   * Every K actions: snapshot the machine (with guest RAM), encode, decode into a brand-new
   * machine and go on there. The run must end exactly as without it.
   */
  snapshotEvery?: number;
  /**
   * Called before each action, once everything the model reported so far has matched the log:
   * where the run stands (a progress bar; checkpoints to seek with, `at.checkpoint()`). Returning
   * false ends the run there, as if the log ended.
   */
  onProgress?: (at: ReplayProgress) => boolean | void;
}

/** Where a replay stands between two actions (ReplayOptions.onProgress). */
export interface ReplayProgress {
  /** 0-based index of the line the next action starts at. */
  line: number;
  /** Lines in the log. */
  lines: number;
  /** Actions replayed so far. */
  replayed: number;
  machine: SpaprMachine;
  /** What TraceReplay.run needs to go on from this point later (the machine with its guest RAM). */
  checkpoint(): ReplayCheckpoint;
}

/** A replay between two actions: the machine's snapshot and the replay's own position. */
export interface ReplayCheckpoint {
  readonly line: number;
  readonly replayed: number;
  readonly snapshot: Uint8Array;
  /** The vCPU of the last access, the CAS progress, the XICS vCPUs whose CPPR was opened. */
  readonly cpu: number;
  readonly casDone: boolean;
  readonly ov5Byte23: number | null;
  readonly xicsUp: readonly number[];
}

/** Where the model and the log part ways. */
export interface Divergence {
  /** 1-based line number in the trace. */
  line: number;
  /** The trace line (what QEMU recorded). */
  expected: string;
  /** What the model reported there (or a sentence when it reported nothing). */
  model: string;
  /** The model state most relevant to the divergence (info pic excerpt). */
  state: string;
}

/** The outcome of a replay. */
export interface ReplayResult {
  /**
   * ok: no divergence; diverged: see `divergence`; unusable: the trace or options are unusable (see
   * `reason`).
   */
  status: 'ok' | 'diverged' | 'unusable';
  /** One-line reason when unusable. */
  reason?: string;
  divergence?: Divergence;
  /** Guest/device actions replayed. */
  replayed: number;
  /** Model events matched against the log, and the values they carry. */
  eventsChecked: number;
  valuesChecked: number;
  /** Lines of other subsystems (or plain log text) skipped, by event name. */
  skipped: Map<string, number>;
  /** Notes worth telling the user (hotplug, CAS). */
  notes: string[];
  /** Snapshot/restore round trips done (snapshotEvery). */
  migrations: number;
  /** The model's `info pic` at the end (or at the divergence). */
  pic: string;
  /** The machine at the end (null when the trace was unusable). */
  machine: SpaprMachine | null;
}

const BASE_ESB = 0x0006_0100_0000_0000;
/** DRC type of a CPU core in the top 4 bits of a DRC index. */
const DRC_TYPE_CPU = 1;
const BASE_TIMA = 0x0006_0302_0318_0000;

type Kind = 'pre' | 'post' | 'output' | 'cas' | 'skip';

export class TraceReplay {
  private readonly lines: string[];
  private readonly parsed: ParsedLine[];
  private readonly kinds: Kind[];
  private machine!: SpaprMachine;
  private readonly buf = new TraceBuffer();
  private currentCpu = 0;
  private guestOv5Byte23: number | null = null;
  private result!: ReplayResult;
  private maxCpus = 0;
  /** vCPUs present at start (-smp N): the others appear by hotplug. */
  private bootCpus = 0;
  private casDone = false;
  private xics!: XicsInference;

  constructor(
    text: string,
    private readonly opts: ReplayOptions,
  ) {
    // A log that went through a Windows tool ends its lines with CR LF: the CR is not part of them.
    this.lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop();
    this.parsed = this.lines.map((l) => parseTraceLine(l));
    this.kinds = this.parsed.map((p) => this.classify(p));
  }

  private classify(p: ParsedLine): Kind {
    if (p.kind !== 'event') return 'skip';
    const n = p.event.name;
    if (n === 'spapr_cas_pvr' || n === 'spapr_cas_continue' || n === 'spapr_ovec_parse_vector') return 'cas';
    if (!isModelEvent(n)) return 'skip';
    if (OUTPUT_ONLY.has(n) || XICS_OUTPUTS.has(n)) return 'output';
    if (n === 'xive_source_esb_read' || n === 'xive_tctx_tm_read' || n === 'xive_end_source_read') return 'post';
    return 'pre';
  }

  private unusable(reason: string): ReplayResult {
    this.result.status = 'unusable';
    this.result.reason = reason;
    return this.result;
  }

  /** Checks the input and builds the machine; null when usable. */
  private prepare(): ReplayResult | null {
    let events = 0;
    for (let i = 0; i < this.parsed.length; i++) {
      const p = this.parsed[i]!;
      // Lines of other subsystems count too (a machine paused before the guest ran logs only
      // those); QEMU's event names all have an underscore, prose words do not.
      if (p.kind === 'event' || (p.kind === 'other' && p.name.includes('_'))) events++;
      else if (p.kind === 'bad') {
        const name = /^(?:\d+@\d+\.\d+:)?([a-z0-9_]+) /.exec(this.lines[i]!)?.[1];
        if (name !== undefined && KNOWN_EVENTS.has(name)) return this.unusable(`line ${i + 1}: malformed ${name} event: ${p.reason}`);
      }
    }
    if (events === 0) return this.unusable('no QEMU trace events found (is this a trace log of the "log" backend?)');
    const { smp, maxCpus: maxCpusGiven, icMode: icModeGiven } = this.opts;
    if (smp !== undefined && (!Number.isInteger(smp) || smp < 1 || smp > SPAPR_MAX_CPUS)) return this.unusable(`--smp must be 1..${SPAPR_MAX_CPUS}`);
    if (maxCpusGiven !== undefined && (!Number.isInteger(maxCpusGiven) || maxCpusGiven < (smp ?? 1) || maxCpusGiven > SPAPR_MAX_CPUS)) {
      return this.unusable(`--max-cpus must be ${smp ?? 1}..${SPAPR_MAX_CPUS}`);
    }
    const spec: MachineSpec = { ...this.opts.spec, smp: { ...this.opts.spec?.smp } };
    if (smp !== undefined) spec.smp!.cpus = smp;
    if (maxCpusGiven !== undefined) spec.smp!.maxcpus = maxCpusGiven;
    if (icModeGiven !== undefined) spec.icMode = icModeGiven;
    let cfg: MachineConfig;
    try {
      cfg = resolveMachine(spec);
    } catch (e) {
      if (e instanceof XiveUsageError) return this.unusable(e.message);
      throw e;
    }
    this.maxCpus = cfg.smp.maxCpus;
    this.bootCpus = cfg.smp.cpus;
    // The machine claims one IPI per possible server before anything else: the log's leading IPI
    // claims tell how many possible vCPUs it was recorded with.
    let ipis = 0;
    for (const p of this.parsed) {
      if (p.kind !== 'event') continue;
      if (p.event.name === 'spapr_xive_claim_irq' && p.event.lisn < SPAPR_IRQ_NR_IPIS) ipis++;
      else break;
    }
    if (ipis !== 0 && ipis !== cfg.nrServers) {
      const per = cfg.vsmt / cfg.smp.threads;
      const want = Number.isInteger(ipis / per) ? ` (use --max-cpus ${ipis / per})` : '';
      return this.unusable(
        per === 1
          ? `the trace was recorded with ${ipis} possible vCPUs (it claims ${ipis} IPIs) but the replay has ${cfg.nrServers}: use --max-cpus ${ipis}`
          : `the trace claims ${ipis} IPIs (one per possible vCPU id) but this machine has ${cfg.nrServers} vCPU ids (vsmt ${cfg.vsmt})${want}`,
      );
    }
    const mismatch = controllerMismatch(this.parsed, cfg.icMode);
    if (mismatch !== null) return this.unusable(mismatch);
    try {
      this.machine = new SpaprMachine({
        spec,
        // A log that starts with the machine's claims shows every device claim; otherwise (XICS
        // claims are never traced) the default pseries devices are there.
        devices: ipis === 0 ? 'default' : 'none',
        trace: this.buf,
        memory: new SparseGuestMemory(this.opts.ramSize ?? 1 << 30),
      });
    } catch (e) {
      if (e instanceof XiveUsageError) return this.unusable(e.message);
      throw e;
    }
    this.result.machine = this.machine;
    const self = this;
    this.xics = new XicsInference({
      get machine() {
        return self.machine;
      },
      parsed: this.parsed,
      nextRelevant: (k) => this.nextRelevant(k),
      note: (t) => this.result.notes.push(t),
      takeEmitted: () => this.takeEmitted(),
      get currentCpu() {
        return self.currentCpu;
      },
      set currentCpu(c: number) {
        self.currentCpu = c;
      },
    });
    if (ipis === 0) this.buf.clear(); // the log starts later than machine creation
    return null;
  }

  /**
   * Replays the log from its first line, or from a checkpoint that a run of this same replay
   * took (the counts then start at the checkpoint's).
   */
  run(from?: ReplayCheckpoint): ReplayResult {
    this.result = { status: 'ok', replayed: from?.replayed ?? 0, eventsChecked: 0, valuesChecked: 0, skipped: new Map(), notes: [], migrations: 0, pic: '', machine: null };
    this.currentCpu = from?.cpu ?? 0;
    this.casDone = from?.casDone ?? false;
    this.guestOv5Byte23 = from?.ov5Byte23 ?? null;
    const early = this.prepare();
    if (early !== null) return early;
    if (from !== undefined) {
      this.machine = restoreSnapshot(from.snapshot, { trace: this.buf, postLoadResend: false });
      this.result.machine = this.machine;
      for (const cpu of from.xicsUp) this.xics.up.add(cpu);
      this.buf.clear();
    }
    try {
      return this.loop(from?.line ?? 0);
    } catch (e) {
      // An action the machine cannot even attempt (a LISN outside the IRQ space, a vCPU beyond
      // max-cpus...) means the log does not describe this machine.
      if (e instanceof XiveUsageError) return this.unusable(`line ${this.at + 1}: ${e.message}`);
      throw e;
    }
  }

  private at = 0;

  private loop(start: number): ReplayResult {
    let i = start;
    const n = this.lines.length;
    let pending = this.takeEmitted();
    const every = this.opts.snapshotEvery ?? 0;
    let migratedAt = this.result.replayed;
    const hook = this.opts.onProgress;
    const at: ReplayProgress = { line: i, lines: n, replayed: 0, machine: this.machine, checkpoint: () => this.checkpoint(at.line) };
    while (i < n) {
      this.at = i;
      const kind = this.kinds[i]!;
      if (every > 0 && pending.length === 0 && this.result.replayed - migratedAt >= every) {
        migratedAt = this.result.replayed;
        this.migrate();
        pending = this.takeEmitted();
      }
      if (hook !== undefined && pending.length === 0 && kind !== 'skip') {
        at.line = i;
        at.replayed = this.result.replayed;
        at.machine = this.machine;
        if (hook(at) === false) break;
      }
      if (pending.length > 0) {
        if (kind === 'skip') {
          this.skip(i);
          i++;
          continue;
        }
        const ok = this.matchAt(i, pending[0]!);
        if (!ok) return this.diverge(i, pending[0]!);
        const matched = pending.shift()!;
        this.opts.tap?.emit(matched);
        i++;
        continue;
      }
      if (kind === 'skip') {
        this.skip(i);
        i++;
        continue;
      }
      if (kind === 'cas') {
        this.cas(i);
        i++;
        continue;
      }
      const ev = (this.parsed[i] as { event: TraceEvent }).event;
      if (kind === 'output') {
        // Side effects of an action the log records after them: find that action.
        const j = this.nextAction(i);
        if (j < 0 || this.kinds[j] !== 'post') {
          return this.divergeNothing(i, 'the model reported no such event here');
        }
        this.plugReferenced(i, j);
        pending = this.execute(j, i);
        if (pending.length === 0) return this.divergeNothing(i, 'the model reported no such event here');
        continue;
      }
      this.plugReferenced(i, this.groupEnd(i));
      pending = this.execute(i, i);
      if (pending.length === 0) return this.divergeNothing(i, `the model did not perform ${ev.name}`);
    }
    this.result.pic = infoPic(this.machine);
    return this.result;
  }

  // ---- helpers -------------------------------------------------------------------------------

  /**
   * CPU hotplug and unplug, which leave no interrupt-controller event: a CPU core's DRC (dynamic
   * reconfiguration connector, index 0x1000_0000 + the vCPU id of its first thread) is attached
   * when the core is plugged (device_add creates its vCPUs and their presenter contexts), and
   * finalizes its release when an unplug completes (the guest let the core go; QEMU destroys the
   * vCPUs).
   */
  private cpuDrc(i: number, name: string): void {
    const m = /\bdrc: 0x([0-9a-f]+)/.exec(this.lines[i]!);
    if (m === null) return;
    const index = parseInt(m[1]!, 16);
    if (index >>> 28 !== DRC_TYPE_CPU) return;
    const first = this.machine.cpuOfVcpuId(index & 0x0fff_ffff);
    if (first < 0) return;
    const threads = this.machine.config.smp.threads;
    for (let cpu = first; cpu < first + threads; cpu++) {
      if (name === 'spapr_drc_attach' && !this.machine.hasCpu(cpu)) {
        this.machine.plugCpu(cpu);
        this.result.notes.push(`vCPU ${cpu} hot-plugged at line ${i + 1} (its core was added)`);
      } else if (name === 'spapr_drc_set_allocation_state_finalizing' && this.machine.hasCpu(cpu)) {
        this.machine.unplugCpu(cpu);
        this.xics.cpuGone(cpu);
        this.result.notes.push(`vCPU ${cpu} unplugged at line ${i + 1} (the guest released its core)`);
      }
    }
  }

  private checkpoint(line: number): ReplayCheckpoint {
    const snapshot = captureSnapshot(this.machine, { includeMemory: true });
    return { line, replayed: this.result.replayed, snapshot, cpu: this.currentCpu, casDone: this.casDone, ov5Byte23: this.guestOv5Byte23, xicsUp: [...this.xics.up] };
  }

  /** Moves the run to a brand-new machine through an encoded snapshot (RAM included). */
  private migrate(): void {
    const bytes = captureSnapshot(this.machine, { includeMemory: true });
    this.machine = restoreSnapshot(bytes, { trace: this.buf, postLoadResend: false });
    this.result.machine = this.machine;
    this.result.migrations++;
  }

  private skip(i: number): void {
    const p = this.parsed[i]!;
    if (p.kind === 'other' && (p.name === 'spapr_drc_attach' || p.name === 'spapr_drc_set_allocation_state_finalizing')) this.cpuDrc(i, p.name);
    const key = p.kind === 'event' ? p.event.name : p.kind === 'other' ? p.name : p.kind === 'blank' ? '(blank line)' : '(log text)';
    this.result.skipped.set(key, (this.result.skipped.get(key) ?? 0) + 1);
  }

  /** Index of the first line at or after i that is not skipped, or -1. */
  private nextRelevant(i: number): number {
    for (let j = i; j < this.lines.length; j++) if (this.kinds[j] !== 'skip') return j;
    return -1;
  }

  /** Index of the next action line (pre/post/cas) after i, skipping outputs and skipped lines. */
  private nextAction(i: number): number {
    for (let j = i + 1; j < this.lines.length; j++) {
      const k = this.kinds[j]!;
      if (k === 'pre' || k === 'post' || k === 'cas') return j;
    }
    return -1;
  }

  /** Last line that can belong to the action at i (the line before the next action). */
  private groupEnd(i: number): number {
    const j = this.nextAction(i);
    return j < 0 ? this.lines.length - 1 : j - 1;
  }

  private takeEmitted(): TraceEvent[] {
    const evs = this.buf.events;
    const out: TraceEvent[] = [];
    for (let k = 0; k < evs.length; k++) if (evs[k]!.name !== 'guest_error') out.push(evs[k]!);
    this.buf.clear();
    return out;
  }

  /** Does model event `ev` match trace line i? Counts the checked values when it does. */
  private matchAt(i: number, ev: TraceEvent): boolean {
    const p = this.parsed[i]!;
    if (p.kind !== 'event') return false;
    // The model's line must equal the log line, with or without its timestamp. The parser
    // accepts only text it prints back identically, so that is comparing the fields as printed
    // (sameTraceLine), with no line built; a line ending in CR never equals a printed one.
    const line = this.lines[i]!;
    let ok = line.charCodeAt(line.length - 1) !== 13 && sameTraceLine(ev, p.event);
    if (!ok) ok = leHostEquivalent(ev, p.event, this.lastHcallStore);
    if (ok) {
      this.result.eventsChecked++;
      this.result.valuesChecked += fieldCount(ev);
    }
    return ok;
  }

  private lastHcallStore = false;

  /** vCPUs named by lines i..j (target=, hcall targets, NVT indexes): hot-plug the missing ones. */
  private plugReferenced(i: number, j: number): void {
    for (let k = i; k <= j && k < this.lines.length; k++) {
      const p = this.parsed[k]!;
      if (p.kind !== 'event') continue;
      const ev = p.event;
      // Trace events name a CPU by its index, except those that carry a server number (vCPU id).
      let id = -1;
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

  private cas(i: number): void {
    const ev = (this.parsed[i] as { event: TraceEvent }).event;
    this.result.replayed++;
    if (ev.name === 'spapr_cas_pvr') {
      // CAS runs once per boot: a second one means the guest rebooted, which resets the machine
      // (untraced) before its firmware negotiates again.
      if (this.casDone) {
        this.machine.reset();
        this.xics.reset();
        this.takeEmitted();
        this.result.notes.push(`machine reset before line ${i + 1} (the guest negotiates CAS again)`);
      }
      this.casDone = true;
      this.guestOv5Byte23 = null;
    }
    if (ev.name === 'spapr_ovec_parse_vector' && ev.vector === 5 && ev.byte === 23) this.guestOv5Byte23 = ev.entry;
    if (ev.name !== 'spapr_cas_continue') return;
    const mode = this.machine.icMode;
    const choice = mode === 'dual' ? inferGuestChoice(this.parsed, i) : mode;
    const byte = this.guestOv5Byte23 ?? (choice === 'xics' ? 0 : OV5_XIVE_EXPLOIT);
    const out = this.machine.cas(byte);
    this.result.notes.push(
      out.ok ? `CAS at line ${i + 1}: the guest chose ${out.xive ? 'XIVE' : 'XICS'}` : `CAS at line ${i + 1}: QEMU would stop the VM: ${out.fatal}`,
    );
    this.takeEmitted();
  }

  /** vCPU hint from the events an access produced (lines from..to). */
  private hintedCpu(from: number, to: number): number {
    for (let k = from; k <= to && k < this.lines.length; k++) {
      const p = this.parsed[k]!;
      if (p.kind !== 'event') continue;
      const ev = p.event;
      if (ev.name === 'xive_tctx_accept' || ev.name === 'xive_tctx_set_cppr' || ev.name === 'xive_tctx_notify') return ev.target;
    }
    return -1;
  }

  /**
   * Performs the action recorded at line `at`, whose reported events start at line `from`, and
   * returns what the model reported.
   */
  private execute(at: number, from: number): TraceEvent[] {
    const ev = (this.parsed[at] as { event: TraceEvent }).event;
    const m = this.machine;
    this.result.replayed++;
    this.lastHcallStore = false;
    if (XICS_ACTIONS.has(ev.name)) return this.xics.execute(at, ev, this.groupEnd(at));
    switch (ev.name) {
      case 'spapr_xive_claim_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.claimIrq(ev.lisn, ev.lsi);
        else m.xive!.claim(ev.lisn, ev.lsi);
        return this.takeEmitted();
      case 'spapr_xive_free_irq':
        if (ev.lisn >= SPAPR_IRQ_NR_IPIS) m.freeIrq(ev.lisn);
        else m.xive!.free(ev.lisn);
        return this.takeEmitted();
      case 'spapr_xive_set_irq':
        m.setIrq(ev.lisn, ev.val !== 0);
        return this.takeEmitted();
      case 'xive_source_esb_write':
        m.mmioWrite(this.currentCpu, BASE_ESB + Number(ev.addr), 8, Number(ev.value & 0xffff_ffffn), Number(ev.value >> 32n));
        return this.takeEmitted();
      case 'xive_source_esb_read':
        m.mmioRead(this.currentCpu, BASE_ESB + Number(ev.addr), 8);
        return this.takeEmitted();
      case 'xive_tctx_tm_write':
      case 'xive_tctx_tm_read':
        return this.timaAccess(at, from, ev);
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
        return this.takeEmitted();
      }
    }
  }

  /**
   * Linux zeroes an event-queue page just before it hands it to H_INT_SET_QUEUE_CONFIG. Guest
   * RAM writes are not traced, so the replay does it for the guest: it matters when a rebooted
   * guest reuses a page that held entries before the reset.
   */
  private clearQueuePage(qpage: bigint, qsize: bigint): void {
    if (qpage === 0n || qsize < 12n || qsize > 24n) return;
    const mem = this.machine.memory;
    const base = Number(qpage);
    const len = 2 ** Number(qsize);
    if (!mem.isRam(base, len)) return;
    for (let a = base; a < base + len; a += 4) if (mem.read32(a) !== 0) mem.write32(a, 0);
  }

  private timaAccess(at: number, from: number, ev: Extract<TraceEvent, { name: 'xive_tctx_tm_write' | 'xive_tctx_tm_read' }>): TraceEvent[] {
    const m = this.machine;
    const write = ev.name === 'xive_tctx_tm_write';
    const end = write ? this.groupEnd(at) : at;
    const hint = this.hintedCpu(write ? at : from, end);
    const order: number[] = [];
    if (hint >= 0 && m.hasCpu(hint)) order.push(hint);
    else {
      if (m.hasCpu(this.currentCpu)) order.push(this.currentCpu);
      for (const c of m.vcpus) if (c !== this.currentCpu) order.push(c);
    }
    if (order.length === 1) {
      this.currentCpu = order[0]!;
      return this.runTima(order[0]!, ev);
    }
    // Try each vCPU on a saved context; keep the first whose reported events match the log.
    for (const cpu of order) {
      const t = m.xive!.tctxOfCpu(cpu)!;
      const saved = t.regs.slice();
      const lines = t.lines;
      const evs = this.runTima(cpu, ev);
      if (this.fits(from, evs)) {
        this.currentCpu = cpu;
        return evs;
      }
      t.regs.set(saved);
      if (t.lines !== lines) {
        for (const line of [0, 1]) m.lines.setLine(t.cpuIndex, line, ((lines >> line) & 1) === 1);
        t.lines = lines;
      }
      m.xive!.presenter.update(t);
    }
    this.currentCpu = order[0]!;
    return this.runTima(order[0]!, ev);
  }

  /** The TIMA access of `ev` made by vCPU `cpu`; returns what the model reported. */
  private runTima(cpu: number, ev: Extract<TraceEvent, { name: 'xive_tctx_tm_write' | 'xive_tctx_tm_read' }>): TraceEvent[] {
    const addr = BASE_TIMA + Number(ev.offset);
    if (ev.name === 'xive_tctx_tm_write') this.machine.mmioWrite(cpu, addr, ev.size, Number(ev.value & 0xffff_ffffn), Number(ev.value >> 32n));
    else this.machine.mmioRead(cpu, addr, ev.size);
    return this.takeEmitted();
  }

  /** Do the events match the log from line `from` on (skipped lines aside), without counting? */
  private fits(from: number, evs: TraceEvent[]): boolean {
    let k = from;
    for (const ev of evs) {
      while (k < this.lines.length && this.kinds[k] === 'skip') k++;
      if (k >= this.lines.length) return false;
      const p = this.parsed[k]!;
      if (p.kind !== 'event') return false;
      if (!sameTraceLine(ev, p.event) && !leHostEquivalent(ev, p.event, false)) return false;
      k++;
    }
    return true;
  }

  private stateFor(ev: TraceEvent | null): string {
    return modelStateFor(this.machine, ev);
  }

  private diverge(i: number, modelEv: TraceEvent): ReplayResult {
    this.result.status = 'diverged';
    const p = this.parsed[i]!;
    this.result.divergence = {
      line: i + 1,
      expected: this.lines[i]!,
      model: formatTraceEvent(modelEv),
      state: this.stateFor(p.kind === 'event' ? p.event : modelEv),
    };
    this.result.pic = infoPic(this.machine);
    return this.result;
  }

  private divergeNothing(i: number, what: string): ReplayResult {
    this.result.status = 'diverged';
    const p = this.parsed[i]!;
    this.result.divergence = { line: i + 1, expected: this.lines[i]!, model: `(${what})`, state: this.stateFor(p.kind === 'event' ? p.event : null) };
    this.result.pic = infoPic(this.machine);
    return this.result;
  }
}

/**
 * Replays a QEMU 7.2 trace log (the text of the file) on a fresh machine and checks every event the
 * model reports against the log.
 */
export function replayTrace(text: string, opts: ReplayOptions): ReplayResult {
  return new TraceReplay(text, opts).run();
}

/** Number of values an event carries (its fields but the name). */
function fieldCount(ev: TraceEvent): number {
  const t = TEMPLATES.get(ev.name);
  return t !== undefined ? t.convs.length : Object.keys(ev).length - 1;
}
