/**
 * `xive fuzz`: a seeded random campaign of guest and host operations against the model, checked
 * after every step against a reference model written from the spec, the table invariants and the
 * conservation ledger (src/fuzz). Exit status: 0 no failure (with a summary), 1 a failure (the
 * seed, the step, and a shrunk reproduction), 2 bad options.
 */
import { parse, intOption, enumOption, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import { IC_MODES } from '../spapr/cas.ts';
import { SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { DEFAULT_RAM_SIZE } from '../spapr/machine.ts';
import { startProgress } from './progress.ts';
import { runFuzz, type FuzzOptions, type FuzzResult } from '../fuzz/engine.ts';
import { defaultHostOps, type HostOperation } from '../fuzz/host-ops.ts';
import { describeOp, type Op } from '../fuzz/ops.ts';

export const FUZZ_HELP = `Usage: xive fuzz [--ops N] [--seed S] [--ic-mode xics|xive|dual] [--smp K] [--max-cpus M]
                 [--check-every F] [--shrink-seconds T] [--quiet]

Runs a seeded random sequence of guest operations (every hcall and RTAS call with random and
edge-case arguments, ESB and TIMA loads and stores at random offsets and sizes, event-queue
reads, device input, CPU hotplug, CAS, reset) and host operations (API misuse, and the host
operations plugged in) on the model, and checks after every step that no exception escaped,
every answer is the one the spec gives (a reference model written from the spec runs in
lockstep), the tables are well-formed, event-queue generation bits are consistent, and every
event is accounted for: let through by a source or coalesced in its PQ bits, then written to an
event queue or dropped for a reason the spec gives (XIVE); presented, rejected for a resend,
masked-pending or accepted by the guest (XICS).

Options:
  --ops N              operations to run (default 10000)
  --seed S             seed, 0..4294967295 (default: a random one, printed)
  --ic-mode M          ${IC_MODES.join(' | ')} (default dual)
  --smp K              vCPUs at start (default 2)
  --max-cpus M         possible vCPUs, room for hotplug (default K + 2, at most ${SPAPR_MAX_CPUS})
  --check-every F      compare every table entry every F steps (default 1000; the entries a
                       step touches are compared after every step)
  --shrink-seconds T   time spent shrinking a failing sequence (default 20; 0 = do not shrink)
  --quiet              no progress bar (there is none either when the output is not a terminal)
  -h, --help           this help

Exit status: 0 no failure, 1 a failure (seed, step and a minimal reproduction printed),
2 bad options.

Example:
  xive fuzz --ops 300000 --seed 42 --ic-mode dual --smp 2
`;

/** Everything the command needs besides argv; tests replace parts of it. */
export interface FuzzCommandHooks {
  hostOps?: readonly HostOperation[];
  /** Runs the campaign (tests substitute a model with a planted bug through this). */
  run?: (opts: FuzzOptions) => FuzzResult;
  randomSeed?: () => number;
}

export function fuzzCommand(argv: string[], io: Io): number {
  return runFuzzCommand(argv, io, {});
}

export function runFuzzCommand(argv: string[], io: Io, hooks: FuzzCommandHooks): number {
  try {
    return fuzz(argv, io, hooks);
  } catch (e) {
    if (e instanceof UsageFailure) {
      io.err(`xive fuzz: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function fuzz(argv: string[], io: Io, hooks: FuzzCommandHooks): number {
  const { values, positionals } = parse(argv, {
    ops: { type: 'string' },
    seed: { type: 'string' },
    'ic-mode': { type: 'string' },
    smp: { type: 'string' },
    'max-cpus': { type: 'string' },
    'check-every': { type: 'string' },
    'shrink-seconds': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(FUZZ_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageFailure(`fuzz takes no positional arguments, got '${positionals[0]}'`);
  const ops = intOption(values, 'ops', 1, 1_000_000_000, 10_000);
  const seed = intOption(values, 'seed', 0, 0xffff_ffff, (hooks.randomSeed ?? (() => Math.floor(Math.random() * 0x1_0000_0000)))());
  const icMode = enumOption(values, 'ic-mode', IC_MODES, 'dual');
  const smp = intOption(values, 'smp', 1, SPAPR_MAX_CPUS, 2);
  const maxCpus = intOption(values, 'max-cpus', smp, SPAPR_MAX_CPUS, Math.min(smp + 2, SPAPR_MAX_CPUS));
  const checkEvery = intOption(values, 'check-every', 1, 1_000_000, 1000);
  const shrinkSeconds = intOption(values, 'shrink-seconds', 0, 3600, 20);

  const shape = `--ic-mode ${icMode} --smp ${smp} --max-cpus ${maxCpus}`;
  io.out(`xive fuzz: ${ops} operations, seed ${seed}, ${shape}\n`);
  const t0 = performance.now();
  const bar = startProgress(io, { total: ops, quiet: values.quiet === true, format: '{value}/{total} operations | {rate}/s | {eta_formatted} left', fields: { rate: 0 } });
  const run = hooks.run ?? runFuzz;
  const hostOps = hooks.hostOps ?? defaultHostOps();
  const describe = (op: Op) => describeOp(op, (h) => hostOps.find((o) => o.name === h.name)?.describe?.(h.args) ?? `host ${h.name}`);
  const r = run({
    ops,
    seed,
    icMode,
    smp,
    maxCpus,
    ramSize: DEFAULT_RAM_SIZE,
    fullCheckEvery: checkEvery,
    hostOps,
    shrink: shrinkSeconds > 0,
    shrinkMs: shrinkSeconds * 1000,
    progressEvery: 10_000,
    onProgress: (n) => bar.update(n, { rate: Math.round(n / Math.max(1e-3, (performance.now() - t0) / 1000)) }),
  });
  bar.stop();

  if (r.failure !== undefined) {
    const f = r.failure;
    io.out(`\nFAILURE at step ${f.step + 1} of seed ${seed} (${shape})\n`);
    io.out(`  operation: ${describe(f.op)}\n`);
    io.out(`  ${f.kind} / ${f.what}: ${indent(f.message)}\n`);
    io.out(`  again: xive fuzz --ops ${f.step + 1} --seed ${seed} ${shape}\n`);
    const rep = r.reproduction;
    if (rep !== undefined) {
      io.out(`\nminimal reproduction (${rep.ops.length} operation${rep.ops.length === 1 ? '' : 's'}, fails at the last one with ${rep.failure.kind} / ${rep.failure.what}):\n`);
      rep.ops.forEach((op, i) => io.out(`  ${String(i + 1).padStart(4)}. ${describe(op)}\n`));
      io.out(`  ${indent(rep.failure.message)}\n\nas a program:\n${rep.code.replace(/^/gm, '  ')}\n`);
    }
    return 1;
  }

  const secs = r.ms / 1000;
  io.out(`no failure: ${r.steps} operations in ${secs.toFixed(1)} s (${Math.round(r.steps / Math.max(secs, 1e-3))} per second)\n`);
  io.out(`operations: ${[...r.opCounts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  io.out('where every event went (balanced after every step):\n');
  for (const line of r.ledger.summary()) io.out(`${line}\n`);
  return 0;
}

function indent(s: string): string {
  return s.replace(/\n/g, '\n    ');
}
