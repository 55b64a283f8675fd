/**
 * Replay throughput over the reference captures: every trace of test/fixtures/qemu and
 * test/fixtures/qemu-extra replayed with the options its test uses, each several times; the
 * rate is trace events (lines that are QEMU trace events) per second of replay, reading the
 * text included, over the best time of each trace.
 */
import type { IcMode } from '../spapr/cas.ts';
import { replayTrace } from '../replay/replay.ts';
import { parseTraceLine } from '../trace/parse.ts';

export interface CorpusTrace {
  /** Path below test/fixtures/, without ".trace". */
  readonly name: string;
  readonly smp: number;
  readonly maxCpus: number;
  readonly icMode: IcMode;
}

export const REPLAY_CORPUS: readonly CorpusTrace[] = [
  { name: 'qemu/xive-smp1', smp: 1, maxCpus: 1, icMode: 'xive' },
  { name: 'qemu/xive-smp2', smp: 2, maxCpus: 2, icMode: 'xive' },
  { name: 'qemu/xive-smp3-rng', smp: 3, maxCpus: 3, icMode: 'xive' },
  { name: 'qemu/xics-smp2', smp: 2, maxCpus: 2, icMode: 'xics' },
  { name: 'qemu-extra/xive-smp4-lsi', smp: 4, maxCpus: 4, icMode: 'xive' },
  { name: 'qemu-extra/xive-smp8', smp: 8, maxCpus: 8, icMode: 'xive' },
  { name: 'qemu-extra/xive-hotplug', smp: 2, maxCpus: 4, icMode: 'xive' },
  { name: 'qemu-extra/dual-xive', smp: 2, maxCpus: 2, icMode: 'dual' },
  { name: 'qemu-extra/dual-xics', smp: 2, maxCpus: 2, icMode: 'dual' },
  { name: 'qemu-extra/xics-smp2-rng', smp: 2, maxCpus: 2, icMode: 'xics' },
];

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
      const res = replayTrace(text, { smp: trace.smp, maxCpus: trace.maxCpus, icMode: trace.icMode });
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
