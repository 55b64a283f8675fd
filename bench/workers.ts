/**
 * Multi-threaded use of the model (Node worker threads): the controller's tables and the guest
 * RAM live in SharedArrayBuffers set up by the main thread, and workers (bench/worker.ts) run
 * vCPUs on them at the same time, with the atomic updates the shared tables switch on.
 *
 * - runWorkerThroughput: interrupt cycles per second with 1..N workers, each on its own lane
 *   (its own sources and vCPUs of one machine), for the benchmark.
 * - runWorkerStress: two (or more) workers trigger each other's interrupts and handle their own;
 *   returns what the main thread found: every trigger must have given exactly one delivery.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { buildCycleRig, cycleLayout, cycleRamSize, expectedCheck } from './cycle.ts';
import { allocateSharedTables } from '../src/spapr/shared-tables.ts';
import { FlatGuestMemory } from '../src/ports/memory.ts';
import type { StressJob, StressReport, ThroughputJob, ThroughputReport, WorkerJob } from './worker.ts';

/** The tsx loader's API, which a worker registers before importing TypeScript. */
function tsxApiUrl(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  }
}

const WORKER_URL = new URL('./worker.ts', import.meta.url).href;

function startWorker<R>(job: WorkerJob): { worker: Worker; done: Promise<R> } {
  const code = `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
  const worker = new Worker(code, { eval: true, workerData: job });
  const done = new Promise<R>((resolve, reject) => {
    worker.once('message', (r: R) => resolve(r));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with code ${code}`));
    });
  });
  return { worker, done };
}

export interface WorkerThroughput {
  workers: number;
  sources: number;
  vcpus: number;
  cycles: number;
  /** Interrupt cycles per second, all workers together (wall time of the slowest). */
  cycles_per_s: number;
  /** Mean time of one cycle as one worker sees it. */
  cycle_ns: number;
  /** Every cycle delivered its event with the right EISN. */
  ok: boolean;
}

/**
 * One machine of `sources` sources and `vcpus` vCPUs in shared memory, split into `workers`
 * lanes; each worker runs `cycles` cycles on its lane after `warmup` unmeasured ones.
 */
export async function runWorkerThroughput(workers: number, sources: number, vcpus: number, cycles: number, warmup = Math.min(cycles, 200_000)): Promise<WorkerThroughput> {
  const tables = allocateSharedTables(cycleLayout(sources, vcpus).nrIrqs, vcpus);
  const ram = new SharedArrayBuffer(cycleRamSize(vcpus));
  buildCycleRig({ sources, vcpus, memory: new FlatGuestMemory(ram), buffers: tables, lanes: workers });
  const barrier = new Int32Array(new SharedArrayBuffer(8));
  const started = [];
  for (let w = 0; w < workers; w++) {
    const job: ThroughputJob = { mode: 'throughput', sources, vcpus, lanes: workers, lane: w, warmup, cycles, tables, ram, barrier };
    started.push(startWorker<ThroughputReport>(job));
  }
  try {
    // All workers warmed up and waiting: release them together.
    for (;;) {
      const ready = Atomics.load(barrier, 0);
      if (ready === workers) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    Atomics.store(barrier, 1, 1);
    Atomics.notify(barrier, 1);
    const reports = await Promise.all(started.map((s) => s.done));
    const perLane = sources / workers;
    let ok = true;
    reports.forEach((r, w) => {
      if (r.delivered !== warmup + cycles || r.check !== expectedCheck(perLane, warmup + cycles, w * perLane)) ok = false;
    });
    const slowest = Math.max(...reports.map((r) => r.ns));
    const mean = reports.reduce((a, r) => a + r.ns, 0) / reports.length;
    return { workers, sources, vcpus, cycles: cycles * workers, cycles_per_s: (cycles * workers) / (slowest / 1e9), cycle_ns: mean / cycles, ok };
  } finally {
    await Promise.all(started.map((s) => s.worker.terminate()));
  }
}

export interface StressResult {
  workers: number;
  sources: number;
  rounds: number;
  triggers: number;
  deliveries: number;
  /** Sources whose deliveries differ from their triggers (lost or duplicated events). */
  mismatched: { source: number; triggers: number; deliveries: number }[];
  /** Queue entries whose EISN is no source's. */
  unknownEntries: number;
  /** A worker stopped making progress (an event was lost for good). */
  stalled: boolean;
  ms: number;
}

/**
 * `workers` workers, `sources` sources on `vcpus` vCPUs, each source triggered `rounds` times by
 * a worker that is not always the one handling it (see bench/worker.ts).
 */
export async function runWorkerStress(workers: number, sources: number, vcpus: number, rounds: number, stallMs = 2000): Promise<StressResult> {
  if (vcpus % workers !== 0) throw new RangeError('vcpus must be a multiple of workers');
  const tables = allocateSharedTables(cycleLayout(sources, vcpus).nrIrqs, vcpus);
  const ram = new SharedArrayBuffer(cycleRamSize(vcpus));
  buildCycleRig({ sources, vcpus, memory: new FlatGuestMemory(ram), buffers: tables });
  const shared = () => new Int32Array(new SharedArrayBuffer(sources * 4));
  const inflight = shared();
  const triggers = shared();
  const deliveries = shared();
  const totals = new Int32Array(new SharedArrayBuffer(8));
  const t0 = performance.now();
  const started = [];
  for (let me = 0; me < workers; me++) {
    const job: StressJob = { mode: 'stress', sources, vcpus, workers, me, rounds, tables, ram, inflight, triggers, deliveries, totals, stallMs };
    started.push(startWorker<StressReport>(job));
  }
  try {
    const reports = await Promise.all(started.map((s) => s.done));
    const mismatched: StressResult['mismatched'] = [];
    let t = 0;
    let d = 0;
    for (let s = 0; s < sources; s++) {
      t += triggers[s]!;
      d += deliveries[s]!;
      if (triggers[s] !== deliveries[s] || triggers[s] !== rounds) mismatched.push({ source: s, triggers: triggers[s]!, deliveries: deliveries[s]! });
    }
    return {
      workers,
      sources,
      rounds,
      triggers: t,
      deliveries: d,
      mismatched,
      unknownEntries: totals[1]!,
      stalled: reports.some((r) => r.stalled),
      ms: performance.now() - t0,
    };
  } finally {
    await Promise.all(started.map((s) => s.worker.terminate()));
  }
}
