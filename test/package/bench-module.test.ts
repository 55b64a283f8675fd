/**
 * `xive bench` loads bench/run.ts by path when it runs (bench/ is in the repository, not in the
 * package): what that module exports must be what the command calls. The assignment below fails
 * the type check (npm run typecheck) if runBench's signature drifts from BenchModule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as run from '../../bench/run.ts';
import type { BenchModule } from '../../src/cli/bench.ts';

const bench: BenchModule = run;

test('bench/run.ts provides runBench as the bench command calls it', () => {
  assert.equal(typeof bench.runBench, 'function');
});
