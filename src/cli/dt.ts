/**
 * `xive dt`: the interrupt parts of the pseries device tree of any machine QEMU 7.2 builds (the
 * machine options of machine-args.ts), as QEMU builds them at machine reset, as DTS text or as
 * an FDT (flattened device tree) blob.
 */
import { writeFileSync } from 'node:fs';
import { parse, enumOption, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import { buildMachine, machineHelp, MACHINE_HELP, MACHINE_OPTIONS } from './machine-args.ts';
import { machineDeviceTree } from '../spapr/device-tree.ts';
import { encodeDtb } from '../spapr/fdt.ts';
import { toDts } from '../spapr/dts.ts';

export const DT_HELP = `Usage: xive dt [machine options] [--format dts|dtb] [-o FILE]

Prints the interrupt parts of the pseries device tree as QEMU 7.2 builds them at machine reset
for the machine the options describe (with -nodefaults -serial …: one console): the interrupt
controller node (XICS when the machine has one, XIVE otherwise), the root
ibm,plat-res-int-priorities, /chosen ibm,arch-vec-5-platform-support and
ibm,architecture-vec-5, the /rtas tokens of the interrupt RTAS calls, /event-sources, /vdevice,
each PHB's interrupt-map and MSI count, and the interrupt servers of each /cpus node. Same node
names, property bytes and order as QEMU's tree.

${MACHINE_HELP}
Output:
  --format F         dts (default) or dtb (binary FDT; needs -o when stdout is a terminal)
  -o, --output FILE  write to FILE instead of standard output
  -h, --help         this help

Examples:
  xive dt --ic-mode xive --smp 2
  xive dt -M pseries-3.0 --smp 2 --device spapr-pci-host-bridge,index=1
  xive dt -M pseries,max-cpu-compat=power8 --cpu POWER9 --smp 4,maxcpus=8 --format dtb -o ic.dtb && dtc -I dtb -O dts ic.dtb
`;

export function dtCommand(argv: string[], io: Io): number {
  const { values } = parse(
    argv,
    {
      ...MACHINE_OPTIONS,
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.out(DT_HELP);
    return 0;
  }
  const listing = machineHelp(values);
  if (listing !== null) {
    io.out(listing);
    return 0;
  }
  const format = enumOption(values, 'format', ['dts', 'dtb'] as const, 'dts');
  const tree = machineDeviceTree(buildMachine(values, {}, { ramSize: 1 << 20 }));
  const out = typeof values.output === 'string' ? values.output : null;
  if (format === 'dtb') {
    const blob = encodeDtb(tree);
    if (out === null) {
      if (io.tty === true) throw new UsageFailure('refusing to write a binary blob to a terminal: use -o FILE');
      io.outBytes ? io.outBytes(blob) : io.out(Buffer.from(blob).toString('latin1'));
      return 0;
    }
    write(out, blob);
    return 0;
  }
  const text = toDts(tree);
  if (out === null) io.out(text);
  else write(out, text);
  return 0;
}

function write(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new UsageFailure(`cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
