/**
 * A live machine for the web view: a pseries machine of any configuration QEMU 7.2 builds, with
 * the reference guest booted on it the way Linux would (XIVE exploitation when the machine offers
 * it, legacy XICS otherwise), or a machine taken from a snapshot, which carries no guest; and the
 * things a person can do to it from the page — pause, resume, step, trigger a source — plus the
 * optional demo loop that keeps the seeded workload running in small batches.
 *
 * What "running" means: the vCPUs take their interrupts. While running, a hand-made trigger is
 * handled at once; while paused it stays where the controller put it (PQ, IPB, NSR, the queue
 * entry), so it can be looked at, until a step or a resume lets the vCPUs run. A workload batch
 * ends by sending a few events that are left unhandled, for the same reason: between batches the
 * page then shows interrupts on their way instead of an always-drained machine.
 *
 * Timers are the only host facility used (setTimeout exists in browsers as well as in Node).
 */
import { SpaprMachine } from '../spapr/machine.ts';
import type { MachineSpec } from '../spapr/machine-config.ts';
import { SPAPR_IRQ_MSI, pciLsiIrq } from '../spapr/irq-map.ts';
import { createGuest, defaultGuestMode, type ReferenceGuest } from '../guest/guest.ts';
import { drainGuest, mulberry32, runGuestWorkload } from '../guest/workload.ts';
import { XiveUsageError } from '../base/errors.ts';
import { LiveCounters, machineView, type MachineView } from './state.ts';

/** Device sources the workload drives: the workload's defaults, named so the tail uses the same. */
const MSI_SOURCES = [0, 1, 2, 3].map((i) => SPAPR_IRQ_MSI + i);
const LSI_SOURCES = [0, 1].map((pin) => pciLsiIrq(0, pin));

export interface SessionOptions {
  /**
   * The fresh machine in QEMU's terms (machine type, CPU model, -smp, ic-mode, vsmt…); without
   * one, an ic-mode=xive machine. Ignored when `machine` is given.
   */
  spec?: MachineSpec;
  /** vCPUs of a fresh machine, over what `spec` says (default 4 without a spec). */
  smp?: number;
  /** A ready machine (e.g. restored from a snapshot); no reference guest runs on it. */
  machine?: SpaprMachine;
  /** Run the seeded workload in the background while not paused. */
  demo?: boolean;
  seed?: number;
  /** Events per background batch (default 200). */
  batchEvents?: number;
  /** Events per step (default 8). */
  stepEvents?: number;
  /** Events left unhandled at the end of a batch or step (default 3). */
  tailEvents?: number;
  /** Pause between background batches, ms (default 120). */
  intervalMs?: number;
}

export interface RunView {
  demo: boolean;
  paused: boolean;
  /** Whether the reference guest runs (step needs it). */
  guest: boolean;
  steps: number;
  batches: number;
  triggers: number;
  /** Workload events sent (batches, steps and their tails). */
  events: number;
  seed: number;
  /** The last failure (the loop pauses on one). */
  error: string | null;
}

export interface LiveState {
  /** Bumped by every change made through the session; the page shows the one it rendered. */
  version: number;
  run: RunView;
  machine: MachineView;
}

/** A request the session refuses (bad IRQ, step without a guest): the message says why. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  /** 'bad-request': the request itself is wrong; 'conflict': this session cannot do it. */
  constructor(
    message: string,
    readonly kind: 'bad-request' | 'conflict' = 'bad-request',
  ) {
    super(message);
  }
}

export class LiveSession {
  readonly machine: SpaprMachine;
  readonly guest: ReferenceGuest | null;
  readonly counters: LiveCounters;
  readonly demo: boolean;
  readonly seed: number;
  private paused = false;
  private version = 0;
  private steps = 0;
  private batches = 0;
  private triggers = 0;
  private events = 0;
  private error: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly tailRand: () => number;
  private readonly batchEvents: number;
  private readonly stepEvents: number;
  private readonly tailEvents: number;
  private readonly intervalMs: number;

  constructor(opts: SessionOptions = {}) {
    this.seed = (opts.seed ?? 1) >>> 0;
    this.batchEvents = opts.batchEvents ?? 200;
    this.stepEvents = opts.stepEvents ?? 8;
    this.tailEvents = opts.tailEvents ?? 3;
    this.intervalMs = opts.intervalMs ?? 120;
    // A different stream from the workload's own, so the tail does not repeat its first events.
    this.tailRand = mulberry32(this.seed ^ 0x5bd1_e995);
    if (opts.machine !== undefined) {
      this.machine = opts.machine;
      this.guest = null;
    } else {
      const spec = opts.spec ?? { icMode: 'xive' };
      const smp = opts.smp ?? (opts.spec === undefined ? 4 : undefined);
      this.machine = new SpaprMachine({ spec, smp, devices: 'default' });
      // The model a Linux guest asks for on this machine: XIVE when it is offered (dual
      // included), legacy XICS on a machine without it (POWER8, the XICS-only machine types).
      this.guest = createGuest(this.machine, defaultGuestMode(this.machine.icMode));
      // Boot, and configure the device sources now (a zero-event run), so every source the
      // workload uses can be triggered by hand from the start.
      runGuestWorkload(this.machine, this.guest, { events: 0, seed: this.seed, msiSources: MSI_SOURCES, lsiSources: LSI_SOURCES });
      // A device serviced by its driver drops its LSI in the handler, before the EOI; without
      // this a hand-raised LSI would be presented again forever.
      const guest = this.guest;
      guest.onEvent = (_cpu, src) => {
        if (src.kind === 'lsi') guest.deviceLsi(src.lisn, false);
      };
    }
    this.demo = opts.demo === true && this.guest !== null;
    this.counters = new LiveCounters(this.machine.trace);
    this.machine.setTrace(this.counters);
    if (this.demo) this.schedule();
  }

