/**
 * Damaged traces through `xive replay`: corpus logs cut anywhere, with bytes flipped, binary
 * garbage put in, event names changed, numbers too large for their field, and gzip files cut or
 * flipped, by the thousand. Every one ends with exit 0, 1 (a divergence, named at its line) or 2
 * (unusable input) and then one line, FILE:LINE: what is wrong; never a stack trace or an
 * internal error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCli } from '../support/cli.ts';
import { captureArgs, captureLines } from '../support/captures.ts';

/** A small deterministic generator (mulberry32): the same mutants on every run. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

/** Logs to damage: the start of captures of each controller (short, so thousands run in seconds). */
const CORPUS = [
  ['xive-smp1', 1000],
  ['xive-smp2', 150],
  ['xics-smp2', 150],
  ['p72-dual-reset', 150],
] as const;

/** Mutants of each kind per log: 4 logs x 6 kinds x 42 = 1,008 damaged traces. */
const PER_KIND = 42;

const enc = new TextEncoder();

/** Numbers no field can hold (64-bit fields and 32-bit ones alike). */
const HUGE = ['0x10000000000000000', '0xffffffffffffffffff', '99999999999999999999', '4294967296', '-1'];
const NAMES = ['xive_frobnicate', 'spapr_xive_nonexistent', 'xive_tctx_accept', 'xics_icp_eoi', 'Xive_source_esb_read', 'xive_source_esb_readx'];

type Mutate = (text: string, r: (n: number) => number) => Uint8Array;

const MUTATIONS: Record<string, Mutate> = {
  cut: (t, r) => enc.encode(t).subarray(0, r(t.length + 1)),
  flip: (t, r) => {
    const b = enc.encode(t);
    for (let k = 1 + r(3); k > 0; k--) b[r(b.length)]! ^= 1 + r(255);
    return b;
  },
  garbage: (t, r) => {
    const b = enc.encode(t);
    const at = r(b.length + 1);
    const junk = Uint8Array.from({ length: 1 + r(64) }, () => r(256));
    const out = new Uint8Array(b.length + junk.length);
    out.set(b.subarray(0, at));
    out.set(junk, at);
    out.set(b.subarray(at), at + junk.length);
    return out;
  },
  name: (t, r) => {
    const lines = t.split('\n');
    const i = r(lines.length - 1);
    lines[i] = lines[i]!.replace(/^[a-z0-9_]+/, NAMES[r(NAMES.length)]!);
    return enc.encode(lines.join('\n'));
  },
  huge: (t, r) => {
    const lines = t.split('\n');
    const i = r(lines.length - 1);
    const nums = [...lines[i]!.matchAll(/0x[0-9a-f]+|\b\d+\b/g)];
    if (nums.length > 0) {
      const m = nums[r(nums.length)]!;
      lines[i] = lines[i]!.slice(0, m.index) + HUGE[r(HUGE.length)]! + lines[i]!.slice(m.index! + m[0].length);
    }
    return enc.encode(lines.join('\n'));
  },
  gzip: (t, r) => {
    const z = new Uint8Array(gzipSync(t));
    if (r(2) === 0) return z.subarray(0, 2 + r(z.length - 2));
    z[10 + r(z.length - 10)]! ^= 1 + r(255);
    return z;
  },
};

test('damaged traces by the thousand: exit 0, 1 or 2 and one line FILE:LINE: what is wrong, never a crash', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xive-bad-trace-'));
  try {
    const file = join(dir, 'damaged.trace');
    const oneLine = new RegExp(`^xive replay: (${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+): unusable trace at line \\2: \\S.*|unusable trace '.*': \\S.*)\n$`);
    const tally = new Map<string, number>();
    const r = rng(14);
    let runs = 0;
    for (const [name, n] of CORPUS) {
      const text = captureLines(name).slice(0, n).join('\n') + '\n';
      const lines = n + 1;
      const args = captureArgs(name);
      for (const [kind, mutate] of Object.entries(MUTATIONS)) {
        for (let k = 0; k < PER_KIND; k++) {
          writeFileSync(file, mutate(text, r));
          const out = await runCli('replay', file, ...args, '--quiet');
          runs++;
          const what = `${name} ${kind} #${k}: exit ${out.code}, ${JSON.stringify(out.err)}`;
          assert.ok(out.code === 0 || out.code === 1 || out.code === 2, what);
          if (out.code === 2) {
            const m = oneLine.exec(out.err);
            assert.ok(m !== null, what);
            if (m[2] !== undefined) assert.ok(Number(m[2]) >= 1 && Number(m[2]) <= lines + 64, what);
          } else {
            assert.equal(out.err, '', what);
            if (out.code === 1) assert.match(out.out, new RegExp(`DIVERGENCE at .*damaged\\.trace:\\d+\n`), what);
          }
          tally.set(`${kind} ${out.code}`, (tally.get(`${kind} ${out.code}`) ?? 0) + 1);
        }
      }
    }
    assert.equal(runs, CORPUS.length * Object.keys(MUTATIONS).length * PER_KIND);
    // The mutations do reach both verdicts.
    for (const kind of ['flip', 'garbage', 'huge', 'gzip']) assert.ok((tally.get(`${kind} 2`) ?? 0) > 0, `${kind}: ${JSON.stringify([...tally])}`);
    assert.ok((tally.get('flip 1') ?? 0) + (tally.get('name 1') ?? 0) > 0, JSON.stringify([...tally]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
