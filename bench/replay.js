/**
 * Replay throughput over the reference captures: every capture of the fixtures manifest
 * (test/fixtures/captures.json) replayed on the machine it was taken on, each several times; the
 * rate is trace events (lines that are QEMU trace events) per second of replay, reading the text
 * included, over the best time of each trace.
 */
import { readFileSync } from 'node:fs';
import { replayTrace } from "../src/replay/replay.js";
import { parseTraceLine } from "../src/trace/parse.js";
import { parse } from "../src/cli/args.js";
import { MACHINE_OPTIONS, machineSpecOf } from "../src/cli/machine-args.js";
const FIXTURES = new URL('../test/fixtures/', import.meta.url);
/** The captures of the fixtures manifest, in its order. */
export function replayCorpus() {
    const manifest = JSON.parse(readFileSync(new URL('captures.json', FIXTURES), 'utf8'));
    return manifest.captures.map((c) => ({ name: `${c.dir}/${c.name}`, spec: machineSpecOf(parse(c.args, MACHINE_OPTIONS, false).values) }));
}
/** The corpus with the text of each trace. */
export function readReplayCorpus() {
    return replayCorpus().map((trace) => ({ trace, text: readFileSync(new URL(`${trace.name}.trace`, FIXTURES), 'utf8') }));
}
/** Replays each trace `runs` times; throws if one does not replay cleanly. */
export function measureReplay(texts, runs) {
    const traces = [];
    for (const { trace, text } of texts) {
        let events = 0;
        for (const line of text.split('\n'))
            if (parseTraceLine(line.endsWith('\r') ? line.slice(0, -1) : line).kind === 'event')
                events++;
        let best = Infinity;
        let controller = 'xive';
        for (let r = 0; r < runs; r++) {
            const t0 = performance.now();
            const res = replayTrace(text, { spec: trace.spec });
            const ms = performance.now() - t0;
            if (res.status !== 'ok')
                throw new Error(`replay of ${trace.name} did not succeed: ${res.status} ${res.reason ?? JSON.stringify(res.divergence)}`);
            controller = res.machine?.activeController() ?? controller;
            best = Math.min(best, ms);
        }
        traces.push({ name: trace.name, events, ms: best, events_per_s: events / (best / 1000), controller });
    }
    const sum = (list) => ({ events: list.reduce((a, t) => a + t.events, 0), ms: list.reduce((a, t) => a + t.ms, 0) });
    const all = sum(traces);
    const xive = sum(traces.filter((t) => t.controller === 'xive'));
    const xics = sum(traces.filter((t) => t.controller === 'xics'));
    const rate = (s) => (s.ms > 0 ? s.events / (s.ms / 1000) : 0);
    return { traces, events: all.events, ms: all.ms, events_per_s: rate(all), xive_events_per_s: rate(xive), xics_events_per_s: rate(xics) };
}
//# sourceMappingURL=replay.js.map