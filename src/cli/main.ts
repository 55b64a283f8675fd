/**
 * The `xive` command line: a thin dispatcher over the library. Every command validates its
 * options; bad input ends with a one-line message and exit status 2, never a stack trace.
 */
import { UsageFailure } from './args.ts';
import type { Io } from './replay.ts';

/** A command's entry point and help text, from its own module. */
interface Command {
  run: (argv: string[], io: Io) => number | Promise<number>;
  help: string;
}

// Each command's module (and the part of the library it uses) is loaded only when that command
// runs: `xive --help` and a command's first output do not wait for the whole tool to be compiled.
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  bench: { load: async () => { const m = await import('./bench.ts'); return { run: m.benchCommand, help: m.BENCH_HELP }; }, summary: 'measure the interrupt cycle against the C reference, replay speed, snapshot/restore, workers (--json)' },
  demo: { load: async () => { const m = await import('./demo.ts'); return { run: m.demoCommand, help: m.DEMO_HELP }; }, summary: 'run a pseries machine with a reference guest driver, print statistics and info pic' },
  dt: { load: async () => { const m = await import('./dt.ts'); return { run: m.dtCommand, help: m.DT_HELP }; }, summary: 'print the interrupt-controller parts of the pseries device tree (DTS or DTB)' },
  fuzz: { load: async () => { const m = await import('./fuzz.ts'); return { run: m.fuzzCommand, help: m.FUZZ_HELP }; }, summary: 'seeded random guest and host operations, checking every answer and invariant' },
  monitor: { load: async () => { const m = await import('./monitor.ts'); return { run: m.monitorCommand, help: m.MONITOR_HELP }; }, summary: 'HMP-like console: info pic, info irq, hcalls, MMIO, device interrupts, snapshots' },
  serve: { load: async () => { const m = await import('./serve.ts'); return { run: m.serveCommand, help: m.SERVE_HELP }; }, summary: 'live web view of a machine: sources, routes, event queues, thread contexts; pause, step, trigger' },
  replay: { load: async () => { const m = await import('./replay.ts'); return { run: m.replayCommand, help: m.REPLAY_HELP }; }, summary: 'replay a QEMU 7.2 trace log on the model and check every recorded value' },
  'qemu-stream': { load: async () => { const m = await import('./qemu-stream.ts'); return { run: m.qemuStreamCommand, help: m.QEMU_STREAM_HELP }; }, summary: 'read a QEMU 7.2 migration stream: sections, interrupt state, diff, prune' },
};

export const MAIN_HELP = `xive — an exact model of the XIVE and XICS interrupt controllers of pseries (sPAPR) machines

Usage: xive <command> [options]     (xive <command> --help for its options)

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(Math.max(...Object.keys(COMMANDS).map((k) => k.length)))}  ${c.summary}`)
  .join('\n')}

Examples:
  xive demo --smp 4 --ic-mode xive
  xive replay test/fixtures/qemu/xive-smp2.trace --smp 2 --ic-mode xive --expect-pic test/fixtures/qemu/xive-smp2.pic
  xive dt --ic-mode dual --smp 2
  xive monitor --load-qemu guest.stream -c 'info pic'
`;

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: process.stdout.isTTY === true,
  outBytes: (b) => process.stdout.write(b),
};

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    if (cmd === 'help' && rest[0] !== undefined && COMMANDS[rest[0]] !== undefined) io.out((await COMMANDS[rest[0]]!.load()).help);
    else io.out(MAIN_HELP);
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  if (c === undefined) {
    io.err(`xive: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')}; see xive --help)\n`);
    return 2;
  }
  try {
    return await (await c.load()).run(rest, io);
  } catch (e) {
    if (e instanceof UsageFailure) {
      io.err(`xive ${cmd}: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    io.err(`xive ${cmd}: internal error: ${err.message}\n`);
    if (process.env.XIVE_DEBUG) io.err(`${err.stack}\n`);
    return 3;
  }
}

/**
 * The process entry (bin/xive.mjs): runs `main` on the process arguments and sets the exit
 * status. A reader that goes away (`xive demo | head -1`) is not an error of the command: the
 * output just stops, quietly, with the status the command would have had so far.
 */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  process.exitCode = await main(argv);
}
