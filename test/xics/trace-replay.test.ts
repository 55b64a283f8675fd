/**
 * The model against QEMU 7.2 captures (docs/xics.md §6): the IPI traffic of the xics-smp2 corpus
 * replayed through the hcalls and RTAS calls Linux makes (with the untraced H_CPPR(0xFF) at CPU
 * bring-up and H_IPI(self, 0xFF) in the IPI handler), every emitted line compared with the
 * capture and the final `info pic` with the captured one; and the MSI/LSI sequences of the
 * supplementary capture line by line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceLine } from '../../src/trace/parse.ts';
import type { TraceEvent } from '../../src/trace/events.ts';
import { H_CPPR, H_EOI, H_IPI, H_XIRR, xicsRtas } from '../../src/spapr/xics-hcalls.ts';
import { H_SUCCESS } from '../../src/spapr/hcall.ts';
import { maskPicPointers, xicsInfoPic } from '../../src/xics/info-pic.ts';
import { hcall, rig, src, take, type Rig } from './helpers.ts';
import { captureLines, captureText } from '../support/captures.ts';

const TRACE = captureLines('xics-smp2').filter((l) => l !== '');
const PIC = captureText('xics-smp2', 'pic');

interface Step {
  line: string;
  ev: TraceEvent;
}

function ok(r: Rig, cpu: number, op: number, args: bigint[]): bigint[] {
  const res = hcall(r, cpu, op, args);
  assert.equal(res.ret, H_SUCCESS, `hcall 0x${op.toString(16)} on CPU ${cpu} failed with ${res.ret}`);
  return res.regs;
}

/**
 * Drives the rig with the guest operations each traced operation implies and checks that the
 * model emits exactly the traced lines, in order. Returns the number of lines checked.
 */
function replay(r: Rig, lines: readonly string[]): number {
  const steps: Step[] = [];
  for (const line of lines) {
    const p = parseTraceLine(line);
    assert.equal(p.kind === 'event' || p.kind === 'other', true, `unparsed line ${line}`);
    if (p.kind === 'event' && p.event.name.startsWith('xics_')) steps.push({ line, ev: p.event });
  }
  // CPUs already accepted and not yet EOIed, to attribute accepts that could be either CPU.
  const inHandler = new Set<number>();
  let pos = 0;
  const expectEmitted = (what: string): void => {
    const got = take(r);
    const want = steps.slice(pos, pos + got.length).map((s) => s.line);
    assert.deepEqual(got, want, `${what} (trace step ${pos})`);
    assert.ok(got.length > 0, `${what} emitted nothing (trace step ${pos}: ${steps[pos]?.line})`);
    pos += got.length;
  };
  while (pos < steps.length) {
    const ev = steps[pos]!.ev;
    switch (ev.name) {
      case 'xics_icp_check_ipi': {
        // Sent by another vCPU with H_IPI(target, mfrr).
        ok(r, (ev.server + 1) % r.icps.length, H_IPI, [BigInt(ev.server), BigInt(ev.mfrr)]);
        expectEmitted(`H_IPI(${ev.server}, ${ev.mfrr})`);
        break;
      }
      case 'xics_icp_accept': {
        const cands = r.icps.filter((i) => i.xirr === ev.oldXirr && (i.pendingPriority << 24) >>> 0 === ev.newXirr && !inHandler.has(i.cpuIndex));
        assert.ok(cands.length > 0, `no ICP can produce ${steps[pos]!.line}`);
        let cpu = cands[0]!.cpuIndex;
        if (cands.length > 1) {
          const next = steps.slice(pos + 1).find((s) => s.ev.name === 'xics_icp_eoi' && cands.some((c) => c.cpuIndex === (s.ev as { server: number }).server) && !inHandler.has((s.ev as { server: number }).server));
          cpu = (next!.ev as { server: number }).server;
        }
        const regs = ok(r, cpu, H_XIRR, [0xffn]);
        assert.equal(regs[0], BigInt(ev.oldXirr));
        inHandler.add(cpu);
        expectEmitted(`H_XIRR on CPU ${cpu}`);
        break;
      }
      case 'xics_icp_eoi': {
        const icp = r.icps[ev.server]!;
        // Linux's IPI handler clears its own MFRR before the EOI (untraced: 0xff is never < CPPR).
        if ((ev.xirr & 0xffffff) === 2 && icp.mfrr !== 0xff) ok(r, ev.server, H_IPI, [BigInt(icp.server), 0xffn]);
        ok(r, ev.server, H_EOI, [BigInt(ev.xirr)]);
        inHandler.delete(ev.server);
        expectEmitted(`H_EOI(${ev.xirr.toString(16)}) on CPU ${ev.server}`);
        break;
      }
      case 'xics_ics_write_xive': {
        assert.deepEqual(xicsRtas(r.ctx, 'ibm,set-xive', [ev.nr, ev.server, ev.priority], 1), [0]);
        expectEmitted(`ibm,set-xive(${ev.nr.toString(16)})`);
        break;
      }
      default:
        assert.fail(`no guest operation known to produce ${steps[pos]!.line}`);
    }
  }
  return pos;
}

