/**
 * `xive dt`: the interrupt-controller parts of the pseries device tree, as QEMU 7.2 builds them
 * at machine reset, as DTS text or as an FDT blob.
 */
import { writeFileSync } from 'node:fs';
import { parse, intOption, enumOption, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import { interruptControllerTree } from '../spapr/device-tree.ts';
import { encodeDtb } from '../spapr/fdt.ts';
import { toDts } from '../spapr/dts.ts';
import { IC_MODES } from '../spapr/cas.ts';
import { SPAPR_MAX_CPUS } from '../spapr/irq-map.ts';

export const DT_HELP = `Usage: xive dt --ic-mode MODE --smp N [--max-cpus K] [--format dts|dtb] [-o FILE]

Prints the interrupt-controller parts of the pseries device tree as QEMU 7.2 builds them at
machine reset: the interrupt-controller node (XICS for xics/dual, XIVE for xive), the root
ibm,plat-res-int-priorities, /chosen ibm,arch-vec-5-platform-support and
ibm,architecture-vec-5, the /rtas XICS tokens and each /cpus/PowerPC,POWER9@N node's
interrupt-server properties. Same node paths, names and property bytes as QEMU's tree.

Options:
  --ic-mode MODE     ${IC_MODES.join(' | ')}
  --smp N            vCPUs
  --max-cpus K       possible vCPUs (default N): sizes the server/LISN ranges
  --format F         dts (default) or dtb (binary FDT; needs -o when stdout is a terminal)
  -o, --output FILE  write to FILE instead of standard output
  -h, --help         this help

Examples:
  xive dt --ic-mode xive --smp 2
  xive dt --ic-mode xics --smp 4 --max-cpus 8 --format dtb -o ic.dtb && dtc -I dtb -O dts ic.dtb
`;

export function dtCommand(argv: string[], io: Io): number {
  const { values } = parse(
    argv,
    {
      'ic-mode': { type: 'string' },
      smp: { type: 'string' },
      'max-cpus': { type: 'string' },
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
  const icMode = enumOption(values, 'ic-mode', IC_MODES);
  const smp = intOption(values, 'smp', 1, SPAPR_MAX_CPUS);
  const maxCpus = intOption(values, 'max-cpus', smp, SPAPR_MAX_CPUS, smp);
  const format = enumOption(values, 'format', ['dts', 'dtb'] as const, 'dts');
  const tree = interruptControllerTree({ icMode, smp, maxCpus });
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
