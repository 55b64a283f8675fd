/**
 * Seeded generator of fuzz operations. It mixes
 *
 * - guest behaviour in the style of Linux (docs/spapr-xive.md §3, docs/xics.md §9), so that deep states
 *   are reached: queues configured, sources routed and unmasked, CPPR opened, interrupts raised,
 *   acknowledged, read from the event queue and EOI'd, masks toggled, contexts pulled and pushed;
 * - every hcall and RTAS call with edge-case and random arguments (reserved flags, priorities
 *   0xFF/0x106/7, targets past the last vCPU, unaligned or non-RAM queues, ESB offsets up to and
 *   past 0x20000, MSR[PR]=1, unknown opcodes);
 * - ESB and TIMA loads and stores at interesting and random offsets and sizes (all pages, special
 *   operation offsets, invalid sizes, unaligned, just outside the regions, the never-mapped END
 *   ESB region);
 * - device input (MSI pulses, LSI levels, unclaimed sources), CPU hotplug, IRQ claims/frees, CAS
 *   with valid and invalid option bytes, machine reset;
 * - the host operations of the pluggable list (host-ops.ts), each at its own rate.
 *
 * It reads the reference model's state to pick meaningful targets; the operations it returns are
 * plain data (ops.ts), so a run is reproduced by its seed and a failure can be shrunk.
 */
import * as H from '../spapr/hcall.ts';
import { OV5_XIVE_EXPLOIT, OV5_XIVE_LEGACY } from '../spapr/cas.ts';
import type { Op } from './ops.ts';
import { DEFAULT_DEVICE_IRQS, type IcModeName, type RefMachine } from './reference.ts';
import { END_BASE, ESB_PAGE, ESB_REGION, ESB_STRIDE, NVT_BASE, TIMA_SIZE, TM_BASE, VC_BASE, END_VALID, type RefXive } from './ref-xive.ts';
import type { RefXics } from './ref-xics.ts';
import type { HostContext, HostOperation } from './host-operation.ts';
import type { Rng } from './rng.ts';

const M64 = 0xffff_ffff_ffff_ffffn;
const EDGE64: readonly bigint[] = [
  0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 0xcn, 0x10n, 0xffn, 0x100n, 0x106n, 0x107n, 0x1ffn, 0x3ffn, 0x400n, 0x401n, 0xfffn,
  0x1000n, 0x1001n, 0x1200n, 0x1fffn, 0x2000n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 1n << 32n, (1n << 32n) + 1n,
  1n << 63n, (1n << 63n) | 0xffn, M64 - 1n, M64,
];
const XIVE_OPS = [
  H.H_INT_GET_SOURCE_INFO, H.H_INT_SET_SOURCE_CONFIG, H.H_INT_GET_SOURCE_CONFIG, H.H_INT_GET_QUEUE_INFO, H.H_INT_SET_QUEUE_CONFIG,
  H.H_INT_GET_QUEUE_CONFIG, H.H_INT_SET_OS_REPORTING_LINE, H.H_INT_GET_OS_REPORTING_LINE, H.H_INT_ESB, H.H_INT_SYNC, H.H_INT_RESET,
];
const XICS_OPS = [H.H_CPPR, H.H_EOI, H.H_IPI, H.H_IPOLL, H.H_XIRR, H.H_XIRR_X];
const OTHER_OPS = [0, 4, 0x60, 0x78, 0x3a4, 0x3d4, 0x3d8, 0xf000, 0x7fff_ffff];
const RTAS_NAMES = ['ibm,set-xive', 'ibm,get-xive', 'ibm,int-off', 'ibm,int-on'];
const RTAS_OTHER: readonly (string | number)[] = [0x200a, 0x200b, 0x200c, 0x200d, 0x2000, 0xa, 'ibm,nmi-register', 'display-character'];
/** ESB page offsets that select an operation (docs/xive.md §1.5), plus their 64K-page aliases. */
const ESB_OFFSETS = [0x000, 0x008, 0x3f8, 0x400, 0x7f8, 0x800, 0xbf8, 0xc00, 0xd00, 0xe00, 0xf00, 0xff8, 0x1800, 0x1c00, 0xfd00, 0xfff8];
/** TIMA offsets inside a page: ring registers, special operations, the 2K special-only area. */
const TIMA_OFFSETS = [
  0x00, 0x08, 0x10, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1c, 0x20, 0x22, 0x28, 0x2c, 0x30, 0x31, 0x32, 0x38, 0x3b, 0x3c,
  0x50, 0x58, 0x7f8, 0x800, 0x808, 0x810, 0x812, 0x818, 0x820, 0x828, 0x830, 0x838, 0xc08, 0xc10, 0xc20, 0xc30, 0x1810, 0xff8,
];
/** Device IRQs the guest uses besides the defaults: PCI MSIs claimed on demand. */
const EXTRA_MSIS = [0x1300, 0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x1306, 0x1307];
const EXTRA_LSIS = [0x1204, 0x1205];
/**
 * The option vector 5 byte 23 a guest usually sends at CAS, by ic-mode: what the machine offers,
 * XIVE two times in three when it offers both. (The one place the generator looks at the ic-mode.)
 */
