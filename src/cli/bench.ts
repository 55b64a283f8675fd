/**
 * `xive bench`: measures the model against the targets of its performance section (README):
 * the Linux-style interrupt cycle at 4,096 sources / 4 vCPUs and 1,048,576 sources / 4,096 vCPUs
 * next to the hand-written C reference (compiled here with gcc, run in the same process tree),
 * allocation in the cycle, replay speed over the reference captures, snapshot/restore time and
 * heap size of the large machine, and cycle throughput with 1 and 2 worker threads sharing one
 * controller. With --json the last line of standard output is one JSON object with every number;
 * progress goes to standard error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse, intOption, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import { buildCycleRig, cycleRamSize, expectedCheck, runCycles, type CycleRig } from '../bench/cycle.ts';
import { measureReplay, REPLAY_CORPUS, type ReplayRates } from '../bench/replay-bench.ts';
import { RAW_TABLE_COPY, type SnapshotMethod } from '../bench/snapshot.ts';
import { buildJsReference } from '../bench/js-reference.ts';
import { sharedMemoryAvailable } from '../bench/shared-tables.ts';
import { FlatGuestMemory } from '../ports/memory.ts';

export const BENCH_HELP = `Usage: xive bench [--json] [--quick] [--cycles N] [--runs N] [--only PARTS] [--no-c] [--c-source FILE]

Measures the model and prints where it stands against its performance targets:
  cycle     one Linux-style interrupt through the guest entry points (ESB trigger store, TIMA ACK
            load, event-queue read, ESB SET_PQ_00 load, CPPR store) at 4096 sources / 4 vCPUs and
            1048576 sources / 4096 vCPUs, next to the C reference (bench/xive_cycle.c, compiled
            with gcc -O2 into a temporary directory), with the allocation per cycle
  replay    trace events per second replaying the reference captures (test/fixtures)
  snapshot  snapshot and restore time and heap size of the 1048576-source, 4096-vCPU machine
  workers   cycles per second with 1 and 2 worker threads sharing one controller

Options:
  --json           print one JSON object as the last line (progress goes to standard error)
  --quick          fewer and shorter runs (a smoke test, not a measurement)
  --cycles N       cycles per timed run (default 2000000)
  --runs N         timed runs per size; the best is kept (default 5)
  --only PARTS     comma-separated subset of: cycle, replay, snapshot, workers
  --no-c           do not build and run the C reference
  --c-source FILE  the C reference to build (default bench/xive_cycle.c)
  -h, --help       this help

Example:
  xive bench --json
`;

const PARTS = ['cycle', 'replay', 'snapshot', 'workers'] as const;
type Part = (typeof PARTS)[number];

export const BENCH_SIZES: readonly { sources: number; vcpus: number }[] = [
  { sources: 4096, vcpus: 4 },
  { sources: 1 << 20, vcpus: 4096 },
];

const ROOT = new URL('../../', import.meta.url);

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
  /** The C reference transcribed to JavaScript (src/bench/js-reference.ts), best run. */
  js_reference_ns: number;
  /** Garbage collections during the timed runs. */
  gc_count: number;
  /** Heap bytes allocated per cycle, measured on a run short enough to see no collection. */
  alloc_bytes_per_cycle: number | null;
}

interface Log {
  (line: string): void;
}

