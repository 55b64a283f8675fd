/**
 * The benchmark run behind `xive bench`: the Linux-style interrupt cycle at 4,096 sources /
 * 4 vCPUs and 1,048,576 sources / 4,096 vCPUs next to the hand-written C reference, allocation in
 * the cycle, replay speed over the reference captures, snapshot/restore time and heap size of
 * the large machine, and cycle throughput with 1 and 2 worker threads sharing one controller.
 * Every machine is an ordinary pseries machine (SpaprMachine) sized for the run. Progress lines
 * go to standard output, or to standard error with `json`, where the last line of standard
 * output is then one JSON object with every number.
 */
import { cpus } from 'node:os';
import { FlatGuestMemory } from '../src/ports/memory.ts';
import { buildCycleRig, cycleRamSize, runCycles } from './cycle.ts';
import { findCSource, runCReference } from './c-reference.ts';
import { exposeGc, GcCounter, measureCycle, measureJsReference, measureMigration, measureSnapshot, round, type CycleResult } from './measure.ts';
import { measureReplay, readReplayCorpus, type ReplayRates } from './replay.ts';
import { measureStreamReplay, streamTrace } from './replay-stream.ts';
import { measureStages } from './stages.ts';
import { RAW_TABLE_COPY } from './snapshot.ts';
import { sharedMemoryAvailable } from '../src/spapr/shared-tables.ts';

export type BenchPart = 'cycle' | 'replay' | 'snapshot' | 'workers';

export interface BenchOptions {
  json: boolean;
  quick: boolean;
  /** Cycles per timed run. */
  cycles: number;
  /** Timed runs per size (the best is kept). */
  runs: number;
  parts: readonly BenchPart[];
  /** Build and run the C reference. */
  c: boolean;
  /** The C reference to build (default bench/xive_cycle.c). */
  cSource?: string;
}

export interface BenchIo {
  out(s: string): void;
  err(s: string): void;
}

export const BENCH_SIZES: readonly { sources: number; vcpus: number }[] = [
  { sources: 4096, vcpus: 4 },
  { sources: 1 << 20, vcpus: 4096 },
];

type Log = (line: string) => void;
type Report = Record<string, unknown>;

export async function runBench(opts: BenchOptions, io: BenchIo): Promise<number> {
  const { quick, cycles, parts } = opts;
  const log: Log = (line) => (opts.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
  const started = performance.now();
  const gcs = new GcCounter();
  const gc = exposeGc();
  const out: Report = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    quick,
  };
  try {
    if (parts.includes('cycle')) await cyclePart(opts, out, gcs, log);
    if (parts.includes('snapshot')) snapshotPart(quick, cycles, out, gc, log);
    if (parts.includes('replay')) {
      replayPart(quick, out, log);
      streamPart(quick, out, log);
    }
    if (parts.includes('workers')) await workersPart(quick, cycles, out, log);
  } finally {
    gcs.stop();
  }
  out.targets = targets(out);
  out.elapsed_s = round((performance.now() - started) / 1000, 1);
  for (const [k, v] of Object.entries(out.targets as Record<string, { met: boolean | null; note: string }>)) log(`target ${k.padEnd(16)} ${v.met === null ? 'not measured' : v.met ? 'met' : 'MISSED'}: ${v.note}`);
  if (opts.json) io.out(`${JSON.stringify(out)}\n`);
  return 0;
}

/** The C reference, then the model at both sizes, each next to the JavaScript transcription. */
async function cyclePart(opts: BenchOptions, out: Report, gcs: GcCounter, log: Log): Promise<void> {
  const { quick, cycles, runs } = opts;
  const c = !opts.c
    ? { ref: null, reason: 'skipped (--no-c)' }
    : runCReference(findCSource(opts.cSource), BENCH_SIZES, quick ? 2_000_000 : 20_000_000, quick ? 1 : 3, log);
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
    const st = measureStages(rig, quick ? 20 : 400);
    const stages = { trigger_ns: round(st.trigger_ns), ack_ns: round(st.ack_ns), queue_read_ns: round(st.queue_read_ns), eoi_ns: round(st.eoi_ns), cppr_ns: round(st.cppr_ns), sum_ns: round(st.sum_ns), batches: st.batches };
    const js = measureJsReference(size.sources, size.vcpus, cycles, runs);
    const res: CycleResult = { ...r, c_ns: cns, ratio_to_c: cns === null ? null : round(r.cycle_ns / cns), js_reference_ns: js, stages };
    results.push(res);
    log(
      `model        ${String(size.sources).padStart(7)} sources ${String(size.vcpus).padStart(4)} vCPUs  ${res.cycle_ns.toFixed(2)} ns/cycle` +
        ` (median ${res.median_ns.toFixed(2)})${res.ratio_to_c === null ? '' : `, ${res.ratio_to_c}x the C reference`}` +
        `, ${res.gc_count} GCs, ${res.alloc_bytes_per_cycle ?? '?'} bytes allocated per cycle, setup ${res.setup_ms} ms`,
    );
    log(
      `  stages (ns per operation, in batches): trigger ${stages.trigger_ns}, ACK ${stages.ack_ns}, queue read ${stages.queue_read_ns},` +
        ` EOI ${stages.eoi_ns}, CPPR ${stages.cppr_ns} (sum ${stages.sum_ns})`,
    );
    log(`JS transcription of the C reference at that size: ${js.toFixed(2)} ns/cycle`);
  }
  out.cycle = results;
  out.vcpu_scaling = round(results[1]!.cycle_ns / results[0]!.cycle_ns);
}

