/**
 * Replay throughput over the reference captures: every capture of the fixtures manifest
 * (test/fixtures/captures.json) replayed on the machine it was taken on, each several times; the
 * rate is trace events (lines that are QEMU trace events) per second of replay, reading the text
 * included, over the best time of each trace.
 */
import { readFileSync } from 'node:fs';
import { replayTrace } from '../src/replay/replay.ts';
import { parseTraceLine } from '../src/trace/parse.ts';
import { parse } from '../src/cli/args.ts';
import { MACHINE_OPTIONS, machineSpecOf } from '../src/cli/machine-args.ts';
import type { MachineSpec } from '../src/spapr/machine-config.ts';

export interface CorpusTrace {
  /** Path below test/fixtures/, without ".trace" (folder/name). */
  readonly name: string;
  /** The machine it was taken on. */
  readonly spec: MachineSpec;
}

const FIXTURES = new URL('../test/fixtures/', import.meta.url);

/** One entry of the manifest, as far as the replay needs it (test/support/captures.ts reads it all). */
interface ManifestEntry {
  name: string;
  dir: string;
  /** The machine as options of the xive commands. */
  args: string[];
}

/** The captures of the fixtures manifest, in its order. */
export function replayCorpus(): CorpusTrace[] {
  const manifest = JSON.parse(readFileSync(new URL('captures.json', FIXTURES), 'utf8')) as { captures: ManifestEntry[] };
  return manifest.captures.map((c) => ({ name: `${c.dir}/${c.name}`, spec: machineSpecOf(parse(c.args, MACHINE_OPTIONS, false).values) }));
}

/** The corpus with the text of each trace. */
export function readReplayCorpus(): { trace: CorpusTrace; text: string }[] {
  return replayCorpus().map((trace) => ({ trace, text: readFileSync(new URL(`${trace.name}.trace`, FIXTURES), 'utf8') }));
}

export interface TraceReplayRate {
  name: string;
  /** Lines of the trace that are QEMU trace events. */
  events: number;
  /** Best replay time (ms). */
  ms: number;
  events_per_s: number;
  /** The controller the guest used (XICS logs pay QEMU's resend scan of every source). */
  controller: 'xive' | 'xics';
}

export interface ReplayRates {
  traces: TraceReplayRate[];
  events: number;
  ms: number;
  events_per_s: number;
  xive_events_per_s: number;
  xics_events_per_s: number;
}

/** Replays each trace `runs` times; throws if one does not replay cleanly. */
export function measureReplay(texts: readonly { trace: CorpusTrace; text: string }[], runs: number): ReplayRates {
  const traces: TraceReplayRate[] = [];
  for (const { trace, text } of texts) {
    let events = 0;
    for (const line of text.split('\n')) if (parseTraceLine(line.endsWith('\r') ? line.slice(0, -1) : line).kind === 'event') events++;
    let best = Infinity;
    let controller: 'xive' | 'xics' = 'xive';
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const res = replayTrace(text, { spec: trace.spec });
      const ms = performance.now() - t0;
      if (res.status !== 'ok') throw new Error(`replay of ${trace.name} did not succeed: ${res.status} ${res.reason ?? JSON.stringify(res.divergence)}`);
      controller = res.machine?.activeController() ?? controller;
      best = Math.min(best, ms);
    }
    traces.push({ name: trace.name, events, ms: best, events_per_s: events / (best / 1000), controller });
  }
  const sum = (list: TraceReplayRate[]) => ({ events: list.reduce((a, t) => a + t.events, 0), ms: list.reduce((a, t) => a + t.ms, 0) });
  const all = sum(traces);
  const xive = sum(traces.filter((t) => t.controller === 'xive'));
  const xics = sum(traces.filter((t) => t.controller === 'xics'));
  const rate = (s: { events: number; ms: number }) => (s.ms > 0 ? s.events / (s.ms / 1000) : 0);
  return { traces, events: all.events, ms: all.ms, events_per_s: rate(all), xive_events_per_s: rate(xive), xics_events_per_s: rate(xics) };
}
