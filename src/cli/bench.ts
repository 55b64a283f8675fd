/**
 * `xive bench`: the options and help of the benchmark command. The benchmarks themselves live in
 * bench/ (see bench/README.md), in the repository and not in the package, and are loaded only
 * when the command runs, so that nothing else depends on them. With --json the last line of
 * standard output is one JSON object with every number; progress goes to standard error.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse, intOption, UsageFailure } from './args.ts';
import { packageFile } from './package-files.ts';
import type { Io } from './replay.ts';

/** The parts of the benchmark run (bench/run.ts). */
export type BenchPart = 'cycle' | 'replay' | 'snapshot' | 'workers';

/**
 * What bench/run.ts exports, as this command calls it. The benchmarks are TypeScript outside
 * src/, loaded by path at run time, so the type is stated here; test/package/bench-module.test.ts
 * checks that bench/run.ts matches it.
 */
export interface BenchModule {
  runBench(
    opts: { json: boolean; quick: boolean; cycles: number; runs: number; parts: readonly BenchPart[]; c: boolean; cSource?: string },
    io: { out(s: string): void; err(s: string): void },
  ): Promise<number>;
}

/** Said, with exit status 2, where the benchmarks are not there: in an installed package. */
const NO_BENCH_MESSAGE =
  'xive bench: the benchmarks run from a checkout of the repository (clone it, npm ci, then npx xive bench); the installed package does not include bench/\n';

export const BENCH_HELP = `Usage: xive bench [--json] [--quick] [--cycles N] [--runs N] [--only PARTS] [--no-c] [--c-source FILE]

Measures the model and prints where it stands against its performance targets:
  cycle     one Linux-style interrupt through the guest entry points (ESB trigger store, TIMA ACK
            load, event-queue read, ESB SET_PQ_00 load, CPPR store) at 4096 sources / 4 vCPUs and
            1048576 sources / 4096 vCPUs, next to the C reference (bench/xive_cycle.c, compiled
            with gcc -O2 into a temporary directory), with the allocation per cycle
  replay    trace events per second replaying the reference captures (test/fixtures), and
            xive replay of a generated trace of 20 M lines (lines/s of wall time, peak RSS; the
            trace is made once, about 45 s, and kept in the temporary directory)
  snapshot  snapshot and restore time and heap size of the 1048576-source, 4096-vCPU machine
  workers   cycles per second with 1 and 2 worker threads sharing one controller

Options:
  --json           print one JSON object as the last line (progress goes to standard error)
  --quick          fewer and shorter runs (a smoke test, not a measurement)
  --cycles N       cycles per timed run (default 2000000)
  --runs N         timed runs per size; the best is kept (default 5)
  --only PARTS     comma-separated subset of: cycle, replay, snapshot, workers
  --no-c           do not build and run the C reference
  --c-source FILE  the C reference to build (default bench/xive_cycle.c)
  -h, --help       this help

Example:
  xive bench --json
`;

const PARTS: readonly BenchPart[] = ['cycle', 'replay', 'snapshot', 'workers'];

export async function benchCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(
    argv,
    {
      json: { type: 'boolean' },
      quick: { type: 'boolean' },
      cycles: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      'no-c': { type: 'boolean' },
      'c-source': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.out(BENCH_HELP);
    return 0;
  }
  const quick = values.quick === true;
  const cycles = intOption(values, 'cycles', 1000, 1e9, quick ? 20_000 : 2_000_000);
  const runs = intOption(values, 'runs', 1, 100, quick ? 2 : 5);
  let parts: BenchPart[] = [...PARTS];
  if (typeof values.only === 'string') {
    parts = values.only.split(',').map((p) => p.trim()) as BenchPart[];
    for (const p of parts) if (!PARTS.includes(p)) throw new UsageFailure(`--only takes ${PARTS.join(', ')}, got '${p}'`);
  }
  const run = packageFile('bench', 'run.ts');
  if (!existsSync(run)) {
    io.err(NO_BENCH_MESSAGE);
    return 2;
  }
  const { runBench } = await loadBench(run);
  return runBench({ json: values.json === true, quick, cycles, runs, parts, c: values['no-c'] !== true, cSource: values['c-source'] as string | undefined }, io);
}

/**
 * Loads bench/run.ts. Under tsx (the tests, or a checkout without a build) TypeScript loads as it
 * is; from the built command (dist/), tsx, a development dependency of the checkout, is
 * registered first, for this command only.
 */
async function loadBench(run: string): Promise<BenchModule> {
  if (!import.meta.url.endsWith('.ts')) {
    // A variable specifier: the bundler leaves the import to run time instead of bundling tsx.
    const tsxApi = 'tsx/esm/api';
    let tsx: { register(): unknown };
    try {
      tsx = (await import(tsxApi)) as { register(): unknown };
    } catch {
      throw new UsageFailure('the benchmarks need the development dependencies of the repository (npm ci)');
    }
    tsx.register();
  }
  return (await import(pathToFileURL(run).href)) as BenchModule;
}
