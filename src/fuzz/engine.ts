/**
 * The fuzz engine: runs a sequence of operations on the model and on the reference model in
 * lockstep and checks after every step that
 *
 * 1. no exception escapes the model (only host misuse may throw, and only XiveUsageError);
 * 2. every answer (hcall status and registers, RTAS words, MMIO load values, CAS outcome,
 *    claims) is the one the spec gives;
 * 3. the step did what the spec says: the events the sources let through (observed on the
 *    model's source-to-router path), the XICS trace events in order, the presenter matches, the
 *    guest-error reason of every drop, the event-queue words written to guest RAM;
 * 4. the state is the reference's (the entries the step touched; everything every
 *    `fullCheckEvery` steps, after resets, mode switches and host operations, and at the end),
 *    the tables are well-formed (check.ts) and the conservation ledger balances (ledger.ts).
 *
 * Platform-neutral: no Node modules; time comes from the global `performance`.
 */
import { SpaprMachine } from '../spapr/machine.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { RefMachine, type Answer, type IcModeName } from './reference.ts';
import { checkState, type Problem } from './check.ts';
import { describeOp, opToCode, type Op, type OpKind } from './ops.ts';
import type { HostOperation } from './host-operation.ts';
import { Generator } from './generator.ts';
import { Rng } from './rng.ts';
import type { Ledger } from './ledger.ts';

export interface MachineShape {
  smp: number;
  maxCpus: number;
  icMode: IcModeName;
  ramSize: number;
}

export interface FuzzOptions extends MachineShape {
  seed: number;
  ops: number;
  /** Compare every table entry every this many steps (touched entries are compared every step). */
  fullCheckEvery?: number;
  /** The pluggable host operations (host-ops.ts). */
  hostOps?: readonly HostOperation[];
  /** Called every `progressEvery` steps (progress display). */
  onProgress?: (done: number) => void;
  progressEvery?: number;
  /** Shrink a failing sequence (default true); limits in milliseconds and replays. */
  shrink?: boolean;
  shrinkMs?: number;
}

export interface FuzzFailure {
  /** 0-based index of the failing operation in the run. */
  step: number;
  op: Op;
  kind: 'exception' | 'answer' | 'effects' | 'state' | 'host';
  what: string;
  message: string;
}

export interface FuzzResult {
  ok: boolean;
  steps: number;
  ms: number;
  ledger: Ledger;
  opCounts: Map<string, number>;
  failure?: FuzzFailure;
  /** The shrunk operation sequence that still fails the same way, and its failure. */
  reproduction?: { ops: Op[]; failure: FuzzFailure; code: string };
}

const DEFAULT_FULL_CHECK_EVERY = 1000;

/** Collects, for one step, what the model reports through its trace and its source path. */
class Observer implements TraceSink {
  readonly guestErrors: string[] = [];
  readonly xics: TraceEvent[] = [];
  readonly presents: { nvtIdx: number; ring: number }[] = [];
  readonly forwards: number[] = [];

  emit(ev: TraceEvent): void {
    if (ev.name === 'guest_error') this.guestErrors.push(ev.message);
    else if (ev.name === 'xive_presenter_notify') this.presents.push({ nvtIdx: ev.nvtIdx, ring: ev.ring });
    else if (ev.name.startsWith('xics_')) this.xics.push(ev);
  }

  clear(): void {
    this.guestErrors.length = 0;
    this.xics.length = 0;
    this.presents.length = 0;
    this.forwards.length = 0;
  }
}

function sameEvent(a: TraceEvent, b: TraceEvent): boolean {
  if (a.name !== b.name) return false;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const k of Object.keys(ra)) if (ra[k] !== rb[k]) return false;
  return Object.keys(ra).length === Object.keys(rb).length;
}

function evText(e: TraceEvent): string {
  return `${e.name}(${Object.entries(e)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => `${k}=${typeof v === 'number' ? `0x${v.toString(16)}` : String(v)}`)
    .join(' ')})`;
}

const hx = (v: number | bigint) => `0x${v.toString(16)}`;

