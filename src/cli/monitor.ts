/**
 * `xive monitor`: the HMP-like console over a pseries machine, interactive (readline with
 * history and completion) or scripted with -c. Bad commands print one error line; the console
 * keeps going.
 */
import { createInterface } from 'node:readline';
import { parse, UsageFailure } from './args.ts';
import { MACHINE_HELP, MACHINE_OPTIONS, buildMachine, machineHelp } from './machine-args.ts';
import type { Io } from './replay.ts';
import { SpaprMachine } from '../spapr/machine.ts';
import { Monitor, MONITOR_COMMANDS, type MonitorHost } from '../monitor/commands.ts';
import { createGuest, defaultGuestMode } from '../guest/guest.ts';
import { SPAPR_IRQ_EPOW, SPAPR_IRQ_HOTPLUG, vioIrq } from '../spapr/irq-map.ts';

import { loadQemuStreamFile, saveSnapshotFile, snapshotHost } from './snapshot-files.ts';

/** The device interrupts a Linux guest enables while it boots (event sources, console). */
const BOOT_SOURCES = [SPAPR_IRQ_EPOW, SPAPR_IRQ_HOTPLUG, vioIrq(0)];

export const MONITOR_HELP = `Usage: xive monitor [machine options] [--boot] [--load FILE | --load-qemu FILE]
                    [--save-snapshot OUT] [-c CMD]...

An HMP-like console over a pseries machine. With -c the commands run in order, their output is
printed and the program exits (status 1 if a command failed); without -c it is interactive
(history, Tab completion, 'quit' or Ctrl-D to leave).

${MACHINE_HELP}(default: --smp 2 --ic-mode xive; on a CPU model without XIVE, or with --machine,
the machine type's own ic-mode)

Options:
  --boot           boot the reference guest first, as Linux does: CAS (XIVE when the machine
                   offers it, else XICS), its queues or CPPRs, IPIs, and the EPOW, hot-plug and
                   console interrupts (0x1000, 0x1001, 0x1100)
  --load FILE      start from a snapshot written by savevm or --save-snapshot, or from a QEMU
                   migration stream (told apart by its first bytes)
  --load-qemu FILE start from a QEMU 7.2 migration stream of a pseries machine (what
                   migrate "exec:cat > FILE" writes): its configuration, interrupt state and
                   event queues; info pic then prints what QEMU's printed
  --save-snapshot OUT   write the machine's state as a snapshot once it is loaded or built,
                   before the commands run (a QEMU stream converted to the model's format)
  -c CMD           run CMD (repeatable)
  -h, --help       this help

Commands:
${MONITOR_COMMANDS.map((c) => `  ${c.name}${c.args ? ' ' + c.args : ''}\n      ${c.help}`).join('\n')}

Examples:
  xive monitor --smp 2 --boot -c 'trigger 0x1000' -c 'info irq' -c 'info pic'
      an EPOW event: presented to vCPU 0, queued in its event queue, shown pending in info pic
  xive monitor --smp 2 -c 'cas 0x40' -c 'hcall 0 h_int_get_source_info 0 0x1000'
      the H_INT_* hcalls answer once CAS has negotiated XIVE (before it: H_FUNCTION)
  xive monitor --machine pseries-4.1 --smp 4 --boot -c 'info pic'
      vsmt 8: CPU 1 is server 8, its IPI is LISN 8, routed to 8/6 (server/priority)
  xive monitor --cpu POWER8 --smp 2 --boot -c 'info pic'
      no XIVE on POWER8: the guest boots on XICS
  xive monitor --load-qemu guest.stream -c 'info pic'
      the interrupt state of a QEMU guest, from its migration stream
`;

export async function monitorCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MACHINE_OPTIONS,
      boot: { type: 'boolean' },
      load: { type: 'string' },
      'load-qemu': { type: 'string' },
      'save-snapshot': { type: 'string' },
      c: { type: 'string', short: 'c', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.out(MONITOR_HELP);
    return 0;
  }
  const listing = machineHelp(values);
  if (listing !== null) {
    io.out(listing);
    return 0;
  }
  const host: MonitorHost = snapshotHost();
  let machine: SpaprMachine;
  if (typeof values.load === 'string' && typeof values['load-qemu'] === 'string') throw new UsageFailure('--load and --load-qemu both give the machine: use one');
  if (typeof values['load-qemu'] === 'string') {
    if (Object.keys(MACHINE_OPTIONS).some((o) => values[o] !== undefined)) {
      throw new UsageFailure('--load-qemu takes the machine from the stream: drop --smp/--max-cpus/--ic-mode/--machine/--cpu/--device/--accel');
    }
    machine = loadQemuStreamFile(values['load-qemu']);
  } else if (typeof values.load === 'string') {
    if (Object.keys(MACHINE_OPTIONS).some((o) => values[o] !== undefined)) {
      throw new UsageFailure('--load takes the machine from the snapshot: drop --smp/--max-cpus/--ic-mode/--machine/--cpu/--device/--accel');
    }
    if (host.loadSnapshot === undefined) throw new UsageFailure('snapshots are not available in this build');
    machine = host.loadSnapshot(values.load);
  } else {
    machine = buildMachine(values, { smp: 2, icMode: 'xive' });
  }
  if (values.boot) {
    const guest = createGuest(machine, defaultGuestMode(machine.icMode));
    guest.boot();
    // As Linux does at boot: the EPOW and hot-plug event sources and the VIO console, round-robin
    // over the vCPUs (the other default devices' interrupts stay masked until a driver asks).
    BOOT_SOURCES.forEach((lisn, i) => {
      if (machine.isClaimed(lisn)) guest.configureSource(lisn, machine.vcpus[i % machine.vcpus.length]!);
    });
  }
  if (typeof values['save-snapshot'] === 'string') io.err(`saved ${saveSnapshotFile(values['save-snapshot'], machine)} bytes to ${values['save-snapshot']}\n`);
  const mon = new Monitor(machine, host);
  const script = (values.c as string[] | undefined) ?? [];
  if (script.length > 0) {
    let failed = false;
    for (const cmd of script) {
      const r = mon.run(cmd);
      io.out(r.output);
      if (!r.ok) failed = true;
      if (r.quit) break;
    }
    return failed ? 1 : 0;
  }
  return interactive(mon, io);
}

function interactive(mon: Monitor, io: Io): Promise<number> {
  return new Promise((resolve) => {
    const rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      prompt: '(xive) ',
      historySize: 1000,
      completer: (line: string) => [mon.complete(line), line],
    });
    io.out(`xive monitor: ${mon.machine.vcpus.length} vCPUs, ic-mode ${mon.machine.icMode}; type 'help'\n`);
    rl.prompt();
    rl.on('line', (line) => {
      const r = mon.run(line);
      io.out(r.output);
      if (r.quit) {
        rl.close();
        return;
      }
      rl.prompt();
    });
    rl.on('close', () => resolve(0));
  });
}
