/**
 * `xive bench`: the options and help of the benchmark command. The benchmarks themselves live in
 * bench/ (see bench/README.md) and are loaded only when the command runs, so that nothing else in
 * the project depends on them. With --json the last line of standard output is one JSON object
 * with every number; progress goes to standard error.
 */
import { parse, intOption, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import type { BenchPart } from '../../bench/run.ts';

export const BENCH_HELP = `Usage: xive bench [--json] [--quick] [--cycles N] [--runs N] [--only PARTS] [--no-c] [--c-source FILE]

Measures the model and prints where it stands against its performance targets:
  cycle     one Linux-style interrupt through the guest entry points (ESB trigger store, TIMA ACK
            load, event-queue read, ESB SET_PQ_00 load, CPPR store) at 4096 sources / 4 vCPUs and
            1048576 sources / 4096 vCPUs, next to the C reference (bench/xive_cycle.c, compiled
            with gcc -O2 into a temporary directory), with the allocation per cycle
  replay    trace events per second replaying the reference captures (test/fixtures)
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
  const { runBench } = await import('../../bench/run.ts');
  return runBench({ json: values.json === true, quick, cycles, runs, parts, c: values['no-c'] !== true, cSource: values['c-source'] as string | undefined }, io);
}