/** One machine + its reference, stepping operations and checking each. */
export class Harness {
  machine: SpaprMachine;
  readonly ref: RefMachine;
  private readonly obs = new Observer();
  private readonly hostByName: Map<string, HostOperation>;
  private sinceFull = 0;

  constructor(
    readonly shape: MachineShape,
    hostOps: readonly HostOperation[],
    private readonly fullCheckEvery = DEFAULT_FULL_CHECK_EVERY,
  ) {
    this.hostByName = new Map(hostOps.map((h) => [h.name, h]));
    this.machine = new SpaprMachine({ smp: shape.smp, maxCpus: shape.maxCpus, icMode: shape.icMode, ramSize: shape.ramSize });
    this.attach(this.machine);
    this.ref = new RefMachine(shape);
  }

  /** Hooks the observer into a machine (again after a host operation replaced it). */
  private attach(m: SpaprMachine): void {
    m.setTrace(this.obs);
    const x = m.xive;
    if (x !== null) {
      const router = x.router;
      const forwards = this.obs.forwards;
      // Every event a source lets through passes here on its way to the router.
      x.source.notifier = {
        notify(srcno: number, pqChecked: boolean): void {
          forwards.push(srcno);
          router.notify(srcno, pqChecked);
        },
      };
    }
  }

  describe(op: Op): string {
    return describeOp(op, (h) => this.hostByName.get(h.name)?.describe?.(h.args) ?? `host ${h.name}`);
  }

  code(op: Op): string {
    return opToCode(op, (h) => this.hostByName.get(h.name)?.code?.(h.args) ?? `// host operation ${h.name}`);
  }

  /**
   * Runs one operation and checks it. Returns null, a failure, or 'skip' when the operation is
   * not applicable in this state (only while replaying a shrunk sequence).
   */
  step(op: Op, index: number): FuzzFailure | 'skip' | null {
    const ref = this.ref;
    if (!ref.applicable(op)) return 'skip';
    if (op.k === 'host' && !this.hostByName.has(op.name)) return 'skip';
    ref.fx.clear();
    this.obs.clear();
    const fail = (kind: FuzzFailure['kind'], what: string, message: string): FuzzFailure => ({ step: index, op, kind, what, message });

    if (op.k === 'host') return this.hostStep(op, index);

    let want: Answer;
    let popMismatch: string | undefined;
    try {
      if (op.k === 'eq-pop') {
        // The guest reads its queue from the model's RAM; every word must be what was written.
        want = { k: 'none' };
        const m = this.machine;
        popMismatch = ref.xive?.eqPop(op.vcpu, op.prio, op.max, (a) => m.memory.read32(a)).mismatch;
      } else {
        want = ref.apply(op);
      }
    } catch (e) {
      // The reference itself failed: report it as such rather than blaming the model.
      return fail('exception', 'reference', `the reference model threw ${(e as Error).stack ?? String(e)}`);
    }
    if (popMismatch !== undefined) return fail('answer', 'EQ read', popMismatch);

    let got: Answer;
    try {
      got = this.applyModel(op);
    } catch (e) {
      const err = e as Error;
      return fail('exception', err.name, `${err.name}: ${err.message}${err.stack !== undefined ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : ''}`);
    }

    const a = compareAnswers(op, want, got);
    if (a !== null) return fail('answer', a.what, a.message);
    const f = this.compareEffects();
    if (f !== null) return fail('effects', f.what, f.message);

    const periodic = ++this.sinceFull >= this.fullCheckEvery;
    const s = checkState(this.machine, ref, ref.fx, periodic);
    if (s !== null) return fail('state', s.what, s.message);
    if (periodic) {
      this.sinceFull = 0;
      const p = this.monitorCheck();
      if (p !== null) return fail('exception', p.what, p.message);
    }
    return null;
  }

