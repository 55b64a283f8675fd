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
import { buildCycleRig, cycleLayout, cycleRamSize, expectedCheck } from "./cycle.js";
import { allocateSharedTables } from "../src/spapr/shared-tables.js";
import { FlatGuestMemory } from "../src/ports/memory.js";
/** The tsx loader's API, which a worker registers before importing TypeScript. */
function tsxApiUrl() {
    try {
        return import.meta.resolve('tsx/esm/api');
    }
    catch {
        return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
    }
}
const WORKER_URL = new URL('./worker.ts', import.meta.url).href;
function startWorker(job) {
    const code = `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
    const worker = new Worker(code, { eval: true, workerData: job });
    const done = new Promise((resolve, reject) => {
        worker.once('message', (r) => resolve(r));
        worker.once('error', reject);
        worker.once('exit', (code) => {
            if (code !== 0)
                reject(new Error(`worker exited with code ${code}`));
        });
    });
    return { worker, done };
}
/**
 * One machine of `sources` sources and `vcpus` vCPUs in shared memory, split into `workers`
 * lanes; each worker runs `cycles` cycles on its lane after `warmup` unmeasured ones.
 */
export async function runWorkerThroughput(workers, sources, vcpus, cycles, warmup = Math.min(cycles, 200_000)) {
    const tables = allocateSharedTables(cycleLayout(sources, vcpus).nrIrqs, vcpus);
    const ram = new SharedArrayBuffer(cycleRamSize(vcpus));
    buildCycleRig({ sources, vcpus, memory: new FlatGuestMemory(ram), buffers: tables, lanes: workers });
    const barrier = new Int32Array(new SharedArrayBuffer(8));
    const started = [];
    for (let w = 0; w < workers; w++) {
        const job = { mode: 'throughput', sources, vcpus, lanes: workers, lane: w, warmup, cycles, tables, ram, barrier };
        started.push(startWorker(job));
    }
    try {
        // All workers warmed up and waiting: release them together.
        for (;;) {
            const ready = Atomics.load(barrier, 0);
            if (ready === workers)
                break;
            await new Promise((r) => setTimeout(r, 5));
        }
        Atomics.store(barrier, 1, 1);
        Atomics.notify(barrier, 1);
        const reports = await Promise.all(started.map((s) => s.done));
        const perLane = sources / workers;
        let ok = true;
        reports.forEach((r, w) => {
            if (r.delivered !== warmup + cycles || r.check !== expectedCheck(perLane, warmup + cycles, w * perLane))
                ok = false;
        });
        const slowest = Math.max(...reports.map((r) => r.ns));
        const mean = reports.reduce((a, r) => a + r.ns, 0) / reports.length;
        return { workers, sources, vcpus, cycles: cycles * workers, cycles_per_s: (cycles * workers) / (slowest / 1e9), cycle_ns: mean / cycles, ok };
    }
    finally {
        await Promise.all(started.map((s) => s.worker.terminate()));
    }
}
/**
 * `workers` workers, `sources` sources on `vcpus` vCPUs, each source triggered `rounds` times by
 * a worker that is not always the one handling it (see bench/worker.ts).
 */
export async function runWorkerStress(workers, sources, vcpus, rounds, stallMs = 2000) {
    if (vcpus % workers !== 0)
        throw new RangeError('vcpus must be a multiple of workers');
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
        const job = { mode: 'stress', sources, vcpus, workers, me, rounds, tables, ram, inflight, triggers, deliveries, totals, stallMs };
        started.push(startWorker(job));
    }
    try {
        const reports = await Promise.all(started.map((s) => s.done));
        const mismatched = [];
        let t = 0;
        let d = 0;
        for (let s = 0; s < sources; s++) {
            t += triggers[s];
            d += deliveries[s];
            if (triggers[s] !== deliveries[s] || triggers[s] !== rounds)
                mismatched.push({ source: s, triggers: triggers[s], deliveries: deliveries[s] });
        }
        return {
            workers,
            sources,
            rounds,
            triggers: t,
            deliveries: d,
            mismatched,
            unknownEntries: totals[1],
            stalled: reports.some((r) => r.stalled),
            ms: performance.now() - t0,
        };
    }
    finally {
        await Promise.all(started.map((s) => s.worker.terminate()));
    }
}
//# sourceMappingURL=workers.js.map