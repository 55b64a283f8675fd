/**
 * QEMU's interrupt state (pseries.ts) as rows of named fields in the architecture's terms, for
 * listing, JSON output and field-by-field comparison of two streams:
 *
 *   machine            type, CPU, ic-mode, active controller, vCPUs, VSMT, max-cpus, RAM
 *   ov5, msi           negotiated option vector 5 bytes, MSI allocations
 *   CPU n              the vCPU: id, halted, and its presenter (ICP fields on XICS)
 *   CPU n OS|PHYS|…    a XIVE thread-context ring: NSR, CPPR, IPB, LSMFB, ACK#, INC, AGE, PIPR, W2
 *   LISN 0x…           a claimed XIVE source: PQ, asserted, and its EAS: masked, END, EISN
 *   END 0x…            a valid END: flags, queue size and address, index, generation, ESn/ESe,
 *                      NVT and priority
 *   ICS 0x…            a claimed XICS source: kind, server, priority, saved priority, status
 *   PHB n              a PCI host bridge: BUID, LSIs, MSI blocks
 *
 * Values are numbers, booleans or short strings (register bytes in hex, as `info pic` prints
 * them), so rows survive JSON unchanged.
 */
import * as R from '../../xive/regs.ts';
import { getField } from '../../base/bits.ts';
import { spaprNvtVcpu } from '../../spapr/xive-layout.ts';
import { SPAPR_IRQ_MSI } from '../../spapr/irq-map.ts';
import { OV5_INT_CTRL_BYTE, OV5_XIVE_EXPLOIT } from '../../spapr/cas.ts';
import type { QemuPseriesState } from './pseries.ts';

/** One field of a decoded row. */
export type FieldValue = number | boolean | string;
/** One entry of the interrupt state (a source, an EAS, an END, a thread context, …), field by field. */
export type Row = Record<string, FieldValue>;

const RINGS = ['USER', 'OS', 'POOL', 'PHYS'] as const;
const XICS_STATUS = ['asserted', 'sent', 'rejected', 'masked-pending', 'presented', 'queued'];

function hex(v: number, width = 2): string {
  return (v >>> 0).toString(16).padStart(width, '0');
}

function pq(v: number): string {
  return `${v & 2 ? 'P' : '-'}${v & 1 ? 'Q' : '-'}`;
}

/** The controller the negotiated option vector selects. */
export function activeController(q: QemuPseriesState): 'xive' | 'xics' {
  if (q.xics === null) return 'xive';
  if (q.xive === null) return 'xics';
  return (q.ov5[OV5_INT_CTRL_BYTE]! & OV5_XIVE_EXPLOIT) !== 0 ? 'xive' : 'xics';
}