const USUAL_CAS: Readonly<Record<IcModeName, readonly number[]>> = {
  xics: [OV5_XIVE_LEGACY],
  xive: [OV5_XIVE_EXPLOIT],
  dual: [OV5_XIVE_EXPLOIT, OV5_XIVE_EXPLOIT, OV5_XIVE_LEGACY],
};
/** Queue areas: 64 KiB slots for 4K/64K queues, 16 MiB slots for 2M/16M ones. */
const SMALL_QUEUES = 0x0100_0000;
const BIG_QUEUES = 0x2000_0000;

export class Generator {
  private readonly queue: Op[] = [];
  /** XICS: the XIRR each vCPU accepted and has not EOI'd yet, as Linux keeps it. */
  private readonly accepted = new Map<number, number[]>();
  private readonly devices: number[];
  private readonly lsiSet: Set<number>;

  constructor(
    private readonly rng: Rng,
    private readonly hostOps: readonly HostOperation[],
  ) {
    this.devices = [...DEFAULT_DEVICE_IRQS.map((d) => d.irq), ...EXTRA_MSIS, ...EXTRA_LSIS];
    this.lsiSet = new Set([...DEFAULT_DEVICE_IRQS.filter((d) => d.lsi).map((d) => d.irq), ...EXTRA_LSIS]);
  }

  next(ref: RefMachine, host: HostContext): Op {
    const q = this.queue.shift();
    if (q !== undefined && ref.applicable(q)) return q;
    const rng = this.rng;
    for (const h of this.hostOps) {
      if (rng.chance(h.perMille / 1000)) return { k: 'host', name: h.name, args: h.generate(host, rng) };
    }
    const r = rng.int(1000);
    if (r < 3) return this.cas(ref);
    if (r < 4 && rng.chance(0.4)) return { k: 'reset' };
    if (r < 5 && ref.vcpus.length < ref.cfg.maxCpus) {
      // A free id: random probes first (cheap with thousands of vCPUs), then the first free one.
      for (let i = 0; i < 8; i++) {
        const id = rng.int(ref.cfg.maxCpus);
        if (!ref.hasCpu(id)) return { k: 'plug', id };
      }
      for (let id = 0; id < ref.cfg.maxCpus; id++) if (!ref.hasCpu(id)) return { k: 'plug', id };
    }
    if (r < 8) return this.claimOrFree();
    if (r < 50) return this.randomHcall(ref);
    if (r < 60) return this.randomRtas(ref);
    if (r < 120) return this.randomMmio(ref);
    if (r < 190) return this.device(ref);
    // The guest of the active controller's interrupt model.
    return ref.active.driveGuest<Op>({
      xive: () => {
        if (!ref.xiveNegotiated()) {
          // A XIVE guest starts with CAS; until then its hcalls all answer H_FUNCTION.
          if (rng.chance(0.05)) return { k: 'cas', byte: OV5_XIVE_EXPLOIT };
          return rng.chance(0.5) ? this.randomMmio(ref) : this.randomHcall(ref);
        }
        return this.xiveGuest(ref, ref.xive!);
      },
      xics: () => {
        // Now and then, a guest on a machine that also has XIVE negotiates it.
        if (ref.xive !== null && rng.chance(0.002)) return { k: 'cas', byte: OV5_XIVE_EXPLOIT };
        return this.xicsGuest(ref, ref.xics!);
      },
    });
  }

