/**
 * The timing of the benchmark's parts: the interrupt cycle (best and median of timed runs after a
 * warm-up, garbage collections during them, heap bytes allocated per cycle), the JavaScript
 * transcription of the C reference, and snapshot/restore (the raw table copy and src/migration's
 * versioned snapshots) of a machine.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expectedCheck, runCycles, type CycleRig } from './cycle.ts';
import { buildJsReference } from './js-reference.ts';
import type { SnapshotMethod } from './snapshot.ts';
import type { StageCosts } from './stages.ts';
import { captureSnapshot, restoreInto } from '../src/migration/snapshot.ts';
import type { SpaprMachine } from '../src/spapr/machine.ts';

export interface CycleResult {
  sources: number;
  vcpus: number;
  /** Best timed run, ns per cycle. */
  cycle_ns: number;
  median_ns: number;
  cycles: number;
  setup_ms: number;
  /** C reference at the same size (best of its runs), or null. */
  c_ns: number | null;
  ratio_to_c: number | null;
  /** The C reference transcribed to JavaScript (bench/js-reference.ts), best run. */
  js_reference_ns: number;
  /** Garbage collections during the timed runs. */
  gc_count: number;
  /** Heap bytes allocated per cycle, measured on a run short enough to see no collection. */
  alloc_bytes_per_cycle: number | null;
  /** What each stage of the cycle costs (bench/stages.ts). */
  stages: StageCosts;
}

/** Counts garbage collections (Node reports each as a performance entry). */
export class GcCounter {
  private readonly starts: number[] = [];
  private readonly obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.starts.push(e.startTime);
  });
  constructor() {
    this.obs.observe({ entryTypes: ['gc'] });
  }
  /** Collections that started in [t0, t1] (performance.now() times); waits for late reports. */
  async between(t0: number, t1: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 0));
    return this.starts.filter((t) => t >= t0 && t <= t1).length;
  }
  stop(): void {
    this.obs.disconnect();
  }
}

/** The gc() function V8 gives with --expose-gc, turned on at run time; null if refused. */
export function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---- Cycle ------------------------------------------------------------------------------------

export async function measureCycle(rig: CycleRig, setupMs: number, cycles: number, runs: number, gcs: GcCounter): Promise<Omit<CycleResult, 'c_ns' | 'ratio_to_c' | 'js_reference_ns' | 'stages'>> {
  let n = 0;
  // Warm-up: every path compiled before anything is timed, in several calls so that the loop is
  // compiled for entry as well as for the on-stack replacement of the first long call.
  // The first calls are short: the code after the loop has run once before the loop is compiled.
  for (let i = 0; i < 3; i++) {
    runCycles(rig, n, 10);
    n += 10;
  }
  const warm = Math.ceil(Math.min(cycles, 500_000) / 5);
  for (let i = 0; i < 5; i++) {
    runCycles(rig, n, warm);
    n += warm;
  }
  // Allocation: the heap growth over a run short enough that no collection happens during it
  // (retried if one does). A forced collection first would throw away compiled code.
  // The same measurement around zero cycles gives what the measuring itself allocates.
  let alloc: number | null = null;
  for (let attempt = 0; attempt < 5 && alloc === null; attempt++) {
    const probe = 20_000;
    const e0 = getHeapStatistics().used_heap_size;
    const s0 = performance.now();
    runCycles(rig, n, 0);
    const e1 = getHeapStatistics().used_heap_size;
    const h0 = getHeapStatistics().used_heap_size;
    runCycles(rig, n, probe);
    const t1 = performance.now();
    const h1 = getHeapStatistics().used_heap_size;
    n += probe;
    if ((await gcs.between(s0, t1)) === 0) alloc = Math.max(0, (h1 - h0 - (e1 - e0)) / probe);
  }
  // The runs follow one another with nothing in between (no turn of the event loop); the
  // collections are counted afterwards from the times each started.
  const times: number[] = [];
  const spans: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    runCycles(rig, n, cycles);
    const t1 = performance.now();
    n += cycles;
    times.push(((t1 - t0) * 1e6) / cycles);
    spans.push(t0, t1);
  }
  let collections = 0;
  for (let r = 0; r < runs; r++) collections += await gcs.between(spans[2 * r]!, spans[2 * r + 1]!);
  if (rig.delivered !== n || rig.check !== expectedCheck(rig.sources, n)) {
    throw new Error(`the cycle lost events: ${rig.delivered} of ${n} delivered (check ${rig.check}, expected ${expectedCheck(rig.sources, n)})`);
  }
  return {
    sources: rig.sources,
    vcpus: rig.vcpus,
    cycle_ns: round(Math.min(...times)),
    median_ns: round(median(times)),
    cycles: cycles * runs,
    setup_ms: round(setupMs, 1),
    gc_count: collections,
    alloc_bytes_per_cycle: alloc === null ? null : round(alloc, 1),
  };
}

export function measureJsReference(sources: number, vcpus: number, cycles: number, runs: number): number {
  const ref = buildJsReference(sources, vcpus);
  let n = 0;
  for (let i = 0; i < 5; i++) n += ref.run(n, Math.ceil(Math.min(cycles, 500_000) / 5));
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const d = ref.run(n, cycles);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / cycles);
    if (d !== cycles) throw new Error('the JavaScript transcription of the C reference lost events');
    n += cycles;
  }
  return round(best);
}

// ---- Snapshot -----------------------------------------------------------------------------------

export interface SnapshotResult {
  method: string;
  snapshot_ms: number;
  restore_ms: number;
  bytes: number;
}

/** Best snapshot and best restore time of `method` on `machine` over `runs` rounds. */
export function measureSnapshot<S>(method: SnapshotMethod<S>, machine: SpaprMachine, runs: number): SnapshotResult {
  let snap = method.snapshot(machine);
  let s = Infinity;
  let r = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    snap = method.snapshot(machine);
    const t1 = performance.now();
    method.restore(machine, snap);
    const t2 = performance.now();
    s = Math.min(s, t1 - t0);
    r = Math.min(r, t2 - t1);
  }
  return { method: method.name, snapshot_ms: round(s, 3), restore_ms: round(r, 3), bytes: method.bytes(snap) };
}

export type MigrationResult = { machine: string; api: string; snapshot_ms: number; restore_ms: number; bytes: number } | { error: string };

/** src/migration's versioned snapshots (captureSnapshot / restoreInto) of `machine`. */
export function measureMigration(machine: SpaprMachine, runs: number): MigrationResult {
  try {
    let bytes = captureSnapshot(machine);
    let s = Infinity;
    let r = Infinity;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      bytes = captureSnapshot(machine);
      const t1 = performance.now();
      restoreInto(machine, bytes);
      const t2 = performance.now();
      s = Math.min(s, t1 - t0);
      r = Math.min(r, t2 - t1);
    }
    const lisns = machine.xive?.nrIrqs ?? machine.nrXirqs;
    return { machine: `pseries (SpaprMachine): ${lisns} LISNs, ${machine.vcpus.length} vCPUs`, api: 'src/migration captureSnapshot / restoreInto', snapshot_ms: round(s, 3), restore_ms: round(r, 3), bytes: bytes.byteLength };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}
