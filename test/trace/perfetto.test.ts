/**
 * Perfetto export of a corpus replay: valid Chrome Trace Event JSON with one track per vCPU plus
 * the sources track, an instant per trigger, a slice per handled interrupt, queue-depth counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayTrace } from '../../src/replay/replay.ts';
import { PerfettoSink } from '../../src/trace-export/perfetto.ts';
import { capture, captureText } from '../support/captures.ts';

function exportOf(name: string) {
  const text = captureText(name, 'trace');
  const sink = new PerfettoSink();
  const r = replayTrace(text, { ...capture(name).machine, tap: sink });
  assert.equal(r.status, 'ok');
  const json = JSON.parse(sink.serialize()) as { traceEvents: { name: string; ph: string; tid: number; args?: Record<string, unknown>; dur?: number }[] };
  const count = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
  return { json, count };
}

test('XIVE replay: tracks per vCPU, one slice per notification, one instant per trigger store', () => {
  const { json, count } = exportOf('xive-smp2');
  const ev = json.traceEvents;
  const names = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
  assert.deepEqual(names.sort(), ['sources', 'vCPU 0', 'vCPU 1']);
  assert.equal(ev.filter((e) => e.ph === 'X').length, count(/^xive_tctx_notify /));
  const triggers = captureText('xive-smp2', 'trace')
    .split('\n')
    .filter((l) => l.startsWith('xive_source_esb_write @0x') && (parseInt(l.split('@0x')[1]!, 16) & 0x10000) === 0).length;
  assert.ok(triggers > 0);
  assert.equal(ev.filter((e) => e.ph === 'i').length, triggers);
  assert.ok(ev.filter((e) => e.ph === 'X').every((e) => (e.dur ?? 0) >= 1));
  assert.ok(ev.some((e) => e.ph === 'C' && e.name === 'queue depth vCPU 1'));
});

test('XICS replay: one slice per IPI from check to EOI', () => {
  const { json, count } = exportOf('xics-smp2');
  assert.equal(json.traceEvents.filter((e) => e.ph === 'X').length, count(/^xics_icp_eoi /));
});