  // ---- helpers --------------------------------------------------------------------------------
  private cpu(ref: RefMachine): number {
    return this.rng.pick(ref.vcpus);
  }

  /** A 64-bit argument: `sane` most of the time, else an edge value or a random one. */
  private arg(sane: bigint | (() => bigint)): bigint {
    const r = this.rng.int(20);
    if (r < 15) return typeof sane === 'function' ? sane() : sane;
    if (r < 19) return this.rng.pick(EDGE64);
    return this.rng.u64();
  }

  private lisn(ref: RefMachine): number {
    const rng = this.rng;
    const r = rng.int(10);
    if (r < 4) return rng.int(Math.min(ref.cfg.maxCpus, 64));
    if (r < 9) return rng.pick(this.devices);
    return rng.int(0x2000);
  }

  private prio(): number {
    const r = this.rng.int(10);
    return r < 6 ? 6 : r < 9 ? this.rng.int(7) : this.rng.pick([7, 0xff]);
  }

  private queueAddr(end: number, qsize: number): bigint {
    if (qsize <= 16) return BigInt(SMALL_QUEUES + (end % 0x1000) * 0x10000);
    return BigInt(BIG_QUEUES + (end % 16) * 0x100_0000);
  }

  private cas(ref: RefMachine): Op {
    const rng = this.rng;
    const asked = USUAL_CAS[ref.cfg.icMode];
    const usual = asked.length === 1 ? asked[0]! : rng.pick(asked);
    return { k: 'cas', byte: rng.chance(0.85) ? usual : rng.pick([0x80, 0xc0, 0x40, 0, 0x1, 0xff, 0x140, rng.int(256)]) };
  }

  private claimOrFree(): Op {
    const rng = this.rng;
    const irq = rng.chance(0.8) ? rng.pick([...EXTRA_MSIS, ...EXTRA_LSIS]) : rng.pick(this.devices.concat([0x1fff, 0x1400 + rng.int(0xc00)]));
    if (rng.chance(0.7)) return { k: 'claim', irq, lsi: this.lsiSet.has(irq) ? rng.chance(0.9) : rng.chance(0.1) };
    return { k: 'free', irq };
  }

  // ---- devices --------------------------------------------------------------------------------
  private device(ref: RefMachine): Op {
    const rng = this.rng;
    const irq = rng.chance(0.95) ? rng.pick(this.devices) : 0x1000 + rng.int(0x1000);
    // As the first claim made it: the XIVE source keeps its kind after a free, the ICS does not.
    const lsi = (ref.xive ?? ref.xics!).isLsi(irq);
    if (lsi) return { k: 'irq', irq, level: rng.chance(0.6) };
    return rng.chance(0.8) ? { k: 'msi', irq } : { k: 'irq', irq, level: rng.chance(0.5) };
  }

