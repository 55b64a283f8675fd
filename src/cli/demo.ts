/**
 * `xive demo`: builds a pseries machine, boots the reference guest driver through CAS, runs a
 * seeded workload of IPIs, MSIs and LSIs, then prints statistics and `info pic`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, intOption, enumOption, UsageFailure } from './args.ts';
import { MACHINE_HELP, MACHINE_OPTIONS, buildMachine, machineConfigOf, machineHelp } from './machine-args.ts';
import { DEFAULT_MACHINE_TYPE } from '../spapr/machine-types.ts';
import { receiveCheckpoint, sendCheckpoint } from './demo-migrate.ts';
import { readCheckpoint, writeCheckpoint, CheckpointError, type WorkloadProgress } from '../guest/checkpoint.ts';
import { SnapshotError } from '../migration/snapshot.ts';
import { writeText, type Io } from './replay.ts';
import { PerfettoSink } from '../trace-export/perfetto.ts';
import { SpaprMachine } from '../spapr/machine.ts';
import { IC_MODE_BACKENDS } from '../spapr/cas.ts';
import { createGuest, defaultGuestMode, GUEST_MODES, type GuestMode, type ReferenceGuest } from '../guest/guest.ts';
import { runGuestWorkload } from '../guest/workload.ts';
import { infoPic } from '../monitor/info-pic.ts';
import { TraceLogWriter } from '../replay/log-writer.ts';
import type { TraceEvent, TraceSink } from '../trace/events.ts';
import { TraceFile } from './trace-output.ts';
import { startProgress } from './progress.ts';

export const DEMO_HELP = `Usage: xive demo [machine options] [--guest xics|xive] [--events K | --seconds S] [--seed X] [--perfetto FILE] [--trace FILE]
       xive demo ... --at N (--checkpoint FILE | --migrate-to PORT)
       xive demo (--resume FILE | --listen PORT)

Builds a pseries machine of any configuration QEMU 7.2 builds, boots a reference guest driver
(what Linux does: CAS, then XIVE event queues, IPIs and sources, or XICS CPPRs, IPIs and RTAS
source setup) and runs a seeded mix of IPIs, device MSIs and LSIs through the model's
guest-facing entry points (hcalls, RTAS, ESB and TIMA MMIO). Prints the statistics (raised,
delivered, coalesced, lost — always 0) per vCPU and per source, then \`info pic\`.

vCPUs are numbered by CPU index (the vCPU rows, the vCPU column of the sources); the interrupt
controllers know each one by its vCPU id (server number), which differs when VSMT spaces the
cores out (vsmt=8, or the pseries-4.1 and older default): the ids are printed then, and an IPI
is listed under its LISN, the receiving vCPU's id.

${MACHINE_HELP}(default: --smp 4 --ic-mode xive; on a CPU model without XIVE, or with --machine,
the machine type's own ic-mode)

Options:
  --guest G      the model the guest asks for at CAS (dual: xive unless xics is given, as Linux)
  --events K     interrupts to raise (default 20000)
  --seconds S    run batches of events for S seconds instead of a fixed count
  --seed X       workload seed (default 1): the same seed gives the same run
  --perfetto F   write the interrupt activity as Chrome Trace Event JSON (ui.perfetto.dev)
  --trace F      write the run as a QEMU 7.2 trace log (the "log" backend's lines), which
                 \`xive replay F\` with the same machine options replays with no divergence;
                 gzip-compressed when F ends in .gz (about 8 lines per event: a trace of any
                 length, e.g. --events 3000000 for over 1 GB)
  --quiet        no progress bar (there is none either when the output is not a terminal)
  --at N         with --checkpoint or --migrate-to: run about N events first (up to the next
                 batch of the schedule), then stop there
  --checkpoint F write the running demo (machine, guest driver, schedule) to F and exit
  --migrate-to P send the running demo to a 'xive demo --listen P' on 127.0.0.1 and exit
  --resume F     continue a demo from checkpoint F in this process
  --listen P     wait on 127.0.0.1:P for a demo sent with --migrate-to and continue it here
                 (port 0 picks a free one; the port is printed)
  -h, --help     this help

Examples:
  xive demo --smp 4 --ic-mode xive --events 50000 --seed 7
  xive demo --machine pseries,ic-mode=xive,vsmt=8 --smp 4     vCPU ids 0, 8, 16, 24
  xive demo --machine pseries-2.12 --cpu POWER9 --smp 2       legacy XICS machine, XICS guest
  xive demo --cpu POWER8 --smp 2                              no XIVE: the guest runs on XICS
  xive demo --accel kvm --smp 8,threads=4                     SMT under KVM, in-kernel irqchip
  xive demo --smp 4 --ic-mode xive --events 3000000 --trace big.trace.gz && xive replay big.trace.gz --smp 4 --ic-mode xive
  xive demo --smp 4 --events 50000 --at 20000 --checkpoint run.ckpt && xive demo --resume run.ckpt
  xive demo --listen 7777 &  xive demo --smp 4 --events 50000 --at 20000 --migrate-to 7777
`;

/**
 * The vCPU ids (server numbers) by CPU index, when they are not the CPU indices themselves
 * (VSMT wider than the threads per core); nothing otherwise.
 */
