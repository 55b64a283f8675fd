/**
 * `xive demo`: builds a pseries machine, boots the reference guest driver through CAS, runs a
 * seeded workload of IPIs, MSIs and LSIs, then prints statistics and `info pic`.
 */
import { parse, intOption, enumOption, UsageFailure } from './args.ts';
import { writeText, type Io } from './replay.ts';
import { PerfettoSink } from '../trace/perfetto.ts';
import { SpaprMachine } from '../spapr/machine.ts';
import { SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';
import { IC_MODES } from '../spapr/cas.ts';
import { createGuest, defaultGuestMode, GUEST_MODES, type GuestMode } from '../guest/guest.ts';
import { runGuestWorkload } from '../guest/xics-workload.ts';
import { infoPic } from '../monitor/info-pic.ts';

export const DEMO_HELP = `Usage: xive demo [--smp N] [--ic-mode xics|xive|dual] [--guest xics|xive] [--events K | --seconds S] [--seed X] [--perfetto FILE]

Builds a pseries machine with N vCPUs, boots a reference guest driver (what Linux does: CAS,
then XIVE event queues, IPIs and sources, or XICS CPPRs, IPIs and RTAS source setup) and runs a seeded mix of IPIs, device MSIs and LSIs through
the model's guest-facing entry points (hcalls, ESB and TIMA MMIO). Prints the statistics
(raised, delivered, coalesced, lost — always 0) per vCPU and per source, then \`info pic\`.

Options:
  --smp N        vCPUs (default 4, at most ${SPAPR_MAX_CPUS})
  --ic-mode M    interrupt controller mode: xics, xive or dual (default xive)
  --guest G      the model the guest asks for at CAS (dual: xive unless xics is given, as Linux)
  --events K     interrupts to raise (default 20000)
  --seconds S    run batches of events for S seconds instead of a fixed count
  --seed X       workload seed (default 1): the same seed gives the same run
  --perfetto F   write the interrupt activity as Chrome Trace Event JSON (ui.perfetto.dev)
  -h, --help     this help

Example:
  xive demo --smp 4 --ic-mode xive --events 50000 --seed 7
`;

function pct(a: number, b: number): string {
  return b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`;
}

export function demoCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse(argv, {
    smp: { type: 'string' },
    'ic-mode': { type: 'string' },
    events: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    perfetto: { type: 'string' },
    guest: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, false);
  void positionals;
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const smp = intOption(values, 'smp', 1, SPAPR_MAX_CPUS, 4);
  const icMode = enumOption(values, 'ic-mode', IC_MODES, 'xive');
  const mode: GuestMode = enumOption(values, 'guest', GUEST_MODES, defaultGuestMode(icMode));
  if ((icMode === 'xics' && mode === 'xive') || (icMode === 'xive' && mode === 'xics')) {
    throw new UsageFailure(`--guest ${mode} cannot run on an ic-mode ${icMode} machine (QEMU would stop it at CAS)`);
  }
  const seed = intOption(values, 'seed', 0, 0xffff_ffff, 1);
  if (values.events !== undefined && values.seconds !== undefined) throw new UsageFailure('give either --events or --seconds, not both');
  const seconds = values.seconds !== undefined ? intOption(values, 'seconds', 1, 3600) : 0;
  const events = intOption(values, 'events', 1, 1e9, 20000);

  const machine = new SpaprMachine({ smp, icMode, devices: 'default' });
  const perfetto = typeof values.perfetto === 'string' ? new PerfettoSink() : null;
  if (perfetto !== null) machine.setTrace(perfetto);
  const guest = createGuest(machine, mode);
  guest.boot();
  io.out(
    `pseries machine: ${smp} vCPU${smp > 1 ? 's' : ''}, ic-mode ${icMode}; the guest negotiated ${mode.toUpperCase()} at CAS` +
      (mode === 'xive' ? ' and configured its event queues\n' : ' and opened its CPPRs\n'),
  );

  const t0 = performance.now();
  let eventsRun = 0;
  const add = (w: { events: number }) => {
    eventsRun += w.events;
  };
  const tty = io.tty === true;
  if (seconds > 0) {
    let batch = 0;
    while (performance.now() - t0 < seconds * 1000) {
      add(runGuestWorkload(machine, guest, { events: 5000, seed: (seed + batch++) >>> 0 }));
      if (tty) io.out(`\r  running… ${Math.min(seconds, Math.floor((performance.now() - t0) / 1000))}/${seconds} s, ${eventsRun} events`);
    }
    if (tty) io.out('\n');
  } else {
    const step = Math.max(1000, Math.ceil(events / 50));
    let done = 0;
    let batch = 0;
    while (done < events) {
      const n = Math.min(step, events - done);
      add(runGuestWorkload(machine, guest, { events: n, seed: (seed + batch++) >>> 0 }));
      done += n;
      if (tty) io.out(`\r  [${'#'.repeat(Math.round((30 * done) / events)).padEnd(30, '.')}] ${done}/${events}`);
    }
    if (tty) io.out('\n');
  }
  const ms = performance.now() - t0;
  // The guest's counters run from boot, and only the workload raised interrupts.
  const s = guest.stats();
  io.out(`\nstatistics (${eventsRun} events in ${ms.toFixed(0)} ms, seed ${seed}):\n`);
  io.out(`  raised ${s.raised}  delivered ${s.delivered}  coalesced ${s.coalesced}  LSI re-presented ${s.represented}  lost ${s.lost}\n`);
  io.out('  vCPU   raised  delivered  coalesced  spurious\n');
  s.perCpu.forEach((c, i) => {
    if (!machine.hasCpu(i)) return;
    io.out(`  ${String(i).padStart(4)} ${String(c.raised).padStart(8)} ${String(c.delivered).padStart(10)} ${String(c.coalesced).padStart(10)} ${String(c.spurious).padStart(9)}\n`);
  });
  io.out(`  ${mode === 'xive' ? 'LISN    ' : 'IRQ     '}  kind  vCPU  ${mode === 'xive' ? 'EISN' : 'XISR'}    raised  delivered  coalesced  share\n`);
  for (const [lisn, src] of [...s.perSource].sort((a, b) => a[0] - b[0])) {
    if (src.raised === 0 && src.delivered === 0) continue;
    io.out(
      `  ${lisn.toString(16).padStart(8, '0')}  ${src.kind.padEnd(4)} ${String(src.cpu).padStart(5)}  ${src.eisn.toString(16).padStart(4, '0')} ${String(src.raised).padStart(9)} ${String(src.delivered).padStart(10)} ${String(src.coalesced).padStart(10)}  ${pct(src.raised, s.raised).padStart(5)}\n`,
    );
  }
  io.out(`\ninfo pic:\n${infoPic(machine)}`);
  if (perfetto !== null) writeText(values.perfetto as string, perfetto.serialize(), io);
  return s.lost === 0 ? 0 : 1;
}