  // ---- random hcalls / RTAS / MMIO --------------------------------------------------------------
  private randomHcall(ref: RefMachine): Op {
    const rng = this.rng;
    const v = this.cpu(ref);
    const r = rng.int(20);
    const opcode = r < 12 ? rng.pick(XIVE_OPS) : r < 18 ? rng.pick(XICS_OPS) : rng.pick(OTHER_OPS);
    const target = () => BigInt(rng.chance(0.8) ? this.cpu(ref) : rng.range(0, ref.cfg.maxCpus + 2));
    const prio = () => BigInt(this.prio());
    const lisn = () => BigInt(this.lisn(ref));
    const flags = (valid: bigint[]) => this.arg(() => rng.pick(valid));
    let args: bigint[];
    switch (opcode) {
      case H.H_INT_GET_SOURCE_INFO:
      case H.H_INT_GET_SOURCE_CONFIG:
      case H.H_INT_SYNC:
        args = [flags([0n, 0n, 0n, 1n]), this.arg(lisn)];
        break;
      case H.H_INT_SET_SOURCE_CONFIG:
        args = [flags([0n, 1n, 2n, 3n, 4n]), this.arg(lisn), this.arg(target), this.arg(prio), this.arg(() => BigInt(rng.int(0x100)))];
        break;
      case H.H_INT_GET_QUEUE_INFO:
      case H.H_INT_GET_QUEUE_CONFIG:
        args = [flags([0n, 1n, 1n, 2n]), this.arg(target), this.arg(prio)];
        break;
      case H.H_INT_SET_QUEUE_CONFIG: {
        const qs = rng.pick([0n, 12n, 16n, 16n, 21n, 24n, 13n, 17n, 25n]);
        const t = this.arg(target);
        const p = this.arg(prio);
        const end = Number(t & 0xfffn) * 8 + Number(p & 7n);
        const qpage = this.arg(() => rng.chance(0.7) ? this.queueAddr(end, Number(qs)) : rng.pick([0n, 0x1000n, 0x10000n, 0x3fff_0000n, 0x3f00_0000n, 0x4000_0000n, 0x1234n, 1n << 44n]));
        args = [flags([0n, 1n, 1n, 2n]), t, p, qpage, this.arg(qs)];
        break;
      }
      case H.H_INT_ESB: {
        const off = () => BigInt(rng.chance(0.8) ? rng.pick(ESB_OFFSETS) : rng.pick([0x10000, 0x1fff8, 0x20000, 0x20001, 0x20008, rng.int(0x20010)]));
        args = [flags([0n, 1n, 1n]), this.arg(lisn), this.arg(off), this.arg(0n)];
        break;
      }
      case H.H_CPPR:
        args = [this.arg(() => BigInt(rng.pick([0xff, 0, 4, 5, rng.int(256)])))];
        break;
      case H.H_IPI:
      case H.H_IPOLL:
        args = [this.arg(target), this.arg(() => BigInt(rng.pick([4, 0xff, 0, 5, rng.int(256)])))];
        break;
      case H.H_EOI:
        args = [this.arg(() => BigInt(((rng.pick([0xff, 0, 4, 5]) << 24) | rng.pick([2, 0, ...this.devices, rng.int(0x100_0000)])) >>> 0))];
        break;
      default:
        args = [this.arg(0n), this.arg(0n)];
    }
    while (args.length < 6 && rng.chance(0.3)) args.push(rng.u64());
    return { k: 'hcall', vcpu: v, opcode, args, pr: rng.chance(0.03) };
  }

  private randomRtas(ref: RefMachine): Op {
    const rng = this.rng;
    const call = rng.chance(0.9) ? rng.pick(RTAS_NAMES) : rng.pick(RTAS_OTHER);
    const irq = rng.chance(0.8) ? rng.pick(this.devices) : rng.pick([0, 2, 0xfff, 0x2000, 0xffff_ffff, rng.int(0x3000)]);
    const server = rng.chance(0.8) ? this.cpu(ref) : rng.pick([ref.cfg.maxCpus, 0x8000_0000, 0xffff_ffff, 7]);
    const prio = rng.pick([5, 4, 0xff, 0, 7, 0x100, 0xffff_ffff]);
    const wantSet = call === 'ibm,set-xive' || call === 0x200a;
    let args = wantSet ? [irq, server, prio] : [irq];
    let nret = call === 'ibm,get-xive' || call === 0x200b ? 3 : 1;
    if (rng.chance(0.1)) args = args.concat([rng.u32()]).slice(0, rng.int(4));
    if (rng.chance(0.1)) nret = rng.pick([0, 1, 2, 3, 4]);
    return { k: 'rtas', vcpu: this.cpu(ref), call, args, nret };
  }