  // ---- What the page asks for ------------------------------------------------------------------

  state(): LiveState {
    return {
      version: this.version,
      run: {
        demo: this.demo,
        paused: this.paused,
        guest: this.guest !== null,
        steps: this.steps,
        batches: this.batches,
        triggers: this.triggers,
        events: this.events,
        seed: this.seed,
        error: this.error,
      },
      machine: machineView(this.machine, { guest: this.guest, counters: this.counters }),
    };
  }

  pause(): void {
    this.paused = true;
    this.cancel();
    this.version++;
  }

  /** The vCPUs run again: what waited is handled now, and the demo loop goes on. */
  resume(): void {
    this.paused = false;
    this.error = null;
    this.version++;
    this.guarded(() => this.handleAll());
    if (this.demo) this.schedule();
  }

  /** One workload step: a few events with their handling, then a short unhandled tail. */
  step(): void {
    if (this.guest === null) throw new SessionError('step runs the reference guest, and a machine restored from a snapshot has none', 'conflict');
    this.guarded(() => {
      this.batch(this.stepEvents);
      this.steps++;
    });
  }

  /**
   * A source fires, as its device (or, for an IPI, another vCPU) would make it. Sources the
   * guest configured go through the guest, so its accounting covers them; any other claimed
   * source gets a device pulse (an LSI is raised and dropped again, so no line stays stuck).
   */
  trigger(irq: number): void {
    if (!Number.isSafeInteger(irq) || !this.claimed(irq)) {
      throw new SessionError(`${irq < 0 ? irq : '0x' + irq.toString(16)} is not a claimed source of this machine`);
    }
    const g = this.guest;
    this.guarded(() => {
      if (g !== null && g.hasSource(irq)) {
        const src = g.source(irq);
        if (src.kind === 'ipi') g.sendIpi(g.onlineCpus()[0]!, src.cpu);
        else if (src.kind === 'msi') g.deviceMsi(irq);
        else g.deviceLsi(irq, true);
      } else if (this.isLsi(irq)) {
        this.machine.setIrq(irq, true);
        this.machine.setIrq(irq, false);
      } else {
        this.machine.pulseMsi(irq);
      }
      this.triggers++;
      if (!this.paused) this.handleAll();
    });
  }

  /** Stops the background loop for good. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  // ---- Internals ---------------------------------------------------------------------------------

  private claimed(irq: number): boolean {
    return this.machine.isClaimed(irq);
  }

  private isLsi(irq: number): boolean {
    return this.machine.isLsi(irq);
  }

  private handleAll(): void {
    if (this.guest !== null) drainGuest(this.guest);
  }

  /**
   * A workload run (it drains what was pending, sends and handles `n` events, drains again),
   * then the unhandled tail. The session's own LSI hook is set aside during the run: the
   * workload drops its LSIs itself.
   */
  private batch(n: number): void {
    const g = this.guest!;
    const hook = g.onEvent;
    g.onEvent = null;
    try {
      runGuestWorkload(this.machine, g, { events: n, seed: (this.seed + this.batches + this.steps) >>> 0, msiSources: MSI_SOURCES, lsiSources: LSI_SOURCES });
    } finally {
      g.onEvent = hook;
    }
    const cpus = g.onlineCpus();
    const pick = <T>(a: readonly T[]): T => a[Math.floor(this.tailRand() * a.length)]!;
    for (let i = 0; i < this.tailEvents; i++) {
      const k = this.tailRand();
      if (k < 0.5) g.sendIpi(pick(cpus), pick(cpus));
      else if (k < 0.8) g.deviceMsi(pick(MSI_SOURCES));
      else g.deviceLsi(pick(LSI_SOURCES), true);
    }
    this.events += n + this.tailEvents;
  }

  /** Runs a change; a failure is kept for the page and pauses the session. */
  private guarded(f: () => void): void {
    try {
      f();
    } catch (e) {
      // Host misuse is the caller's problem; anything else is shown and stops the loop.
      if (e instanceof XiveUsageError) throw new SessionError(e.message);
      this.error = (e as Error).message;
      this.paused = true;
      this.cancel();
    } finally {
      this.version++;
    }
  }

  private schedule(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed || this.paused) return;
      this.guarded(() => {
        this.batch(this.batchEvents);
        this.batches++;
      });
      this.schedule();
    }, this.intervalMs);
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