/** Counts garbage collections (Node reports each as a performance entry). */
class GcCounter {
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
function exposeGc(): (() => void) | null {
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

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---- C reference ----------------------------------------------------------------------------

export interface CReference {
  compiler: string;
  source: string;
  results: { sources: number; vcpus: number; cycle_ns: number; cycles: number }[];
}

function findCSource(explicit: string | undefined): string | null {
  if (explicit !== undefined) return existsSync(explicit) ? explicit : null;
  for (const rel of ['bench/xive_cycle.c']) {
    const p = fileURLToPath(new URL(rel, ROOT));
    if (existsSync(p)) return p;
  }
  return null;
}

function runCReference(source: string | null, cycles: number, runs: number, log: Log): { ref: CReference | null; reason: string | null } {
  if (source === null) return { ref: null, reason: 'C reference source not found (bench/xive_cycle.c)' };
  const version = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return { ref: null, reason: 'gcc is not installed (or not on PATH)' };
  const dir = mkdtempSync(join(tmpdir(), 'xive-bench-'));
  try {
    const exe = join(dir, 'xive_cycle');
    const cc = spawnSync('gcc', ['-O2', '-o', exe, source], { encoding: 'utf8' });
    if (cc.status !== 0) return { ref: null, reason: `gcc -O2 failed: ${(cc.stderr || cc.error?.message || '').split('\n')[0]}` };
    const results: CReference['results'] = [];
    for (const size of BENCH_SIZES) {
      let best = Infinity;
      for (let r = 0; r < runs; r++) {
        const run = spawnSync(exe, [String(size.sources), String(size.vcpus), String(cycles)], { encoding: 'utf8' });
        if (run.status !== 0) return { ref: null, reason: `the C reference failed: ${(run.stderr || '').split('\n')[0]}` };
        const line = run.stdout.trim().split('\n').pop() ?? '';
        const ns = (JSON.parse(line) as { cycle_ns: number }).cycle_ns;
        best = Math.min(best, ns);
      }
      results.push({ sources: size.sources, vcpus: size.vcpus, cycle_ns: best, cycles });
      log(`C reference  ${String(size.sources).padStart(7)} sources ${String(size.vcpus).padStart(4)} vCPUs  ${best.toFixed(2)} ns/cycle`);
    }
    return { ref: { compiler: version.stdout.split('\n')[0]!, source, results }, reason: null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- Cycle ------------------------------------------------------------------------------------

async function measureCycle(rig: CycleRig, setupMs: number, cycles: number, runs: number, gcs: GcCounter): Promise<Omit<CycleResult, 'c_ns' | 'ratio_to_c' | 'js_reference_ns'>> {
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
  const times: number[] = [];
  let collections = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    runCycles(rig, n, cycles);
    const t1 = performance.now();
    n += cycles;
    times.push(((t1 - t0) * 1e6) / cycles);
    collections += await gcs.between(t0, t1);
  }
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

function measureJsReference(sources: number, vcpus: number, cycles: number, runs: number): number {
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

interface SnapshotResult {
  method: string;
  snapshot_ms: number;
  restore_ms: number;
  bytes: number;
}

function measureSnapshot<S>(method: SnapshotMethod<S>, rig: CycleRig, runs: number): SnapshotResult {
  let snap = method.snapshot(rig.machine);
  let s = Infinity;
  let r = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    snap = method.snapshot(rig.machine);
    const t1 = performance.now();
    method.restore(rig.machine, snap);
    const t2 = performance.now();
    s = Math.min(s, t1 - t0);
    r = Math.min(r, t2 - t1);
  }
  return { method: method.name, snapshot_ms: round(s, 3), restore_ms: round(r, 3), bytes: method.bytes(snap) };
}

/** src/migration's versioned snapshots, on the largest pseries machine (they take a SpaprMachine). */
async function measureMigration(runs: number): Promise<Record<string, unknown> | { error: string }> {
  try {
    const mig = await import('../migration/snapshot.ts');
    const { SpaprMachine } = await import('../spapr/machine.ts');
    const { SPAPR_MAX_CPUS } = await import('../spapr/irq-map.ts');
    const m = new SpaprMachine({ smp: SPAPR_MAX_CPUS, icMode: 'xive' });
    m.cas(0x40);
    let bytes = mig.captureSnapshot(m);
    let s = Infinity;
    let r = Infinity;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      bytes = mig.captureSnapshot(m);
      const t1 = performance.now();
      mig.restoreInto(m, bytes);
      const t2 = performance.now();
      s = Math.min(s, t1 - t0);
      r = Math.min(r, t2 - t1);
    }
    return { machine: `pseries (SpaprMachine): ${m.xive!.nrIrqs} LISNs, ${SPAPR_MAX_CPUS} vCPUs`, api: 'src/migration captureSnapshot / restoreInto', snapshot_ms: round(s, 3), restore_ms: round(r, 3), bytes: bytes.byteLength };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

// ---- Command ------------------------------------------------------------------------------------

export async function benchCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(
    argv,
    {
      json: { type: 'boolean' },
      quick: { type: 'boolean' },
      cycles: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      'no-c': { type: 'boolean' },
      'c-source': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.out(BENCH_HELP);
    return 0;
  }
  const quick = values.quick === true;
  const json = values.json === true;
  const cycles = intOption(values, 'cycles', 1000, 1e9, quick ? 20_000 : 2_000_000);
  const runs = intOption(values, 'runs', 1, 100, quick ? 2 : 5);
  let parts: Part[] = [...PARTS];
  if (typeof values.only === 'string') {
    parts = values.only.split(',').map((p) => p.trim()) as Part[];
    for (const p of parts) if (!PARTS.includes(p)) throw new UsageFailure(`--only takes ${PARTS.join(', ')}, got '${p}'`);
  }
  const log: Log = (line) => (json ? io.err(`${line}\n`) : io.out(`${line}\n`));
  const started = performance.now();
  const gcs = new GcCounter();
  const gc = exposeGc();
  const out: Record<string, unknown> = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    quick,
  };
  try {
    // C reference, then the model at both sizes.
    if (parts.includes('cycle')) {
      const c = values['no-c'] === true ? { ref: null, reason: 'skipped (--no-c)' } : runCReference(findCSource(values['c-source'] as string | undefined), quick ? 2_000_000 : 20_000_000, quick ? 1 : 3, log);
      out.c_reference = c.ref;
      if (c.ref === null) {
        out.c_reference_reason = c.reason;
        log(`C reference: none (${c.reason})`);
      }
      const results: CycleResult[] = [];
      for (const size of BENCH_SIZES) {
        const memory = new FlatGuestMemory(cycleRamSize(size.vcpus));
        const t0 = performance.now();
        const rig = buildCycleRig({ ...size, memory });
        const setup = performance.now() - t0;
        const r = await measureCycle(rig, setup, cycles, runs, gcs);
        const cns = c.ref?.results.find((x) => x.sources === size.sources && x.vcpus === size.vcpus)?.cycle_ns ?? null;
        const js = measureJsReference(size.sources, size.vcpus, cycles, runs);
        const res: CycleResult = { ...r, c_ns: cns, ratio_to_c: cns === null ? null : round(r.cycle_ns / cns), js_reference_ns: js };
        results.push(res);
        log(
          `model        ${String(size.sources).padStart(7)} sources ${String(size.vcpus).padStart(4)} vCPUs  ${res.cycle_ns.toFixed(2)} ns/cycle` +
            ` (median ${res.median_ns.toFixed(2)})${res.ratio_to_c === null ? '' : `, ${res.ratio_to_c}x the C reference`}` +
            `, ${res.gc_count} GCs, ${res.alloc_bytes_per_cycle ?? '?'} bytes allocated per cycle, setup ${res.setup_ms} ms`,
        );
        log(`JS transcription of the C reference at that size: ${js.toFixed(2)} ns/cycle`);
      }
      out.cycle = results;
      out.vcpu_scaling = round(results[1]!.cycle_ns / results[0]!.cycle_ns);
    }

    if (parts.includes('snapshot')) {
      // Heap of the large machine: everything it allocates but its guest RAM, after collections.
      gc?.();
      const size = BENCH_SIZES[1]!;
      const memory = new FlatGuestMemory(cycleRamSize(size.vcpus));
      gc?.();
      const m0 = process.memoryUsage();
      const rig = buildCycleRig({ ...size, memory });
      gc?.();
      const m1 = process.memoryUsage();
      // Some traffic, so that the snapshot holds queue positions and pending state.
      runCycles(rig, 0, Math.min(cycles, 100_000));
      const heapMb = (m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / 2 ** 20;
      out.heap_mb = round(heapMb, 1);
      out.heap = {
        js_heap_mb: round((m1.heapUsed - m0.heapUsed) / 2 ** 20, 1),
        tables_mb: round((m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20, 1),
        guest_ram_mb_not_counted: round(memory.size / 2 ** 20, 1),
        collected: gc !== null,
      };
      log(`heap         ${size.sources} sources ${size.vcpus} vCPUs: ${out.heap_mb} MB (JS heap ${(out.heap as { js_heap_mb: number }).js_heap_mb} MB, tables ${(out.heap as { tables_mb: number }).tables_mb} MB; guest RAM not counted)`);
      const snap = measureSnapshot(RAW_TABLE_COPY, rig, quick ? 2 : 5);
      out.snapshot_ms = snap.snapshot_ms;
      out.restore_ms = snap.restore_ms;
      out.snapshot = snap;
      log(`snapshot     ${snap.snapshot_ms} ms, restore ${snap.restore_ms} ms, ${(snap.bytes / 2 ** 20).toFixed(1)} MB (${snap.method})`);
      const mig = await measureMigration(quick ? 1 : 3);
      out.migration = mig;
      if ('error' in mig) log(`src/migration: not measured (${mig.error})`);
      else log(`src/migration ${mig.machine}: snapshot ${String(mig.snapshot_ms)} ms, restore ${String(mig.restore_ms)} ms, ${String(mig.bytes)} bytes`);
    }

    if (parts.includes('replay')) {
      const texts = REPLAY_CORPUS.map((trace) => ({ trace, text: readFileSync(new URL(`test/fixtures/${trace.name}.trace`, ROOT), 'utf8') }));
      // One unmeasured pass compiles the replay paths.
      measureReplay(texts, 1);
      const rates: ReplayRates = measureReplay(texts, quick ? 1 : 5);
      out.replay_events_per_s = Math.round(rates.events_per_s);
      out.replay = {
        events: rates.events,
        ms: round(rates.ms, 1),
        xive_events_per_s: Math.round(rates.xive_events_per_s),
        xics_events_per_s: Math.round(rates.xics_events_per_s),
        traces: rates.traces.map((t) => ({ ...t, ms: round(t.ms, 2), events_per_s: Math.round(t.events_per_s) })),
      };
      log(
        `replay       ${(rates.events_per_s / 1e6).toFixed(2)} M events/s over ${rates.traces.length} captures (${rates.events} events in ${rates.ms.toFixed(1)} ms;` +
          ` XIVE logs ${(rates.xive_events_per_s / 1e6).toFixed(2)} M/s, XICS logs ${(rates.xics_events_per_s / 1e6).toFixed(2)} M/s)`,
      );
    }

    if (parts.includes('workers')) {
      if (!sharedMemoryAvailable()) {
        out.workers = null;
        out.workers_reason = 'SharedArrayBuffer is not available';
      } else {
        const { runWorkerThroughput, runWorkerStress } = await import('../../bench/workers.ts');
        const stress = await runWorkerStress(2, 256, 4, quick ? 50 : 500);
        const list = [];
        for (const w of [1, 2]) {
          const r = await runWorkerThroughput(w, 4096, 4, quick ? 100_000 : cycles);
          list.push({ ...r, cycles_per_s: Math.round(r.cycles_per_s), cycle_ns: round(r.cycle_ns) });
          log(`workers      ${w}: ${(r.cycles_per_s / 1e6).toFixed(2)} M cycles/s (${r.cycle_ns.toFixed(1)} ns per cycle per worker)${r.ok ? '' : ' LOST EVENTS'}`);
        }
        out.workers = list;
        out.worker_stress = { ...stress, mismatched: stress.mismatched.length, ok: stress.mismatched.length === 0 && !stress.stalled && stress.unknownEntries === 0 };
        log(`stress       2 workers, ${stress.triggers} cross-worker triggers: ${stress.deliveries} delivered, ${stress.mismatched.length} sources lost or duplicated events`);
      }
    }
  } finally {
    gcs.stop();
  }
  out.targets = targets(out);
  out.elapsed_s = round((performance.now() - started) / 1000, 1);
  for (const [k, v] of Object.entries(out.targets as Record<string, { met: boolean | null; note: string }>)) log(`target ${k.padEnd(16)} ${v.met === null ? 'not measured' : v.met ? 'met' : 'MISSED'}: ${v.note}`);
  if (json) io.out(`${JSON.stringify(out)}\n`);
  return 0;
}

/** Where each target of the performance section stands. */
function targets(out: Record<string, unknown>): Record<string, { met: boolean | null; note: string }> {
  const t: Record<string, { met: boolean | null; note: string }> = {};
  const cycle = out.cycle as CycleResult[] | undefined;
  if (cycle !== undefined) {
    const ratios = cycle.map((c) => c.ratio_to_c);
    t.cycle_vs_c = ratios.some((r) => r === null)
      ? { met: null, note: 'no C reference' }
      : { met: ratios.every((r) => r! <= 3), note: `${ratios.map((r) => `${r}x`).join(' / ')} the C reference (target <= 3x)` };
    const scaling = out.vcpu_scaling as number;
    t.vcpu_scaling = { met: scaling <= 1.5, note: `4096-vCPU cycle ${scaling}x the 4-vCPU cycle (target <= 1.5x)` };
    const alloc = cycle.map((c) => c.alloc_bytes_per_cycle);
    t.no_allocation = { met: alloc.every((a) => a !== null && a < 1) && cycle.every((c) => c.gc_count === 0), note: `${alloc.map((a) => a ?? '?').join(' / ')} bytes per cycle, ${cycle.map((c) => c.gc_count).join(' / ')} GCs` };
  }
  if (typeof out.replay_events_per_s === 'number') {
    t.replay = { met: out.replay_events_per_s >= 5e6, note: `${(out.replay_events_per_s / 1e6).toFixed(2)} M events/s (target >= 5 M)` };
  }
  if (typeof out.snapshot_ms === 'number' && typeof out.restore_ms === 'number') {
    const sum = out.snapshot_ms + out.restore_ms;
    t.snapshot_restore = { met: sum < 100, note: `${round(sum, 2)} ms (target < 100 ms; raw table copy)` };
  }
  return t;
}