  private randomMmio(ref: RefMachine): Op {
    const rng = this.rng;
    const v = this.cpu(ref);
    const r = rng.int(20);
    let addr: number;
    let size = rng.chance(0.85) ? 8 : rng.pick([1, 2, 4, 3, 16, 0]);
    if (r < 10) {
      const lisn = this.lisn(ref);
      addr = VC_BASE + lisn * ESB_STRIDE + (rng.chance(0.7) ? ESB_PAGE : 0) + (rng.chance(0.85) ? rng.pick(ESB_OFFSETS) : rng.int(0x10000));
    } else if (r < 18) {
      addr = TM_BASE + rng.int(4) * 0x10000 + (rng.chance(0.85) ? rng.pick(TIMA_OFFSETS) : rng.int(0x10000));
      size = rng.pick([1, 2, 4, 8, 8, 4, 2, 1, 3]);
      if (rng.chance(0.8)) addr -= addr % Math.max(1, size === 3 ? 1 : size);
    } else {
      addr = rng.pick([VC_BASE - 8, VC_BASE + ESB_REGION - 8, VC_BASE + ESB_REGION, END_BASE + rng.int(0x100) * 0x10000, TM_BASE - 8, TM_BASE + TIMA_SIZE - 8, TM_BASE + TIMA_SIZE, 0, 0x4a9_0000]);
    }
    if (rng.chance(0.03)) addr += rng.pick([1, 2, 4]);
    if (rng.chance(0.5)) return { k: 'load', vcpu: v, addr, size };
    const value = rng.chance(0.5) ? rng.pick([0, 0xff, 0x80, 0x8000_0000, (0x8000_0000 | (NVT_BASE + v)) >>> 0, 5, 6, 0x44332211]) : rng.u32();
    return { k: 'store', vcpu: v, addr, size, lo: value, hi: rng.chance(0.5) ? 0 : rng.u32() };
  }

  // ---- a XIVE guest -----------------------------------------------------------------------------
  private configured(x: RefXive, v: number, p: number): boolean {
    return (x.end[(v * 8 + p) * 8]! & END_VALID) !== 0;
  }

