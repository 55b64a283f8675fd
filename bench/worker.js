/**
 * Body of the worker threads started by bench/workers.ts. Each worker joins the controller whose
 * tables the main thread set up in shared memory (SpaprMachine with `attach`) and runs vCPUs of
 * its own through the guest entry points, concurrently with the other workers:
 *
 * - 'throughput': the interrupt cycle of bench/cycle.ts on the worker's lane (its own sources
 *   and vCPUs), started by a barrier so that all workers run at the same time;
 * - 'stress': every worker triggers sources taken by the other worker's vCPUs as well as its own,
 *   and handles the interrupts of its own vCPUs as Linux does (ACK, drain the queue, EOI with
 *   SET_PQ_00 and a new trigger when Q was set, CPPR back to 0xFF). Triggers race EOIs on the
 *   same PQ bits, two workers enqueue into the same event queue, and presentations race ACKs on
 *   the same thread context; the main thread then checks that every trigger gave one delivery.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildCycleRig, runCycles, esbEoi, esbPage, CYCLE_EISN_BASE, TM_ACK_OS, TM_CPPR_OS } from "./cycle.js";
import { FlatGuestMemory } from "../src/ports/memory.js";
function throughput(job) {
    const rig = buildCycleRig({
        sources: job.sources,
        vcpus: job.vcpus,
        memory: new FlatGuestMemory(job.ram),
        buffers: job.tables,
        attach: true,
        lanes: job.lanes,
        lane: job.lane,
    });
    runCycles(rig, 0, job.warmup);
    Atomics.add(job.barrier, 0, 1);
    Atomics.notify(job.barrier, 0);
    Atomics.wait(job.barrier, 1, 0);
    const t0 = performance.now();
    runCycles(rig, job.warmup, job.cycles);
    const ns = (performance.now() - t0) * 1e6;
    return { delivered: rig.delivered, check: rig.check, ns };
}
function stress(job) {
    const { sources, vcpus, workers, me, rounds } = job;
    const mem = new FlatGuestMemory(job.ram);
    const rig = buildCycleRig({ sources, vcpus, memory: mem, buffers: job.tables, attach: true });
    const m = rig.machine;
    // Source s is taken by vCPU s % vcpus, whose interrupts worker (vCPU % workers) handles; it is
    // triggered by worker floor(s / vcpus) % workers, so that each queue gets events from both.
    const mine = [];
    for (let s = 0; s < sources; s++)
        if (Math.floor(s / vcpus) % workers === me)
            mine.push(s);
    const myCpus = [];
    for (let c = 0; c < vcpus; c++)
        if (c % workers === me)
            myCpus.push(c);
    const produced = new Int32Array(sources);
    const storeCpu = myCpus[0];
    let left = mine.length * rounds;
    let last = performance.now();
    const service = (c) => {
        let did = false;
        for (;;) {
            const ack = m.mmioRead(c, TM_ACK_OS, 2);
            if ((ack & 0x8000) === 0)
                return did;
            did = true;
            for (;;) {
                const w = mem.read32(rig.qpage[c] + 4 * rig.idx[c]);
                if (w >>> 31 === rig.toggle[c])
                    break;
                const ni = (rig.idx[c] + 1) & rig.qmask;
                rig.idx[c] = ni;
                if (ni === 0)
                    rig.toggle[c] = rig.toggle[c] ^ 1;
                const s = (w & 0x7fff_ffff) - CYCLE_EISN_BASE;
                if (s < 0 || s >= sources) {
                    Atomics.add(job.totals, 1, 1);
                    continue;
                }
                Atomics.add(job.deliveries, s, 1);
                const lisn = rig.firstLisn + s;
                const old = m.mmioRead(c, esbEoi(lisn), 8);
                if ((old & 1) !== 0)
                    m.mmioWrite(c, esbPage(lisn), 8, 0, 0);
                Atomics.sub(job.inflight, s, 1);
                Atomics.add(job.totals, 0, 1);
            }
            m.mmioWrite(c, TM_CPPR_OS, 1, 0xff);
        }
    };
    const total = sources * rounds;
    for (;;) {
        let progress = false;
        for (let k = 0; k < mine.length && left > 0; k++) {
            const s = mine[k];
            if (produced[s] >= rounds || Atomics.load(job.inflight, s) >= 2)
                continue;
            Atomics.add(job.inflight, s, 1);
            Atomics.add(job.triggers, s, 1);
            produced[s] = produced[s] + 1;
            left--;
            m.mmioWrite(storeCpu, esbPage(rig.firstLisn + s), 8, 0, 0);
            progress = true;
        }
        for (const c of myCpus)
            if (service(c))
                progress = true;
        if (left === 0 && Atomics.load(job.totals, 0) >= total)
            return { produced: mine.length * rounds, stalled: false };
        const now = performance.now();
        if (progress)
            last = now;
        else if (now - last > job.stallMs)
            return { produced: mine.length * rounds - left, stalled: true };
    }
}
const job = workerData;
parentPort.postMessage(job.mode === 'throughput' ? throughput(job) : stress(job));
//# sourceMappingURL=worker.js.map