/** Heap of the large machine, then its snapshot and restore (raw table copy, then src/migration). */
function snapshotPart(quick: boolean, cycles: number, out: Report, gc: (() => void) | null, log: Log): void {
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
  const heap = {
    js_heap_mb: round((m1.heapUsed - m0.heapUsed) / 2 ** 20, 1),
    tables_mb: round((m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20, 1),
    guest_ram_mb_not_counted: round(memory.size / 2 ** 20, 1),
    collected: gc !== null,
  };
  out.heap_mb = round((m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / 2 ** 20, 1);
  out.heap = heap;
  log(`heap         ${size.sources} sources ${size.vcpus} vCPUs: ${out.heap_mb} MB (JS heap ${heap.js_heap_mb} MB, tables ${heap.tables_mb} MB; guest RAM not counted)`);
  const snap = measureSnapshot(RAW_TABLE_COPY, rig.machine, quick ? 2 : 5);
  out.snapshot_ms = snap.snapshot_ms;
  out.restore_ms = snap.restore_ms;
  out.snapshot = snap;
  log(`snapshot     ${snap.snapshot_ms} ms, restore ${snap.restore_ms} ms, ${(snap.bytes / 2 ** 20).toFixed(1)} MB (${snap.method})`);
  const mig = measureMigration(rig.machine, quick ? 1 : 3);
  out.migration = mig;
  if ('error' in mig) log(`src/migration: not measured (${mig.error})`);
  else log(`src/migration ${mig.machine}: snapshot ${String(mig.snapshot_ms)} ms, restore ${String(mig.restore_ms)} ms, ${String(mig.bytes)} bytes`);
}

function replayPart(quick: boolean, out: Report, log: Log): void {
  const texts = readReplayCorpus();
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

/** `xive replay` on a generated trace of 20 M lines (200,000 with --quick): lines/s of wall time, peak RSS. */
function streamPart(quick: boolean, out: Report, log: Log): void {
  const trace = streamTrace(quick ? 200_000 : 20_000_000);
  if (trace.generated) log(`stream trace ${trace.path}: ${trace.lines} lines, ${(trace.bytes / 1e6).toFixed(0)} MB generated in ${trace.generate_s.toFixed(1)} s`);
  const r = measureStreamReplay(trace);
  out.replay_stream_lines_per_s = Math.round(r.lines_per_s);
  out.replay_peak_rss_mb = round(r.peak_rss_mb, 1);
  out.replay_stream = { ...r, wall_s: round(r.wall_s, 2), lines_per_s: Math.round(r.lines_per_s), mb_per_s: round(r.mb_per_s, 1), peak_rss_mb: round(r.peak_rss_mb, 1), trace: trace.path };
  log(
    `replay stream ${(r.lines_per_s / 1e6).toFixed(2)} M lines/s (${r.lines} lines, ${(r.bytes / 1e6).toFixed(0)} MB in ${r.wall_s.toFixed(1)} s of wall time, ` +
      `${r.mb_per_s.toFixed(0)} MB/s), peak RSS ${r.peak_rss_mb.toFixed(0)} MB${r.ok ? '' : ' — THE REPLAY DID NOT SUCCEED'}`,
  );
}

async function workersPart(quick: boolean, cycles: number, out: Report, log: Log): Promise<void> {
  if (!sharedMemoryAvailable()) {
    out.workers = null;
    out.workers_reason = 'SharedArrayBuffer is not available';
    return;
  }
  // Loaded only when measured: it starts worker threads (Node only).
  const { runWorkerThroughput, runWorkerStress } = await import('./workers.ts');
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

/** Where each target of the performance section stands. */
function targets(out: Report): Record<string, { met: boolean | null; note: string }> {
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
  if (typeof out.replay_stream_lines_per_s === 'number') {
    t.replay_stream = { met: out.replay_stream_lines_per_s >= 5e6, note: `${(out.replay_stream_lines_per_s / 1e6).toFixed(2)} M lines/s of wall time (target >= 5 M)` };
    t.replay_rss = { met: (out.replay_peak_rss_mb as number) < 200, note: `${String(out.replay_peak_rss_mb)} MB peak RSS (target < 200 MB)` };
  }
  if (typeof out.snapshot_ms === 'number' && typeof out.restore_ms === 'number') {
    const sum = out.snapshot_ms + out.restore_ms;
    t.snapshot_restore = { met: sum < 100, note: `${round(sum, 2)} ms (target < 100 ms; raw table copy)` };
  }
  return t;
}