/** Every row, in a stable order (machine first, then per CPU, then sources, ENDs, PHBs). */
export function stateRows(q: QemuPseriesState, ramSize: number): Map<string, Row> {
  const rows = new Map<string, Row>();
  rows.set('machine', {
    type: q.machineType,
    cpu: q.cpu,
    'ic-mode': q.icMode,
    active: activeController(q),
    vcpus: q.cpus.map((c) => `${c.cpuIndex}:${c.vcpuId}`).join(' '),
    'vcpu-ids-from': q.inferredFrom.vcpuIds,
    vsmt: q.vsmt,
    'max-cpus': q.maxCpus,
    'max-cpus-from': q.inferredFrom.maxCpus,
    'ram-mib': ramSize / 2 ** 20,
  });
  const ov5: Row = {};
  q.ov5.forEach((b, i) => {
    if (b !== 0) ov5[`byte${i}`] = hex(b);
  });
  rows.set('ov5', ov5);
  rows.set('msi', { allocated: q.irqMap === null ? '' : ranges(q.irqMap, SPAPR_IRQ_MSI) });

  for (const c of q.cpus) {
    const row: Row = { 'vcpu-id': c.vcpuId, halted: c.halted };
    if (c.icp !== null) {
      Object.assign(row, { xirr: hex(c.icp.xirr, 8), cppr: hex(c.icp.xirr >>> 24), xisr: hex(c.icp.xirr & 0xffffff, 6), pp: hex(c.icp.pendingPriority), mfrr: hex(c.icp.mfrr) });
    }
    rows.set(`CPU ${c.cpuIndex}`, row);
    if (c.tctx !== null) {
      const v = new DataView(c.tctx.buffer, c.tctx.byteOffset, c.tctx.byteLength);
      RINGS.forEach((name, i) => {
        const o = i * R.TM_RING_SIZE;
        const b = c.tctx!;
        rows.set(`CPU ${c.cpuIndex} ${name}`, {
          nsr: hex(b[o + R.TM_NSR]!),
          cppr: hex(b[o + R.TM_CPPR]!),
          ipb: hex(b[o + R.TM_IPB]!),
          lsmfb: hex(b[o + R.TM_LSMFB]!),
          'ack#': hex(b[o + R.TM_ACK_CNT]!),
          inc: hex(b[o + R.TM_INC]!),
          age: hex(b[o + R.TM_AGE]!),
          pipr: hex(b[o + R.TM_PIPR]!),
          w2: hex(v.getUint32(o + R.TM_WORD2, false), 8),
        });
      });
    }
  }

  if (q.xive !== null) {
    const eas = new DataView(q.xive.eas.buffer, q.xive.eas.byteOffset, q.xive.eas.byteLength);
    for (let lisn = 0; lisn < q.xive.nrIrqs; lisn++) {
      const hi = eas.getUint32(lisn * 8, false);
      const lo = eas.getUint32(lisn * 8 + 4, false);
      const st = q.xive.status[lisn]!;
      // An unclaimed source (EAS all zero) is listed only when its PQ bits left the reset value
      // QEMU gives every source (off: Q set) or it is asserted.
      if (hi === 0 && lo === 0 && (st === 0 || st === R.PQ_OFF)) continue;
      rows.set(`LISN 0x${hex(lisn, 4)}`, {
        pq: pq(st & R.SRC_STATUS_PQ),
        asserted: (st & R.SRC_STATUS_ASSERTED) !== 0,
        valid: (hi & R.EAS_HI_VALID) !== 0,
        masked: (lo & R.EAS_LO_MASKED) !== 0,
        'end-block': getField(R.EAS_HI_END_BLOCK, hi),
        'end-index': getField(R.EAS_HI_END_INDEX, hi),
        eisn: hex(getField(R.EAS_LO_END_DATA, lo), 8),
      });
    }
    const ends = new DataView(q.xive.ends.buffer, q.xive.ends.byteOffset, q.xive.ends.byteLength);
    for (let e = 0; e < q.xive.nrEnds; e++) {
      const w = (k: number): number => ends.getUint32(e * R.END_BYTES + 4 * k, false);
      if (w(0) === 0 && (w(1) === R.END_W1_RESET || w(1) === 0) && [2, 3, 4, 5, 6, 7].every((k) => w(k) === 0)) continue;
      const w0 = w(0);
      const qsize = getField(R.END_W0_QSIZE, w0);
      rows.set(`END 0x${hex(e, 4)}`, {
        valid: (w0 & R.END_W0_VALID) !== 0,
        enqueue: (w0 & R.END_W0_ENQUEUE) !== 0,
        'ucond-notify': (w0 & R.END_W0_UCOND_NOTIFY) !== 0,
        backlog: (w0 & R.END_W0_BACKLOG) !== 0,
        escalate: (w0 & R.END_W0_ESCALATE_CTL) !== 0,
        'queue-entries': 2 ** (qsize + 10),
        'queue-addr': `0x${(getField(R.END_W2_OP_DESC_HI, w(2)) * 0x1_0000_0000 + w(3)).toString(16)}`,
        index: getField(R.END_W1_PAGE_OFF, w(1)),
        generation: getField(R.END_W1_GENERATION, w(1)),
        esn: pq(getField(R.END_W1_ESN, w(1))),
        ese: pq(getField(R.END_W1_ESE, w(1))),
        'nvt-block': getField(R.END_W6_NVT_BLOCK, w(6)),
        'nvt-index': hex(getField(R.END_W6_NVT_INDEX, w(6)), 4),
        vcpu: spaprNvtVcpu(getField(R.END_W6_NVT_INDEX, w(6))),
        priority: getField(R.END_W7_F0_PRIORITY, w(7)),
      });
    }
  }

  if (q.xics !== null) {
    const x = q.xics;
    for (let i = 0; i < x.nrIrqs; i++) {
      if (x.flags[i] === 0 && x.status[i] === 0 && x.server[i] === 0 && x.priority[i] === 0xff && x.savedPriority[i] === 0xff) continue;
      rows.set(`ICS 0x${hex(0x1000 + i, 4)}`, {
        kind: x.flags[i] === 1 ? 'LSI' : x.flags[i] === 2 ? 'MSI' : 'unclaimed',
        server: x.server[i]!,
        priority: hex(x.priority[i]!),
        'saved-priority': hex(x.savedPriority[i]!),
        status: XICS_STATUS.filter((_, b) => (x.status[i]! >> b) & 1).join(',') || '-',
      });
    }
  }

  for (const p of q.phbs) {
    rows.set(`PHB ${p.index}`, {
      buid: `0x${p.buid.toString(16)}`,
      lsis: p.lsis.map((l) => `0x${hex(l, 4)}`).join(' '),
      msis: p.msis.map((m) => `${hex(m.config, 6)}:0x${hex(m.firstIrq, 4)}+${m.count}`).join(' '),
    });
  }
  return rows;
}

/** Set entries of a 0/1 map as IRQ ranges ("0x1300-0x1301 0x1308"). */
function ranges(map: Uint8Array, base: number): string {
  const out: string[] = [];
  for (let i = 0; i < map.length; i++) {
    if (map[i] === 0) continue;
    let j = i;
    while (j + 1 < map.length && map[j + 1] !== 0) j++;
    out.push(j === i ? `0x${hex(base + i, 4)}` : `0x${hex(base + i, 4)}-0x${hex(base + j, 4)}`);
    i = j;
  }
  return out.join(' ');
}

/** One difference between two streams' rows. */
export interface RowDiff {
  row: string;
  field: string;
  a: FieldValue | null;
  b: FieldValue | null;
}

/**
 * Field-by-field differences, rows in A's order then those only B has; a row missing on one
 * side shows its fields against null.
 */
export function diffRows(a: ReadonlyMap<string, Row>, b: ReadonlyMap<string, Row>): RowDiff[] {
  const out: RowDiff[] = [];
  const keys = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  for (const k of keys) {
    const ra = a.get(k);
    const rb = b.get(k);
    const fields = [...Object.keys(ra ?? {}), ...Object.keys(rb ?? {}).filter((f) => ra === undefined || !(f in ra))];
    for (const f of fields) {
      const va = ra?.[f] ?? null;
      const vb = rb?.[f] ?? null;
      if (va !== vb) out.push({ row: k, field: f, a: va, b: vb });
    }
  }
  return out;
}