  private xiveGuest(ref: RefMachine, x: RefXive): Op {
    const rng = this.rng;
    const v = this.cpu(ref);
    const tima = (page: number, off: number) => TM_BASE + page * 0x10000 + off;
    const hc = (opcode: number, args: bigint[]): Op => ({ k: 'hcall', vcpu: v, opcode, args, pr: false });
    const mgmt = (lisn: number, off: number) => VC_BASE + lisn * ESB_STRIDE + ESB_PAGE + off;
    const w = [
      1, // 0 configure a queue
      10, // 1 route a source
      6, // 2 CPPR
      22, // 3 raise an interrupt
      20, // 4 take interrupts
      4, // 5 mask / unmask
      4, // 6 queries
      1, // 7 teardown
      2, // 8 pull / push the OS context
      2, // 9 SET_OS_PENDING and PHYS ring
      3, // 10 LSI level down
      0.5, // 11 a burst of one source (fills and wraps event queues)
    ];
    // A guest without queues first sets them up.
    if (!this.configured(x, v, 6)) w[0] = 40;
    switch (rng.weighted(w)) {
      case 0: {
        const p = rng.chance(0.7) ? 6 : rng.int(7);
        const qsize = rng.pick([16, 16, 16, 12, 12, 21, 24]);
        return hc(H.H_INT_SET_QUEUE_CONFIG, [rng.chance(0.85) ? 1n : 0n, BigInt(v), BigInt(p), this.queueAddr(v * 8 + p, qsize), BigInt(qsize)]);
      }
      case 1: {
        const lisn = this.lisn(ref);
        if (lisn >= 0x1300 && (x.easHi[lisn]! & 0x8000_0000) === 0 && rng.chance(0.5)) return { k: 'claim', irq: lisn, lsi: this.lsiSet.has(lisn) };
        const p = rng.chance(0.8) ? 6 : this.prio();
        const flags = rng.pick([2n, 2n, 2n, 3n, 0n]);
        this.queue.push(this.unmask(v, lisn, x.lsi[lisn] === 1));
        return hc(H.H_INT_SET_SOURCE_CONFIG, [flags, BigInt(lisn), BigInt(v), BigInt(p), BigInt(0x10 + rng.int(0x40))]);
      }
      case 2:
        return { k: 'store', vcpu: v, addr: tima(2, 0x11), size: 1, lo: rng.chance(0.8) ? 0xff : rng.pick([0, 5, 6, 7, 0x10]), hi: 0 };
      case 3: {
        const lisn = this.lisn(ref);
        const lsi = x.lsi[lisn] === 1;
        if (lsi) return { k: 'irq', irq: lisn, level: true };
        if (lisn >= 0x1000 && rng.chance(0.5)) return { k: 'msi', irq: lisn };
        return { k: 'store', vcpu: v, addr: VC_BASE + lisn * ESB_STRIDE + (rng.chance(0.9) ? 0 : rng.pick([0x10000, 0x10800])), size: 8, lo: 0, hi: 0 };
      }
      case 4:
        return this.xiveHandle(x, v);
      case 5: {
        const lisn = this.lisn(ref);
        const off = rng.pick([0xc00, 0xd00, 0xe00, 0xf00, 0x800]);
        if (x.lsi[lisn] === 1 || rng.chance(0.2)) return hc(H.H_INT_ESB, [0n, BigInt(lisn), BigInt(off), 0n]);
        return { k: 'load', vcpu: v, addr: mgmt(lisn, off), size: 8 };
      }
      case 6: {
        const lisn = BigInt(this.lisn(ref));
        const p = BigInt(this.prio());
        return rng.pick([
          hc(H.H_INT_GET_SOURCE_INFO, [0n, lisn]),
          hc(H.H_INT_GET_SOURCE_CONFIG, [0n, lisn]),
          hc(H.H_INT_GET_QUEUE_INFO, [0n, BigInt(v), p]),
          hc(H.H_INT_GET_QUEUE_CONFIG, [rng.chance(0.5) ? 1n : 0n, BigInt(v), p]),
          hc(H.H_INT_SYNC, [0n, lisn]),
          hc(H.H_INT_RESET, [0n]),
        ]);
      }
      case 7:
        if (rng.chance(0.5)) return hc(H.H_INT_SET_QUEUE_CONFIG, [0n, BigInt(v), BigInt(rng.chance(0.7) ? 6 : rng.int(7)), 0n, 0n]);
        return hc(H.H_INT_SET_SOURCE_CONFIG, [0n, BigInt(this.lisn(ref)), BigInt(v), 0xffn, 0n]);
      case 8: {
        const w2 = x.word2(x.tctx.get(v)!, 0x10);
        if ((w2 & 0x8000_0000) !== 0 && rng.chance(0.5)) return { k: 'load', vcpu: v, addr: tima(rng.pick([0, 1]), 0x818), size: rng.pick([4, 8]) };
        const cam = rng.chance(0.85) ? (0x8000_0000 | (NVT_BASE + v)) >>> 0 : rng.pick([0x8000_0000 | (NVT_BASE + this.cpu(ref)), NVT_BASE + v, 0, rng.u32()]) >>> 0;
        return { k: 'store', vcpu: v, addr: tima(rng.pick([0, 1]), 0x18), size: 4, lo: cam, hi: 0 };
      }
      case 9:
        return rng.pick<Op>([
          { k: 'store', vcpu: v, addr: tima(2, 0x812), size: 1, lo: rng.pick([0, 5, 6, 7, 0xff]), hi: 0 },
          { k: 'store', vcpu: v, addr: tima(1, 0x31), size: 1, lo: rng.pick([0xff, 0, 6]), hi: 0 },
          { k: 'load', vcpu: v, addr: tima(1, 0x830), size: 2 },
          { k: 'store', vcpu: v, addr: tima(1, 0x38), size: 1, lo: rng.pick([0x80, 0]), hi: 0 },
          { k: 'store', vcpu: v, addr: tima(0, 0x28), size: 4, lo: rng.pick([0x8000_0000 | (NVT_BASE + v), 0]) >>> 0, hi: 0 },
          { k: 'store', vcpu: v, addr: tima(0, 0x10), size: 4, lo: rng.u32(), hi: 0 },
        ]);
      case 10: {
        const lsis = this.devices.filter((d) => x.lsi[d] === 1);
        return lsis.length > 0 ? { k: 'irq', irq: rng.pick(lsis), level: false } : this.device(ref);
      }
      default: {
        // Trigger and EOI one routed source many times in a row, without reading the queue.
        const routed = this.devices.concat([v]).filter((l) => (x.easHi[l]! & 0x8000_0000) !== 0 && (x.easLo[l]! & 0x8000_0000) === 0 && x.lsi[l] === 0);
        const lisn = routed.length > 0 && rng.chance(0.9) ? rng.pick(routed) : this.lisn(ref);
        const n = rng.range(20, 300);
        for (let i = 0; i < n; i++) {
          this.queue.push({ k: 'store', vcpu: v, addr: VC_BASE + lisn * ESB_STRIDE, size: 8, lo: 0, hi: 0 });
          this.queue.push({ k: 'load', vcpu: v, addr: mgmt(lisn, 0xc00), size: 8 });
        }
        return { k: 'store', vcpu: v, addr: tima(2, 0x11), size: 1, lo: 0xff, hi: 0 };
      }
    }
  }

