/**
 * `xive qemu-stream`: QEMU 7.2 migration streams of pseries machines — list a stream's sections
 * and print its decoded interrupt state (or --json), convert it to a snapshot of the model,
 * compare the interrupt state of two streams field by field, or write a pruned copy that keeps
 * only the RAM pages the interrupt state refers to.
 */
import { resolve } from 'node:path';
import { parse, UsageFailure } from './args.ts';
import type { Io } from './replay.ts';
import { fileSink, readQemuStreamFile, withStreamFile, writeBytesFile } from './snapshot-files.ts';
import { diffQemuStreams, pruneQemuStream, qemuStreamJson, qemuStreamToSnapshot, stateRows, type FieldValue, type QemuStream, type Row } from '../migration/qemu-stream.ts';

export const QEMU_STREAM_HELP = `Usage: xive qemu-stream FILE [--json] [--save-snapshot OUT]
       xive qemu-stream diff A B [--json]
       xive qemu-stream prune FILE -o OUT

Reads a QEMU 7.2 migration stream of a pseries machine (what the monitor's
migrate "exec:cat > FILE" writes, the format of -incoming files). The machine's configuration,
its interrupt state and its event queues come from the stream alone.

  FILE              list the sections (name, instance, version, records, bytes) and print
                    the decoded interrupt state: machine, option vector 5, MSIs, each vCPU and
                    its presenter (XICS ICP fields or XIVE thread-context rings), each claimed
                    source with its EAS, each valid END, each claimed ICS source, each PHB
  diff A B          the interrupt states of two streams compared field by field (exit status
                    1 when they differ, 0 when they do not)
  prune FILE -o OUT the same bytes, except that the RAM section keeps only the pages of the
                    event queues (and each record that names its RAM block)

Options:
  --json            machine-readable output
  --save-snapshot OUT   also write the interrupt state as a snapshot of the model (xive monitor
                    --load OUT restores it)
  -o OUT            where prune writes
  -h, --help        this help

A stream that is truncated or damaged is refused (exit status 2) with one line naming the byte
offset and the section where it goes wrong; so is a stream of another machine, or a section
version QEMU 7.2 does not write. xive monitor --load-qemu FILE -c 'info pic' shows the machine.

Examples:
  xive qemu-stream guest.stream
  xive qemu-stream diff before.stream after.stream
  xive qemu-stream prune guest.stream -o guest.pruned.stream
`;

export function qemuStreamCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    'save-snapshot': { type: 'string' },
    o: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(QEMU_STREAM_HELP);
    return 0;
  }
  const [first, ...rest] = positionals;
  if (first === 'diff') {
    if (rest.length !== 2) throw new UsageFailure('diff takes two stream files: xive qemu-stream diff A B');
    refuse(values, ['save-snapshot', 'o'], 'diff');
    return diff(rest[0]!, rest[1]!, values.json === true, io);
  }
  if (first === 'prune') {
    if (rest.length !== 1) throw new UsageFailure('prune takes one stream file: xive qemu-stream prune FILE -o OUT');
    refuse(values, ['save-snapshot', 'json'], 'prune');
    if (typeof values.o !== 'string') throw new UsageFailure('prune needs -o OUT, the file to write');
    return prune(rest[0]!, values.o, io);
  }
  if (first === undefined) throw new UsageFailure('a stream file is required (see xive qemu-stream --help)');
  if (rest.length > 0) throw new UsageFailure(`one stream file at a time (got ${positionals.length}); to compare two: xive qemu-stream diff A B`);
  if (values.o !== undefined) throw new UsageFailure('-o goes with prune: xive qemu-stream prune FILE -o OUT');
  const s = readQemuStreamFile(first);
  if (typeof values['save-snapshot'] === 'string') {
    const bytes = qemuStreamToSnapshot(s);
    writeBytesFile(values['save-snapshot'], bytes, 'snapshot');
    if (values.json !== true) io.out(`saved ${bytes.length} bytes to ${values['save-snapshot']}\n`);
  }
  if (values.json === true) io.out(JSON.stringify(qemuStreamJson(s), null, 2) + '\n');
  else io.out(describe(first, s));
  return 0;
}

function refuse(values: Record<string, unknown>, names: string[], sub: string): void {
  for (const n of names) if (values[n] !== undefined) throw new UsageFailure(`--${n} does not go with ${sub}`);
}

function describe(path: string, s: QemuStream): string {
  const out: string[] = [];
  const st = s.state;
  out.push(`${path}: QEMU migration stream of ${s.machineType}, ${s.size} bytes`);
  out.push(
    `RAM: ${s.layout.ramBlocks.map((b) => `${b.name} ${mib(b.size)}`).join(', ')}; ${s.layout.pages.normal} pages and ${s.layout.pages.zero} zero pages sent; ${s.pages.size} event-queue page(s) read`,
  );
  out.push('', 'Sections:', `  ${'name'.padEnd(36)} ${'instance'.padStart(10)} ${'version'.padStart(7)} ${'records'.padStart(7)} ${'bytes'.padStart(10)}`);
  for (const x of s.layout.sections) {
    out.push(`  ${x.name.padEnd(36)} ${String(x.instance).padStart(10)} ${String(x.version).padStart(7)} ${String(x.records).padStart(7)} ${String(x.bytes).padStart(10)}`);
  }
  out.push('', `Interrupt state (${st.icMode === 'dual' ? 'XICS and XIVE' : st.icMode.toUpperCase()}):`);
  for (const [key, row] of stateRows(st, s.ramBlock.size)) out.push(`  ${key}: ${rowText(row)}`);
  return out.join('\n') + '\n';
}

function mib(n: number): string {
  return n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB` : `${n} bytes`;
}

function show(v: FieldValue | null): string {
  return v === null ? '(none)' : v === '' ? "''" : String(v);
}

function rowText(r: Row): string {
  return Object.entries(r)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ') || '(nothing set)';
}

function diff(a: string, b: string, json: boolean, io: Io): number {
  const d = diffQemuStreams(readQemuStreamFile(a), readQemuStreamFile(b));
  if (json) {
    io.out(JSON.stringify({ a, b, differences: d }, null, 2) + '\n');
    return d.length === 0 ? 0 : 1;
  }
  if (d.length === 0) {
    io.out(`${a} and ${b}: the interrupt states are the same\n`);
    return 0;
  }
  const lines = [`${a} -> ${b}: ${d.length} difference(s)`];
  let row = '';
  for (const x of d) {
    if (x.row !== row) lines.push(`  ${x.row}:`);
    row = x.row;
    lines.push(`    ${x.field}: ${show(x.a)} -> ${show(x.b)}`);
  }
  io.out(lines.join('\n') + '\n');
  return 1;
}

function prune(path: string, outPath: string, io: Io): number {
  if (resolve(path) === resolve(outPath)) throw new UsageFailure('prune cannot write over the stream it reads: give another -o file');
  const r = withStreamFile(path, (src) => {
    const sink = fileSink(outPath);
    try {
      return pruneQemuStream(src, sink);
    } finally {
      sink.close();
    }
  });
  io.out(`${outPath}: ${r.bytes} bytes; kept ${r.kept} RAM page record(s) (${r.pages.length} event-queue page(s) and the records naming a RAM block), dropped ${r.dropped}\n`);
  return 0;
}