  private hostStep(op: Extract<Op, { k: 'host' }>, index: number): FuzzFailure | null {
    const h = this.hostByName.get(op.name)!;
    const fail = (kind: FuzzFailure['kind'], what: string, message: string): FuzzFailure => ({ step: index, op, kind, what, message });
    let res;
    this.obs.clear();
    this.ref.fx.clear();
    try {
      res = h.apply({ machine: this.machine, ref: this.ref }, op.args);
    } catch (e) {
      const err = e as Error;
      return fail('exception', `host ${op.name}`, `${err.name}: ${err.message}`);
    }
    if (res.problem !== null) return fail('host', op.name, res.problem);
    if (res.machine !== undefined && res.machine !== this.machine) {
      this.machine = res.machine;
      this.attach(this.machine);
    }
    h.mirror?.(this.ref, op.args);
    // What the model reported during the operation must be what the mirrored effect implies
    // (nothing, for an operation that must not change guest state).
    const f = this.compareEffects();
    if (f !== null) return fail('effects', f.what, `during host operation ${op.name}: ${f.message}`);
    const s = checkState(this.machine, this.ref, this.ref.fx, true);
    if (s !== null) return fail('state', s.what, `after host operation ${op.name}: ${s.message}`);
    return null;
  }

  /** The monitor prints any state without failing. */
  private monitorCheck(): Problem | null {
    try {
      infoPic(this.machine);
      return null;
    } catch (e) {
      return { what: 'info pic', message: `info pic threw ${(e as Error).name}: ${(e as Error).message}` };
    }
  }

  /** Final check of everything. */
  finalCheck(): Problem | null {
    const s = checkState(this.machine, this.ref, this.ref.fx, true);
    return s ?? this.monitorCheck();
  }

  private applyModel(op: Op): Answer {
    const m = this.machine;
    switch (op.k) {
      case 'hcall': {
        const r = m.hcall(op.vcpu, op.opcode, op.args, op.pr);
        return { k: 'hcall', ret: r.ret, regs: r.regs, ticks: false };
      }
      case 'rtas':
        return { k: 'rtas', rets: m.rtas(op.vcpu, op.call, op.args, op.nret) };
      case 'load': {
        const lo = m.mmioRead(op.vcpu, op.addr, op.size);
        return { k: 'load', v: { lo: lo >>> 0, hi: m.mmioHi >>> 0 } };
      }
      case 'store':
        m.mmioWrite(op.vcpu, op.addr, op.size, op.lo, op.hi);
        return { k: 'none' };
      case 'irq':
        m.setIrq(op.irq, op.level);
        return { k: 'none' };
      case 'msi':
        m.pulseMsi(op.irq);
        return { k: 'none' };
      case 'cas': {
        const r = m.cas(op.byte);
        // In the reference's terms: the name of the controller the guest asked for, or why not.
        return { k: 'cas', ok: r.ok, detail: r.ok ? (r.xive ? 'xive' : 'xics') : r.fatal };
      }
      case 'reset':
        m.reset();
        return { k: 'none' };
      case 'plug':
        m.plugCpu(op.id);
        return { k: 'none' };
      case 'claim':
        return { k: 'claim', ok: m.claimIrq(op.irq, op.lsi) };
      case 'free':
        m.freeIrq(op.irq);
        return { k: 'none' };
      case 'eq-pop':
      case 'host':
        return { k: 'none' };
    }
  }

  private compareEffects(): Problem | null {
    const fx = this.ref.fx;
    const obs = this.obs;
    if (fx.forwards.length !== obs.forwards.length || fx.forwards.some((l, i) => l !== obs.forwards[i])) {
      return { what: 'source forwarding', message: `events let through by the sources: model [${obs.forwards.map(hx).join(', ')}], spec [${fx.forwards.map(hx).join(', ')}]` };
    }
    const n = Math.max(fx.xicsEvents.length, obs.xics.length);
    for (let i = 0; i < n; i++) {
      const w = fx.xicsEvents[i];
      const g = obs.xics[i];
      if (w === undefined || g === undefined || !sameEvent(w, g)) {
        return {
          what: 'XICS trace',
          message: `XICS event ${i + 1} of the step: model ${g === undefined ? '(none)' : evText(g)}, spec ${w === undefined ? '(none)' : evText(w)}\n  model: ${obs.xics.map(evText).join(', ')}\n  spec:  ${fx.xicsEvents.map(evText).join(', ')}`,
        };
      }
    }
    if (fx.presents.length !== obs.presents.length || fx.presents.some((p, i) => p.nvtIdx !== obs.presents[i]!.nvtIdx || p.ring !== obs.presents[i]!.ring)) {
      const f = (ps: { nvtIdx: number; ring: number }[]) => ps.map((p) => `NVT ${hx(p.nvtIdx)} ring ${hx(p.ring)}`).join(', ') || 'none';
      return { what: 'presenter', message: `presenter matches: model ${f(obs.presents)}, spec ${f(fx.presents)}` };
    }
    const reported = obs.guestErrors.slice();
    for (const msg of fx.guestErrors) {
      const at = reported.indexOf(msg);
      if (at < 0) return { what: 'drop reason', message: `the spec drops an event with "${msg}" but the model did not report it (reported: ${obs.guestErrors.map((m) => `"${m}"`).join(', ') || 'nothing'})` };
      reported.splice(at, 1);
    }
    return null;
  }
}