  private unmask(v: number, lisn: number, lsi: boolean): Op {
    if (lsi) return { k: 'hcall', vcpu: v, opcode: H.H_INT_ESB, args: [0n, BigInt(lisn), 0xc00n, 0n], pr: false };
    return { k: 'load', vcpu: v, addr: VC_BASE + lisn * ESB_STRIDE + ESB_PAGE + 0xc00, size: 8 };
  }

  /** ACK, read the queue, EOI the sources routed there (re-trigger on Q), CPPR back to 0xFF. */
  private xiveHandle(x: RefXive, v: number): Op {
    const rng = this.rng;
    const tm = TM_BASE + 0x20000;
    this.queue.push({ k: 'eq-pop', vcpu: v, prio: rng.chance(0.9) ? 6 : rng.int(8), max: rng.pick([1, 2, 4, 16]) });
    const routed = this.devices.concat([v]).filter((l) => (x.easHi[l]! & 0x8000_0000) !== 0 && (x.easHi[l]! & 0xffffff) >>> 3 === v);
    if (routed.length > 0 && rng.chance(0.9)) {
      const lisn = rng.pick(routed);
      if (x.lsi[lisn] === 1) {
        if (rng.chance(0.5)) this.queue.push({ k: 'irq', irq: lisn, level: false });
        this.queue.push({ k: 'hcall', vcpu: v, opcode: H.H_INT_ESB, args: [0n, BigInt(lisn), 0n, 0n], pr: false });
      } else {
        const pq = x.status[lisn]! & 3;
        this.queue.push({ k: 'load', vcpu: v, addr: VC_BASE + lisn * ESB_STRIDE + ESB_PAGE + (rng.chance(0.8) ? 0xc00 : 0), size: 8 });
        if (pq === 3) this.queue.push({ k: 'store', vcpu: v, addr: VC_BASE + lisn * ESB_STRIDE, size: 8, lo: 0, hi: 0 });
      }
    }
    if (rng.chance(0.8)) this.queue.push({ k: 'store', vcpu: v, addr: tm + 0x11, size: 1, lo: 0xff, hi: 0 });
    return { k: 'load', vcpu: v, addr: tm + 0x810, size: 2 };
  }