/** A 2-vCPU machine as the corpus has it, both CPUs opened by Linux's H_CPPR(0xFF). */
function corpusRig(): Rig {
  const r = rig({ smp: 2, trace: true });
  for (const icp of r.icps) ok(r, icp.cpuIndex, H_CPPR, [0xffn]);
  assert.deepEqual(take(r), []);
  return r;
}

test('xics-smp2: the first 300 lines re-emitted byte for byte', () => {
  const r = corpusRig();
  const n = replay(r, TRACE.slice(0, 300));
  assert.equal(n, 298);
});

test('xics-smp2: the whole capture re-emitted byte for byte, final info pic identical (pointers masked)', () => {
  const r = corpusRig();
  const n = replay(r, TRACE);
  assert.equal(n, 8163);
  assert.equal(maskPicPointers(xicsInfoPic(r.icps, r.ics)), maskPicPointers(PIC));
});

test('supplementary capture: PCI MSI pulse, accept, EOI', () => {
  const r = rig({ open: true });
  assert.ok(r.ics.claim(0x1301, false));
  xicsRtas(r.ctx, 'ibm,set-xive', [0x1301, 0, 5], 1);
  take(r);
  r.ics.setIrq(src(0x1301), true);
  r.ics.setIrq(src(0x1301), false);
  const x = ok(r, 0, H_XIRR, [0xffn])[0]!;
  ok(r, 0, H_EOI, [x]);
  assert.deepEqual(take(r), [
    'xics_ics_set_irq_msi set_irq_msi: srcno 769 [irq 0x1301]',
    'xics_icp_irq cpu 0 trying to deliver irq 0x1301 priority 0x5',
    'xics_icp_raise raising IRQ new XIRR=0xff001301 new pending priority=0x5',
    'xics_ics_set_irq_msi set_irq_msi: srcno 769 [irq 0x1301]',
    'xics_icp_accept icp_accept: XIRR 0xff001301->0x5000000',
    'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001301 new XIRR 0xff000000',
    'xics_ics_eoi ics_eoi: irq 0x1301',
  ]);
});

test('supplementary capture: LSI rejected on a tie, resent by the EOI of the MSI, then handled', () => {
  const r = rig({ open: true });
  assert.ok(r.ics.claim(0x1301, false));
  xicsRtas(r.ctx, 'ibm,set-xive', [0x1301, 0, 5], 1);
  xicsRtas(r.ctx, 'ibm,set-xive', [0x1201, 0, 5], 1);
  r.ics.setIrq(src(0x1301), true);
  r.ics.setIrq(src(0x1301), false);
  take(r);
  r.ics.setIrq(src(0x1201), true);
  let x = ok(r, 0, H_XIRR, [0xffn])[0]!;
  ok(r, 0, H_EOI, [x]);
  x = ok(r, 0, H_XIRR, [0xffn])[0]!;
  r.ics.setIrq(src(0x1201), false); // the driver read the device's ISR
  ok(r, 0, H_EOI, [x]);
  assert.deepEqual(take(r), [
    'xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]',
    'xics_icp_irq cpu 0 trying to deliver irq 0x1201 priority 0x5',
    'xics_ics_reject reject irq 0x1201 [src 513]',
    'xics_icp_accept icp_accept: XIRR 0xff001301->0x5000000',
    'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001301 new XIRR 0xff000000',
    'xics_ics_eoi ics_eoi: irq 0x1301',
    'xics_icp_irq cpu 0 trying to deliver irq 0x1201 priority 0x5',
    'xics_icp_raise raising IRQ new XIRR=0xff001201 new pending priority=0x5',
    'xics_icp_accept icp_accept: XIRR 0xff001201->0x5000000',
    'xics_ics_set_irq_lsi set_irq_lsi: srcno 513 [irq 0x1201]',
    'xics_icp_eoi icp_eoi: server 0 given XIRR 0xff001201 new XIRR 0xff000000',
    'xics_ics_eoi ics_eoi: irq 0x1201',
  ]);
  assert.equal(r.ics.status[src(0x1201)], 0);
});

test('supplementary capture: INTx writes at device init while masked deliver nothing', () => {
  const r = rig({ open: true });
  for (const irq of [0x1200, 0x1201, 0x1202, 0x1203]) r.ics.setIrq(src(irq), false);
  assert.deepEqual(take(r), [0, 1, 2, 3].map((i) => `xics_ics_set_irq_lsi set_irq_lsi: srcno ${512 + i} [irq 0x${(0x1200 + i).toString(16)}]`));
});