function compareAnswers(op: Op, want: Answer, got: Answer): Problem | null {
  switch (want.k) {
    case 'hcall': {
      if (got.k !== 'hcall') break;
      if (got.ret !== want.ret) return { what: 'hcall status', message: `returned ${got.ret}, the spec gives ${want.ret}` };
      for (let i = 0; i < 6; i++) {
        if (want.ticks && i === 1) continue; // H_XIRR_X's second value is a host clock
        if (got.regs[i] !== want.regs[i]) return { what: 'hcall registers', message: `R${4 + i} = ${hx(got.regs[i]!)}, the spec gives ${hx(want.regs[i]!)} (status ${want.ret})` };
      }
      return null;
    }
    case 'rtas':
      if (got.k !== 'rtas') break;
      if (got.rets.length !== want.rets.length || got.rets.some((v, i) => v !== want.rets[i])) return { what: 'RTAS', message: `returned [${got.rets.join(', ')}], the spec gives [${want.rets.join(', ')}]` };
      return null;
    case 'load':
      if (got.k !== 'load') break;
      if (got.v.lo !== want.v.lo || got.v.hi !== want.v.hi) {
        return { what: 'load value', message: `loaded ${hx((BigInt(got.v.hi) << 32n) | BigInt(got.v.lo))}, the spec gives ${hx((BigInt(want.v.hi) << 32n) | BigInt(want.v.lo))}` };
      }
      return null;
    case 'cas':
      if (got.k !== 'cas') break;
      if (got.ok !== want.ok || got.detail !== want.detail) return { what: 'CAS', message: `outcome ${got.ok ? 'ok' : 'fatal'} (${got.detail}), the spec gives ${want.ok ? 'ok' : 'fatal'} (${want.detail})` };
      return null;
    case 'claim':
      if (got.k !== 'claim') break;
      if (got.ok !== want.ok) return { what: 'claim', message: `claim returned ${got.ok}, expected ${want.ok}` };
      return null;
    case 'none':
      return null;
  }
  return { what: 'answer', message: `${op.k}: answer of kind ${got.k}, expected ${want.k}` };
}

/** Replays `ops` on a fresh machine with full checks; the first failure or null. */
export function replayOps(shape: MachineShape, hostOps: readonly HostOperation[], ops: readonly Op[], fullCheckEvery = 1): FuzzFailure | null {
  const h = new Harness(shape, hostOps, fullCheckEvery);
  for (let i = 0; i < ops.length; i++) {
    const r = h.step(ops[i]!, i);
    if (r !== null && r !== 'skip') return r;
  }
  const p = h.finalCheck();
  if (p !== null && ops.length > 0) return { step: ops.length - 1, op: ops[ops.length - 1]!, kind: 'state', what: p.what, message: p.message };
  return null;
}

function signature(f: FuzzFailure): string {
  return `${f.kind}/${f.what}`;
}

/**
 * Shrinks a failing sequence by delta debugging, keeping a candidate only if it still fails the
 * same way (same kind and check). Bounded by `ms`, so a failure deep into a long run still
 * reports quickly (with the smallest sequence found by then).
 */