  // ---- an XICS guest ----------------------------------------------------------------------------
  private xicsGuest(ref: RefMachine, xs: RefXics): Op {
    const rng = this.rng;
    const v = this.cpu(ref);
    const hc = (opcode: number, args: bigint[]): Op => ({ k: 'hcall', vcpu: v, opcode, args, pr: false });
    const irq = rng.pick(this.devices);
    const s = irq - 0x1000;
    switch (rng.weighted([6, 10, 22, 10, 25, 3, 3])) {
      case 0:
        return hc(H.H_CPPR, [BigInt(rng.chance(0.8) ? 0xff : rng.pick([0, 4, 5, 6]))]);
      case 1: {
        if (irq >= 0x1300 && (xs.flags[s]! & 3) === 0 && rng.chance(0.5)) return { k: 'claim', irq, lsi: this.lsiSet.has(irq) };
        const server = rng.chance(0.9) ? this.cpu(ref) : 0;
        const r = rng.int(10);
        if (r < 5) {
          this.queue.push({ k: 'rtas', vcpu: v, call: 'ibm,int-on', args: [irq], nret: 1 });
          return { k: 'rtas', vcpu: v, call: 'ibm,set-xive', args: [irq, server, rng.chance(0.8) ? 5 : rng.int(8)], nret: 1 };
        }
        if (r < 7) {
          this.queue.push({ k: 'rtas', vcpu: v, call: 'ibm,set-xive', args: [irq, 0, 0xff], nret: 1 });
          return { k: 'rtas', vcpu: v, call: 'ibm,int-off', args: [irq], nret: 1 };
        }
        if (r < 8) return { k: 'rtas', vcpu: v, call: 'ibm,int-on', args: [irq], nret: 1 };
        return { k: 'rtas', vcpu: v, call: 'ibm,get-xive', args: [irq], nret: 3 };
      }
      case 2:
        if ((xs.flags[s]! & 1) !== 0) return { k: 'irq', irq, level: rng.chance(0.7) };
        return { k: 'msi', irq };
      case 3: {
        const t = this.cpu(ref);
        return hc(H.H_IPI, [BigInt(t), BigInt(rng.chance(0.8) ? 4 : rng.pick([0xff, 0, 5]))]);
      }
      case 4: {
        const pend = this.accepted.get(v) ?? [];
        if (pend.length > 0 && rng.chance(0.6)) {
          // Linux EOIs with the XIRR it accepted (the CPPR it had, and the source).
          const x = pend.pop()!;
          const src = x & 0xff_ffff;
          if (src === 2) {
            // An IPI handler first clears its own MFRR.
            this.queue.push(hc(H.H_EOI, [BigInt(x)]));
            return hc(H.H_IPI, [BigInt(v), 0xffn]);
          }
          if (src >= 0x1000 && src < 0x2000 && (xs.flags[src - 0x1000]! & 1) !== 0 && rng.chance(0.5)) {
            // A serviced LSI device lowers its line before the EOI.
            this.queue.push(hc(H.H_EOI, [BigInt(x)]));
            return { k: 'irq', irq: src, level: false };
          }
          return hc(H.H_EOI, [BigInt(x)]);
        }
        const icp = xs.icpOf(v)!;
        if ((icp.xirr & 0xff_ffff) !== 0) {
          pend.push(icp.xirr);
          if (pend.length > 8) pend.shift();
          this.accepted.set(v, pend);
        }
        return hc(rng.chance(0.9) ? H.H_XIRR : H.H_XIRR_X, [BigInt(icp.xirr >>> 24)]);
      }
      case 5:
        return hc(H.H_IPOLL, [BigInt(this.cpu(ref))]);
      default:
        return hc(H.H_EOI, [BigInt(((rng.pick([0xff, 5, 4]) << 24) | rng.pick([2, irq, 0])) >>> 0)]);
    }
  }
}