function vcpuIdLine(machine: SpaprMachine): string {
  const ids = machine.vcpus.map((c) => machine.vcpuId(c));
  if (ids.every((id, i) => id === machine.vcpus[i])) return '';
  return `vCPU ids (server numbers) by CPU index: ${ids.join(', ')} (vsmt ${machine.config.vsmt}, ${machine.config.smp.threads} thread${machine.config.smp.threads > 1 ? 's' : ''} per core)\n`;
}

function pct(a: number, b: number): string {
  return b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`;
}

/** The demo's machine when none is given: 4 vCPUs, XIVE only. */
const DEMO_MACHINE = { smp: 4, icMode: 'xive' } as const;

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...MACHINE_OPTIONS,
    events: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    perfetto: { type: 'string' },
    trace: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    guest: { type: 'string' },
    at: { type: 'string' },
    checkpoint: { type: 'string' },
    resume: { type: 'string' },
    'migrate-to': { type: 'string' },
    listen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, false);
  void positionals;
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const listing = machineHelp(values);
  if (listing !== null) {
    io.out(listing);
    return 0;
  }
  const incoming = values.resume !== undefined || values.listen !== undefined;
  const outgoing = values.checkpoint !== undefined || values['migrate-to'] !== undefined;
  if (values.resume !== undefined && values.listen !== undefined) throw new UsageFailure('give either --resume or --listen, not both');
  if (values.checkpoint !== undefined && values['migrate-to'] !== undefined) throw new UsageFailure('give either --checkpoint or --migrate-to, not both');
  if (outgoing && values.at === undefined) throw new UsageFailure(`--${values.checkpoint !== undefined ? 'checkpoint' : 'migrate-to'} needs --at N (the events to run first)`);
  if (values.at !== undefined && !outgoing) throw new UsageFailure('--at goes with --checkpoint FILE or --migrate-to PORT');
  if (incoming) {
    for (const o of [...Object.keys(MACHINE_OPTIONS), 'guest', 'events', 'seed', 'seconds']) {
      if (values[o] !== undefined) throw new UsageFailure(`--${o} comes from the checkpoint when resuming: drop it`);
    }
  }
  if ((incoming || outgoing) && values.seconds !== undefined) throw new UsageFailure('--seconds cannot be checkpointed: use --events');
  if ((incoming || outgoing) && values.perfetto !== undefined) throw new UsageFailure('--perfetto covers one process: drop it when checkpointing or resuming');
  if ((incoming || outgoing) && values.trace !== undefined) throw new UsageFailure('--trace covers one process from its start: drop it when checkpointing or resuming');

  let machine: SpaprMachine;
  let guest: ReferenceGuest;
  let progress: WorkloadProgress;
  let seconds = 0;
  let perfetto: PerfettoSink | null = null;
  let traceFile: TraceFile | null = null;
  let traceLog: TraceLogWriter | null = null;
  if (incoming) {
    const bytes = values.resume !== undefined ? readFile(String(values.resume)) : await receiveCheckpoint(intOption(values, 'listen', 0, 65535), io);
    try {
      ({ machine, guest, progress } = readCheckpoint(bytes));
    } catch (e) {
      if (e instanceof CheckpointError || e instanceof SnapshotError) throw new UsageFailure(`${values.resume ?? 'received checkpoint'}: ${e.message}`);
      throw e;
    }
    io.out(`resumed: ${machine.vcpus.length} vCPUs, ic-mode ${machine.icMode}, ${progress.done} of ${progress.events} events done\n`);
    io.out(vcpuIdLine(machine));
  } else {
    const cfg = machineConfigOf(values, DEMO_MACHINE);
    const smp = cfg.smp.cpus;
    const icMode = cfg.icMode;
    const mode: GuestMode = enumOption(values, 'guest', GUEST_MODES, defaultGuestMode(icMode));
    if (!IC_MODE_BACKENDS[icMode].includes(mode)) {
      throw new UsageFailure(`--guest ${mode} cannot run on an ic-mode ${icMode} machine (QEMU would stop it at CAS)`);
    }
    const seed = intOption(values, 'seed', 0, 0xffff_ffff, 1);
    if (values.events !== undefined && values.seconds !== undefined) throw new UsageFailure('give either --events or --seconds, not both');
    seconds = values.seconds !== undefined ? intOption(values, 'seconds', 1, 3600) : 0;
    const events = intOption(values, 'events', 1, 1e9, 20000);
    perfetto = typeof values.perfetto === 'string' ? new PerfettoSink() : null;
    if (typeof values.trace === 'string') {
      traceFile = new TraceFile(values.trace);
      traceLog = new TraceLogWriter(traceFile);
    }
    // The trace log starts with the machine's creation (its claims), as QEMU's does; the
    // Perfetto export with the guest.
    machine = buildMachine(values, DEMO_MACHINE, { devices: 'default', trace: traceLog });
    if (perfetto !== null) machine.setTrace(traceLog !== null ? both(traceLog, perfetto) : perfetto);
    traceLog?.attach(machine);
    guest = createGuest(machine, mode);
    guest.boot();
    io.out(
      `${cfg.type.name === DEFAULT_MACHINE_TYPE ? 'pseries' : cfg.type.name} machine: ${smp} vCPU${smp > 1 ? 's' : ''}, ic-mode ${icMode}; the guest negotiated ${guest.labels.model} at CAS and ${guest.labels.setup}\n`,
    );
    io.out(vcpuIdLine(machine));
    progress = { events, done: 0, batch: 0, step: Math.max(1000, Math.ceil(events / 50)), seed };
  }
  const stopAt = values.at !== undefined ? intOption(values, 'at', 1, progress.events - 1) : progress.events;

  const t0 = performance.now();
  const bar = startProgress(io, {
    total: seconds > 0 ? seconds : progress.events,
    quiet: values.quiet === true,
    format: seconds > 0 ? '{value}/{total} s | {events} events | {rate} events/s' : '{value}/{total} events | {rate} events/s | {eta_formatted} left',
    fields: { events: 0, rate: 0 },
  });
  const rate = (): number => Math.round(progress.done / Math.max(1e-3, (performance.now() - t0) / 1000));
  if (seconds > 0) {
    progress.events = 0;
    while (performance.now() - t0 < seconds * 1000) {
      runGuestWorkload(machine, guest, { events: 5000, seed: (progress.seed + progress.batch++) >>> 0 });
      progress.done += 5000;
      progress.events = progress.done;
      bar.update(Math.min(seconds, Math.floor((performance.now() - t0) / 1000)), { events: progress.done, rate: rate() });
    }
  } else {
    // Batches are the unit of the schedule (each has its own seed), so a checkpoint is taken
    // between two of them, where the guest has handled everything it was sent.
    while (progress.done < progress.events && progress.done < stopAt) {
      const n = Math.min(progress.step, progress.events - progress.done);
      runGuestWorkload(machine, guest, { events: n, seed: (progress.seed + progress.batch++) >>> 0 });
      progress.done += n;
      bar.update(progress.done, { rate: rate() });
    }
  }
  bar.stop();
  if (traceLog !== null && traceFile !== null) {
    traceLog.flush();
    traceFile.close();
  }
  if (progress.done < progress.events) {
    const bytes = writeCheckpoint(machine, guest, progress);
    const s = guest.stats();
    const where = values.checkpoint !== undefined ? values.checkpoint : `127.0.0.1:${values['migrate-to']}`;
    if (values.checkpoint !== undefined) writeFile(String(values.checkpoint), bytes);
    else await sendCheckpoint(intOption(values, 'migrate-to', 1, 65535), bytes);
    io.out(`checkpoint after ${progress.done} of ${progress.events} events (raised ${s.raised}, delivered ${s.delivered}, coalesced ${s.coalesced}, lost ${s.lost}) sent to ${where} (${bytes.length} bytes)\n`);
    return s.lost === 0 ? 0 : 1;
  }
  const ms = performance.now() - t0;
  // The guest's counters run from boot (across checkpoints), and only the workload raised interrupts.
  const s = guest.stats();
  const labels = guest.labels;
  io.out(`\nstatistics (${progress.done} events, ${ms.toFixed(0)} ms in this process, seed ${progress.seed}):\n`);
  io.out(`  raised ${s.raised}  delivered ${s.delivered}  coalesced ${s.coalesced}  LSI re-presented ${s.represented}  lost ${s.lost}\n`);
  io.out('  vCPU   raised  delivered  coalesced  spurious\n');
  s.perCpu.forEach((c, i) => {
    if (!machine.hasCpu(i)) return;
    io.out(`  ${String(i).padStart(4)} ${String(c.raised).padStart(8)} ${String(c.delivered).padStart(10)} ${String(c.coalesced).padStart(10)} ${String(c.spurious).padStart(9)}\n`);
  });
  io.out(`  ${labels.source.padEnd(8)}  kind  vCPU  ${labels.eisn}    raised  delivered  coalesced  share\n`);
  for (const [lisn, src] of [...s.perSource].sort((a, b) => a[0] - b[0])) {
    if (src.raised === 0 && src.delivered === 0) continue;
    io.out(
      `  ${lisn.toString(16).padStart(8, '0')}  ${src.kind.padEnd(4)} ${String(src.cpu).padStart(5)}  ${src.eisn.toString(16).padStart(4, '0')} ${String(src.raised).padStart(9)} ${String(src.delivered).padStart(10)} ${String(src.coalesced).padStart(10)}  ${pct(src.raised, s.raised).padStart(5)}\n`,
    );
  }
  io.out(`\ninfo pic:\n${infoPic(machine)}`);
  if (perfetto !== null) writeText(values.perfetto as string, perfetto.serialize(), io);
  if (traceLog !== null && traceFile !== null) io.out(`wrote ${traceFile.path} (${traceLog.lines} trace lines, ${traceFile.bytes} bytes)\n`);
  return s.lost === 0 ? 0 : 1;
}

/** One sink feeding two (the trace log and the Perfetto export). */
function both(a: TraceSink, b: TraceSink): TraceSink {
  return {
    emit(ev: TraceEvent): void {
      a.emit(ev);
      b.emit(ev);
    },
  };
}

function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageFailure(`cannot read checkpoint '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function writeFile(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new UsageFailure(`cannot write checkpoint '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