export function shrink(shape: MachineShape, hostOps: readonly HostOperation[], ops: readonly Op[], target: FuzzFailure, ms: number): { ops: Op[]; failure: FuzzFailure } {
  const deadline = performance.now() + ms;
  const sig = signature(target);
  let best = ops.slice();
  let bestFailure = target;
  const test = (cand: Op[]): boolean => {
    // Touched entries are still compared after every step; a state difference elsewhere shows
    // at the final full comparison, with the same signature.
    const f = replayOps(shape, hostOps, cand, cand.length > 300 ? Number.MAX_SAFE_INTEGER : 1);
    if (f !== null && signature(f) === sig) {
      best = cand.slice(0, f.step + 1);
      bestFailure = f;
      return true;
    }
    return false;
  };
  // Delta debugging: try dropping each of n chunks; on success continue with fewer chunks, else
  // refine (more, smaller chunks) down to single operations.
  let n = 2;
  while (best.length >= 2 && performance.now() < deadline) {
    const chunk = Math.ceil(best.length / n);
    let reduced = false;
    for (let i = 0; i < n && performance.now() < deadline; i++) {
      const cand = best.slice(0, i * chunk).concat(best.slice((i + 1) * chunk));
      if (cand.length < best.length && test(cand)) {
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk <= 1) break;
      n = Math.min(best.length, n * 2);
    }
  }
  return { ops: best, failure: bestFailure };
}

/** A reproduction as a TypeScript program (run from the repository root, e.g. with tsx). */
export function reproductionCode(shape: MachineShape, harness: Harness, ops: readonly Op[], failure: FuzzFailure): string {
  const lines = [`import { SpaprMachine } from './src/index.ts';`];
  if (ops.some((op) => op.k === 'host' && op.name === 'snapshot-restore')) lines.push(`import { captureSnapshot, restoreInto, restoreSnapshot } from './src/migration/snapshot.ts';`);
  lines.push(
    `let m = new SpaprMachine({ smp: ${shape.smp}, maxCpus: ${shape.maxCpus}, icMode: '${shape.icMode}', ramSize: ${hx(shape.ramSize)} });`,
    ...ops.map((op, i) => `${harness.code(op)}${i === failure.step ? `  // <- ${failure.kind}: ${failure.what}` : ''}`),
  );
  return lines.join('\n');
}

/** Runs a seeded fuzz campaign. */
export function runFuzz(opts: FuzzOptions): FuzzResult {
  const hostOps = opts.hostOps ?? [];
  const shape: MachineShape = { smp: opts.smp, maxCpus: opts.maxCpus, icMode: opts.icMode, ramSize: opts.ramSize };
  const t0 = performance.now();
  const harness = new Harness(shape, hostOps, opts.fullCheckEvery ?? DEFAULT_FULL_CHECK_EVERY);
  const gen = new Generator(new Rng(opts.seed), hostOps);
  const opCounts = new Map<string, number>();
  const done: Op[] = [];
  const every = opts.progressEvery ?? 10_000;
  let failure: FuzzFailure | undefined;
  let steps = 0;
  for (; steps < opts.ops; steps++) {
    const op = gen.next(harness.ref, { machine: harness.machine, ref: harness.ref });
    done.push(op);
    const key = op.k === 'host' ? `host:${op.name}` : (op.k as OpKind);
    opCounts.set(key, (opCounts.get(key) ?? 0) + 1);
    const r = harness.step(op, steps);
    if (r !== null && r !== 'skip') {
      failure = r;
      steps++;
      break;
    }
    if (opts.onProgress !== undefined && (steps + 1) % every === 0) opts.onProgress(steps + 1);
  }
  if (failure === undefined) {
    const p = harness.finalCheck();
    if (p !== null) failure = { step: steps - 1, op: done[done.length - 1]!, kind: 'state', what: p.what, message: p.message };
  }
  const result: FuzzResult = { ok: failure === undefined, steps, ms: performance.now() - t0, ledger: harness.ref.led, opCounts };
  if (failure !== undefined) {
    result.failure = failure;
    const prefix = done.slice(0, failure.step + 1);
    const s = opts.shrink === false ? { ops: prefix, failure } : shrink(shape, hostOps, prefix, failure, opts.shrinkMs ?? 20_000);
    result.reproduction = { ...s, code: reproductionCode(shape, harness, s.ops, s.failure) };
  }
  return result;
}
