/**
 * Trace line printing and parsing: every QEMU capture of the fixtures manifest and one example
 * per event must parse and print back byte for byte, malformed lines must be refused, and random
 * events must survive format → parse unchanged.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TraceEvent } from '../../src/trace/events.ts';
import { formatTraceEvent } from '../../src/trace/format.ts';
import { KNOWN_EVENTS, parseTraceLine } from '../../src/trace/parse.ts';
import { CAPTURES, captureLines } from '../support/captures.ts';

function parseEvent(line: string): TraceEvent {
  const r = parseTraceLine(line);
  assert.equal(r.kind, 'event', `${JSON.stringify(line)} → ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  return (r as { kind: 'event'; event: TraceEvent }).event;
}

test('every fixture line parses and prints back identically', () => {
  assert.ok(CAPTURES.length >= 4, 'fixture traces present');
  let total = 0;
  for (const c of CAPTURES) {
    const lines = captureLines(c).slice();
    // The file ends with a newline: the last piece is empty.
    assert.equal(lines.pop(), '');
    const failures: string[] = [];
    // A log repeats a few hundred distinct lines: each text is checked once.
    for (const line of new Set(lines)) {
      const r = parseTraceLine(line);
      if (r.kind !== 'event') failures.push(`${line} → ${r.kind}`);
      else if (formatTraceEvent(r.event) !== line) failures.push(`${line} → ${formatTraceEvent(r.event)}`);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${c.name}: ${failures.length} distinct lines fail`);
    total += lines.length;
  }
  assert.ok(total > 50_000);
});

// One or more lines per event of the union, with the fields they must decode to.
const EXAMPLES: readonly (readonly [string, TraceEvent])[] = [
  [
    'xive_tctx_accept target=0 ring=0x10 IBP=0x00 PIPR=0xff CPPR=0x06 NSR=0x00 ACK',
    { name: 'xive_tctx_accept', target: 0, ring: 0x10, ipb: 0, pipr: 0xff, cppr: 6, nsr: 0 },
  ],
  [
    'xive_tctx_notify target=1 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    { name: 'xive_tctx_notify', target: 1, ring: 0x10, ipb: 2, pipr: 6, cppr: 0xff, nsr: 0x80 },
  ],
  // `%d` of an unsigned 32-bit argument prints it as signed.
  [
    'xive_tctx_notify target=-1 ring=0x30 IBP=0x80 PIPR=0x00 CPPR=0x07 NSR=0x40 raise !',
    { name: 'xive_tctx_notify', target: 0xffff_ffff, ring: 0x30, ipb: 0x80, pipr: 0, cppr: 7, nsr: 0x40 },
  ],
  [
    'xive_tctx_set_cppr target=0 ring=0x10 IBP=0x00 PIPR=0xff new CPPR=0xff NSR=0x00',
    { name: 'xive_tctx_set_cppr', target: 0, ring: 0x10, ipb: 0, pipr: 0xff, cppr: 0xff, nsr: 0 },
  ],
  [
    'xive_source_esb_read @0x20010d00 IRQ 0x1000 val=0x1',
    { name: 'xive_source_esb_read', addr: 0x20010d00n, srcno: 0x1000, value: 1n },
  ],
  [
    'xive_source_esb_write @0x20000 IRQ 0x1 val=0x0',
    { name: 'xive_source_esb_write', addr: 0x20000n, srcno: 1, value: 0n },
  ],
  [
    'xive_router_end_notify END 0x00/0x0401 -> enqueue 0x00000012',
    { name: 'xive_router_end_notify', endBlk: 0, endIdx: 0x401, endData: 0x12 },
  ],
  [
    'xive_router_end_escalate END 0x00/0x0400 -> escalate END 0x01/0x12345 data 0x8000ffff',
    { name: 'xive_router_end_escalate', endBlk: 0, endIdx: 0x400, escBlk: 1, escIdx: 0x12345, endData: 0x8000_ffff },
  ],
  [
    'xive_tctx_tm_write @0x20011 sz=1 val=0xff',
    { name: 'xive_tctx_tm_write', offset: 0x20011n, size: 1, value: 0xffn },
  ],
  [
    'xive_tctx_tm_read @0x20810 sz=2 val=0x8006',
    { name: 'xive_tctx_tm_read', offset: 0x20810n, size: 2, value: 0x8006n },
  ],
  [
    'xive_tctx_tm_read @0x20000 sz=8 val=0xffffffffffffffff',
    { name: 'xive_tctx_tm_read', offset: 0x20000n, size: 8, value: 0xffff_ffff_ffff_ffffn },
  ],
  [
    'xive_presenter_notify found NVT 0x0/0x400 ring=0x10',
    { name: 'xive_presenter_notify', nvtBlk: 0, nvtIdx: 0x400, ring: 0x10 },
  ],
  [
    'xive_end_source_read END 0x0/0x2 @0x20400',
    { name: 'xive_end_source_read', endBlk: 0, endIdx: 2, addr: 0x20400n },
  ],
  ['spapr_xive_claim_irq lisn=0x1200 lsi=1', { name: 'spapr_xive_claim_irq', lisn: 0x1200, lsi: true }],
  ['spapr_xive_claim_irq lisn=0x0 lsi=0', { name: 'spapr_xive_claim_irq', lisn: 0, lsi: false }],
  ['spapr_xive_free_irq lisn=0x1300', { name: 'spapr_xive_free_irq', lisn: 0x1300 }],
  ['spapr_xive_set_irq lisn=0x1200 val=1', { name: 'spapr_xive_set_irq', lisn: 0x1200, val: 1 }],
  [
    'spapr_xive_get_source_info flags=0x0 lisn=0x1000',
    { name: 'spapr_xive_get_source_info', flags: 0n, lisn: 0x1000n },
  ],
  [
    'spapr_xive_set_source_config flags=0x2 lisn=0x1000 target=0x0 priority=0x6 eisn=0x11',
    { name: 'spapr_xive_set_source_config', flags: 2n, lisn: 0x1000n, target: 0n, priority: 6n, eisn: 0x11n },
  ],
  [
    'spapr_xive_get_source_config flags=0x0 lisn=0x1000',
    { name: 'spapr_xive_get_source_config', flags: 0n, lisn: 0x1000n },
  ],
  [
    'spapr_xive_get_queue_info flags=0x0 target=0x1 priority=0x6',
    { name: 'spapr_xive_get_queue_info', flags: 0n, target: 1n, priority: 6n },
  ],
  [
    'spapr_xive_set_queue_config flags=0x1 target=0x0 priority=0x6 qpage=0x4a10000 qsize=0x10',
    { name: 'spapr_xive_set_queue_config', flags: 1n, target: 0n, priority: 6n, qpage: 0x4a10000n, qsize: 0x10n },
  ],
  [
    'spapr_xive_get_queue_config flags=0x0 target=0x0 priority=0x6',
    { name: 'spapr_xive_get_queue_config', flags: 0n, target: 0n, priority: 6n },
  ],
  ['spapr_xive_set_os_reporting_line flags=0x0', { name: 'spapr_xive_set_os_reporting_line', flags: 0n }],
  ['spapr_xive_get_os_reporting_line flags=0x0', { name: 'spapr_xive_get_os_reporting_line', flags: 0n }],
  [
    'spapr_xive_esb flags=0x0 lisn=0x1200 offset=0xd00 data=0x0',
    { name: 'spapr_xive_esb', flags: 0n, lisn: 0x1200n, offset: 0xd00n, data: 0n },
  ],
  ['spapr_xive_sync flags=0x0 lisn=0x1000', { name: 'spapr_xive_sync', flags: 0n, lisn: 0x1000n }],
  ['spapr_xive_reset flags=0xffffffffffffffff', { name: 'spapr_xive_reset', flags: 0xffff_ffff_ffff_ffffn }],
  ['xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4', { name: 'xics_icp_check_ipi', server: 1, mfrr: 4 }],
  [
    'xics_icp_accept icp_accept: XIRR 0xff000002->0x4000000',
    { name: 'xics_icp_accept', oldXirr: 0xff00_0002, newXirr: 0x0400_0000 },
  ],
  [
    'xics_icp_eoi icp_eoi: server 1 given XIRR 0xff000002 new XIRR 0xff000000',
    { name: 'xics_icp_eoi', server: 1, xirr: 0xff00_0002, newXirr: 0xff00_0000 },
  ],
  // `server` is a C int: negative values print with a sign.
  [
    'xics_icp_eoi icp_eoi: server -1 given XIRR 0x0 new XIRR 0x0',
    { name: 'xics_icp_eoi', server: -1, xirr: 0, newXirr: 0 },
  ],
  [
    'xics_icp_irq cpu 0 trying to deliver irq 0x1000 priority 0x5',
    { name: 'xics_icp_irq', server: 0, nr: 0x1000, priority: 5 },
  ],
  // `%x` of a negative int prints its 32-bit two's complement.
  [
    'xics_icp_irq cpu 2 trying to deliver irq 0xffffffff priority 0xff',
    { name: 'xics_icp_irq', server: 2, nr: -1, priority: 0xff },
  ],
  [
    'xics_icp_raise raising IRQ new XIRR=0xff001000 new pending priority=0x5',
    { name: 'xics_icp_raise', xirr: 0xff00_1000, pendingPriority: 5 },
  ],
  ['xics_ics_set_irq_msi set_irq_msi: srcno 0 [irq 0x1000]', { name: 'xics_ics_set_irq_msi', srcno: 0, nr: 0x1000 }],
  ['xics_masked_pending set_irq_msi: masked pending', { name: 'xics_masked_pending' }],
  [
    'xics_ics_set_irq_lsi set_irq_lsi: srcno 512 [irq 0x1200]',
    { name: 'xics_ics_set_irq_lsi', srcno: 512, nr: 0x1200 },
  ],
  [
    'xics_ics_write_xive ics_write_xive: irq 0x1000 [src 0] server 0x0 prio 0x5',
    { name: 'xics_ics_write_xive', nr: 0x1000, srcno: 0, server: 0, priority: 5 },
  ],
  ['xics_ics_reject reject irq 0x1001 [src 1]', { name: 'xics_ics_reject', nr: 0x1001, srcno: 1 }],
  ['xics_ics_eoi ics_eoi: irq 0x1000', { name: 'xics_ics_eoi', nr: 0x1000 }],
  [
    'spapr_cas_pvr current=0x0, explicit_match=1, new=0xf000005',
    { name: 'spapr_cas_pvr', curPvr: 0, explicitMatch: true, newPvr: 0x0f00_0005 },
  ],
  ['spapr_cas_continue Copy changes to the guest: 13945 bytes', { name: 'spapr_cas_continue', n: 13945 }],
  // `%2d` / `%3d` right-align in 2 / 3 columns: "vector  5", "byte  23 /  24".
  [
    'spapr_ovec_parse_vector read guest vector  5, byte  23 /  24: 0x40',
    { name: 'spapr_ovec_parse_vector', vector: 5, byte: 23, vecLen: 24, entry: 0x40 },
  ],
  [
    'spapr_ovec_parse_vector read guest vector 12, byte   0 / 1234: 0x0f',
    { name: 'spapr_ovec_parse_vector', vector: 12, byte: 0, vecLen: 1234, entry: 0x0f },
  ],
  [
    'spapr_ovec_parse_vector read guest vector -1, byte  -1 /   0: 0x00',
    { name: 'spapr_ovec_parse_vector', vector: -1, byte: -1, vecLen: 0, entry: 0 },
  ],
  [
    'spapr_ovec_populate_dt encoding guest vector byte   2 /  24: 0x80',
    { name: 'spapr_ovec_populate_dt', byte: 2, vecLen: 24, entry: 0x80 },
  ],
  ['spapr_pci_msi Releasing wrong config (cfg=0x0)', { name: 'spapr_pci_msi', msg: 'Releasing wrong config', ca: 0 }],
  // A message containing the text that follows it still splits where it was printed.
  ['spapr_pci_msi odd (cfg=0x1) (cfg=0x800)', { name: 'spapr_pci_msi', msg: 'odd (cfg=0x1)', ca: 0x800 }],
  [
    'spapr_pci_msi_setup dev"virtio-rng-pci" vector 0, addr=0x40000000000',
    { name: 'spapr_pci_msi_setup', devName: 'virtio-rng-pci', vector: 0, addr: 0x400_0000_0000n },
  ],
  [
    'spapr_pci_rtas_ibm_change_msi cfgaddr 0x800 func 3, requested 2, first irq 4864',
    { name: 'spapr_pci_rtas_ibm_change_msi', cfg: 0x800, func: 3, req: 2, first: 4864 },
  ],
  [
    'spapr_pci_rtas_ibm_query_interrupt_source_number queries for #0, IRQ4608',
    { name: 'spapr_pci_rtas_ibm_query_interrupt_source_number', ioa: 0, intr: 4608 },
  ],
  [
    'spapr_pci_msi_write @0x0<=0x1301 IRQ 4865',
    { name: 'spapr_pci_msi_write', addr: 0n, data: 0x1301n, dtIrq: 4865 },
  ],
  [
    'spapr_pci_lsi_set pci@800000020000000 PIN0 IRQ 4608',
    { name: 'spapr_pci_lsi_set', busName: 'pci@800000020000000', pin: 0, irq: 4608 },
  ],
  ['spapr_pci_lsi_set  PIN-1 IRQ 4294967295', { name: 'spapr_pci_lsi_set', busName: '', pin: -1, irq: 0xffff_ffff }],
  [
    'spapr_pci_msi_retry Guest device at 0x800 asked 4, have only 2',
    { name: 'spapr_pci_msi_retry', configAddr: 0x800, reqNum: 4, maxIrqs: 2 },
  ],
];

test('hand-written examples decode to their fields and print back identically', () => {
  for (const [line, expected] of EXAMPLES) {
    const ev = parseEvent(line);
    assert.deepEqual(ev, expected, line);
    assert.equal(formatTraceEvent(expected), line);
  }
});

test('the examples cover every known event, and only those', () => {
  const covered = new Set(EXAMPLES.map(([, ev]) => ev.name));
  assert.deepEqual([...KNOWN_EVENTS].sort(), [...covered].sort());
  assert.ok(!KNOWN_EVENTS.has('guest_error'));
});

test('a -msg timestamp=on prefix is stripped', () => {
  const ev = parseEvent('12345@1700000000.012345:xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4');
  assert.deepEqual(ev, { name: 'xics_icp_check_ipi', server: 1, mfrr: 4 });
  assert.deepEqual(parseTraceLine('7@0.000000:qemu_foo bar'), { kind: 'other', name: 'qemu_foo' });
  // A timestamp is glued to the event name; anything else is not a trace line.
  assert.equal(parseTraceLine('12345@1700000000.012345: xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4').kind, 'bad');
  assert.equal(parseTraceLine('12345@1700000000.01234:xics_icp_check_ipi CPU 1 can take IPI mfrr=0x4').kind, 'bad');
  assert.equal(parseTraceLine('12345@1700000000.012345:').kind, 'bad');
});

test('blank, other and bad lines', () => {
  assert.deepEqual(parseTraceLine(''), { kind: 'blank' });
  assert.deepEqual(parseTraceLine('   \t'), { kind: 'blank' });
  assert.deepEqual(parseTraceLine('qemu_foo bar'), { kind: 'other', name: 'qemu_foo' });
  assert.deepEqual(parseTraceLine('kvm_xive_cpu_connect connect CPU0 to KVM device'), {
    kind: 'other',
    name: 'kvm_xive_cpu_connect',
  });
  assert.deepEqual(parseTraceLine('pnv_xive_ic_hw_trigger'), { kind: 'other', name: 'pnv_xive_ic_hw_trigger' });
  // Guest-error messages have no event name to recognise them by.
  assert.deepEqual(parseTraceLine('guest_error x'), { kind: 'other', name: 'guest_error' });

  const bad = [
    'xive_tctx_notify target=x',
    'xive_tctx_notify',
    'xive_tctx_notify ',
    'xics_masked_pending',
    // not the canonical printf text: padding, leading zeros, case, range, trailing text
    'xive_tctx_notify target=0 ring=0x10 IBP=0x2 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=0 ring=0x10 IBP=0x002 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=0 ring=0x10 IBP=0x100 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=00 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=-0 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=4294967295 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_tctx_notify target=0 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xFF NSR=0x80 raise !',
    'xive_tctx_notify target=0 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise ! ',
    'xive_tctx_notify target=0 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !\r',
    'xive_tctx_notify  target=0 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
    'xive_source_esb_read @0x010c00 IRQ 0x0 val=0x1',
    'xive_source_esb_read @0x10000000000000000 IRQ 0x0 val=0x1',
    'xive_source_esb_read @0x IRQ 0x0 val=0x1',
    'xive_router_end_notify END 0x00/0x401 -> enqueue 0x00000012',
    'xive_router_end_notify END 0x00/0x00401 -> enqueue 0x00000012',
    'spapr_xive_claim_irq lisn=0x0 lsi=2',
    'spapr_cas_pvr current=0x0, explicit_match=-1, new=0xf000005',
    'xics_icp_check_ipi CPU 1 can take IPI mfrr=0x100',
    'xics_icp_check_ipi CPU 2147483648 can take IPI mfrr=0x4',
    'spapr_pci_rtas_ibm_query_interrupt_source_number queries for #-1, IRQ4608',
    'spapr_pci_rtas_ibm_query_interrupt_source_number queries for #4294967296, IRQ4608',
    'spapr_cas_continue Copy changes to the guest: -1 bytes',
    'spapr_cas_continue Copy changes to the guest: 013945 bytes',
    // "%3d" of 24 is " 24": one space after the slash is not what QEMU prints
    'spapr_ovec_parse_vector read guest vector  5, byte  23 / 24: 0x40',
    'spapr_ovec_parse_vector read guest vector 5, byte  23 /  24: 0x40',
    'spapr_ovec_parse_vector read guest vector   5, byte  23 /  24: 0x40',
    'spapr_ovec_parse_vector read guest vector  5, byte  23 /  24: 0x4',
    'spapr_ovec_parse_vector read guest vector  5, byte  23 / 65536: 0x40',
    'spapr_pci_msi_setup dev"virtio-rng-pci vector 0, addr=0x40000000000',
    'spapr_pci_lsi_set pci@800000020000000 PIN0 IRQ4608',
  ];
  for (const line of bad) {
    const r = parseTraceLine(line);
    assert.equal(r.kind, 'bad', JSON.stringify(line));
    assert.match((r as { reason: string }).reason, /message does not match/);
  }

  const notTrace = ['Hello world', 'XIVE[0] - invalid END', '\u0000\u0001\u0002binary', 'xive_tctx_notify:x', '@0x10 IRQ', '#'];
  for (const line of notTrace) {
    assert.deepEqual(parseTraceLine(line), { kind: 'bad', reason: 'not a trace line' }, JSON.stringify(line));
  }
});

test('formatting narrows values to their C argument types', () => {
  assert.equal(
    formatTraceEvent({ name: 'xive_source_esb_read', addr: -1n, srcno: 0x1_0000_0002, value: (1n << 64n) + 5n }),
    'xive_source_esb_read @0xffffffffffffffff IRQ 0x2 val=0x5',
  );
  assert.equal(
    formatTraceEvent({ name: 'xive_tctx_notify', target: 0x8000_0000, ring: 0x110, ipb: 0x102, pipr: 6, cppr: 0xff, nsr: 0x80 }),
    'xive_tctx_notify target=-2147483648 ring=0x10 IBP=0x02 PIPR=0x06 CPPR=0xff NSR=0x80 raise !',
  );
  assert.equal(formatTraceEvent({ name: 'guest_error', message: 'XIVE: invalid END 0x0/0x1' }), 'XIVE: invalid END 0x0/0x1');
});

// Field value generators in the domain of each C argument type.
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const int = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }), fc.constantFrom(0n, 1n, 0xffn, 0xffff_ffff_ffff_ffffn));
const str = fc.string({ unit: 'binary' });

const events: fc.Arbitrary<TraceEvent> = fc.oneof(
  fc.record({
    name: fc.constantFrom('xive_tctx_notify', 'xive_tctx_accept', 'xive_tctx_set_cppr' as const),
    target: u32,
    ring: u8,
    ipb: u8,
    pipr: u8,
    cppr: u8,
    nsr: u8,
  }),
  fc.record({
    name: fc.constantFrom('xive_source_esb_read', 'xive_source_esb_write' as const),
    addr: u64,
    srcno: u32,
    value: u64,
  }),
  fc.record({
    name: fc.constantFrom('xive_tctx_tm_read', 'xive_tctx_tm_write' as const),
    offset: u64,
    size: u32,
    value: u64,
  }),
  fc.record({ name: fc.constant('spapr_xive_set_source_config' as const), flags: u64, lisn: u64, target: u64, priority: u64, eisn: u64 }),
  fc.record({ name: fc.constant('spapr_xive_set_queue_config' as const), flags: u64, target: u64, priority: u64, qpage: u64, qsize: u64 }),
  fc.record({ name: fc.constant('spapr_xive_esb' as const), flags: u64, lisn: u64, offset: u64, data: u64 }),
  fc.record({ name: fc.constant('spapr_xive_reset' as const), flags: u64 }),
  fc.record({ name: fc.constant('spapr_xive_claim_irq' as const), lisn: u32, lsi: fc.boolean() }),
  fc.record({ name: fc.constant('xive_router_end_escalate' as const), endBlk: u8, endIdx: u32, escBlk: u8, escIdx: u32, endData: u32 }),
  fc.record({ name: fc.constant('xics_icp_eoi' as const), server: int, xirr: u32, newXirr: u32 }),
  fc.record({ name: fc.constant('xics_ics_write_xive' as const), nr: int, srcno: int, server: int, priority: u8 }),
  fc.record({ name: fc.constant('spapr_ovec_parse_vector' as const), vector: int, byte: int, vecLen: u16, entry: u8 }),
  fc.record({ name: fc.constant('spapr_cas_continue' as const), n: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) }),
  fc.record({ name: fc.constant('spapr_pci_msi' as const), msg: str, ca: u32 }),
  fc.record({ name: fc.constant('spapr_pci_msi_setup' as const), devName: str, vector: u32, addr: u64 }),
  fc.record({ name: fc.constant('spapr_pci_lsi_set' as const), busName: str, pin: int, irq: u32 }),
);

test('property: parse(format(ev)) gives back ev', () => {
  fc.assert(
    fc.property(events, (ev) => {
      const r = parseTraceLine(formatTraceEvent(ev));
      assert.equal(r.kind, 'event');
      // fc.record builds null-prototype objects; compare the plain copy.
      assert.deepEqual((r as { event: TraceEvent }).event, { ...ev });
    }),
    { numRuns: 3000 },
  );
});
