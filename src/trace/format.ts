/**
 * Renders trace events as the exact lines of QEMU 7.2's "log" trace backend
 * (`<event_name> <message>`, no trailing newline).
 *
 * Every event is described once, by its QEMU format string and the C type of each argument.
 * The same compiled templates drive the parser (parse.ts), so printing and parsing cannot drift
 * apart. Values are first narrowed to their C argument type (a uint8_t argument keeps its low 8
 * bits, a uint64_t its low 64), then printed with printf semantics, because that is what QEMU
 * would have written for the same call.
 */

import type { TraceEvent, TraceEventName } from './events.ts';

/** C argument types as they matter for printf: width, signedness, representation. */
export type CType = 'u8' | 'u16' | 'u32' | 'int' | 'bool' | 'u64' | 'ulong' | 'str';

/** printf conversions used by the event formats (`%x`, `%02x`, `%.2x` all become 'x'). */
export type Conv = 'd' | 'u' | 'x' | 'llx' | 'ld' | 's';

export type QemuEventName = Exclude<TraceEventName, 'guest_error'>;

type EventOf<N extends TraceEventName> = Extract<TraceEvent, { name: N }>;

// The table below is checked against the union: every field present, and a C type that fits
// the field's TypeScript type (bigint fields must be u64, and so on).
type CTypeFor<T> = [T] extends [bigint]
  ? 'u64'
  : [T] extends [boolean]
    ? 'bool'
    : [T] extends [string]
      ? 'str'
      : 'u8' | 'u16' | 'u32' | 'int' | 'ulong';

type ArgTypes<N extends TraceEventName> = {
  readonly [K in Exclude<keyof EventOf<N>, 'name'>]: CTypeFor<EventOf<N>[K]>;
};

/**
 * Format string and argument C types of each event. Argument order is the key order of the
 * `args` object, which must follow the order of the conversions in the format.
 */
const SPECS: { readonly [N in QemuEventName]: { readonly fmt: string; readonly args: ArgTypes<N> } } = {
  // hw/intc/xive.c
  xive_tctx_accept: {
    fmt: 'target=%d ring=0x%x IBP=0x%02x PIPR=0x%02x CPPR=0x%02x NSR=0x%02x ACK',
    args: { target: 'u32', ring: 'u8', ipb: 'u8', pipr: 'u8', cppr: 'u8', nsr: 'u8' },
  },
  xive_tctx_notify: {
    fmt: 'target=%d ring=0x%x IBP=0x%02x PIPR=0x%02x CPPR=0x%02x NSR=0x%02x raise !',
    args: { target: 'u32', ring: 'u8', ipb: 'u8', pipr: 'u8', cppr: 'u8', nsr: 'u8' },
  },
  xive_tctx_set_cppr: {
    fmt: 'target=%d ring=0x%x IBP=0x%02x PIPR=0x%02x new CPPR=0x%02x NSR=0x%02x',
    args: { target: 'u32', ring: 'u8', ipb: 'u8', pipr: 'u8', cppr: 'u8', nsr: 'u8' },
  },
  xive_source_esb_read: {
    fmt: '@0x%llx IRQ 0x%x val=0x%llx',
    args: { addr: 'u64', srcno: 'u32', value: 'u64' },
  },
  xive_source_esb_write: {
    fmt: '@0x%llx IRQ 0x%x val=0x%llx',
    args: { addr: 'u64', srcno: 'u32', value: 'u64' },
  },
  xive_router_end_notify: {
    fmt: 'END 0x%02x/0x%04x -> enqueue 0x%08x',
    args: { endBlk: 'u8', endIdx: 'u32', endData: 'u32' },
  },
  xive_router_end_escalate: {
    fmt: 'END 0x%02x/0x%04x -> escalate END 0x%02x/0x%04x data 0x%08x',
    args: { endBlk: 'u8', endIdx: 'u32', escBlk: 'u8', escIdx: 'u32', endData: 'u32' },
  },
  xive_tctx_tm_write: {
    fmt: '@0x%llx sz=%d val=0x%llx',
    args: { offset: 'u64', size: 'u32', value: 'u64' },
  },
  xive_tctx_tm_read: {
    fmt: '@0x%llx sz=%d val=0x%llx',
    args: { offset: 'u64', size: 'u32', value: 'u64' },
  },
  xive_presenter_notify: {
    fmt: 'found NVT 0x%x/0x%x ring=0x%x',
    args: { nvtBlk: 'u8', nvtIdx: 'u32', ring: 'u8' },
  },
  xive_end_source_read: {
    fmt: 'END 0x%x/0x%x @0x%llx',
    args: { endBlk: 'u8', endIdx: 'u32', addr: 'u64' },
  },

  // hw/intc/spapr_xive.c
  spapr_xive_claim_irq: { fmt: 'lisn=0x%x lsi=%d', args: { lisn: 'u32', lsi: 'bool' } },
  spapr_xive_free_irq: { fmt: 'lisn=0x%x', args: { lisn: 'u32' } },
  spapr_xive_set_irq: { fmt: 'lisn=0x%x val=%d', args: { lisn: 'u32', val: 'u32' } },
  spapr_xive_get_source_info: { fmt: 'flags=0x%llx lisn=0x%llx', args: { flags: 'u64', lisn: 'u64' } },
  spapr_xive_set_source_config: {
    fmt: 'flags=0x%llx lisn=0x%llx target=0x%llx priority=0x%llx eisn=0x%llx',
    args: { flags: 'u64', lisn: 'u64', target: 'u64', priority: 'u64', eisn: 'u64' },
  },
  spapr_xive_get_source_config: { fmt: 'flags=0x%llx lisn=0x%llx', args: { flags: 'u64', lisn: 'u64' } },
  spapr_xive_get_queue_info: {
    fmt: 'flags=0x%llx target=0x%llx priority=0x%llx',
    args: { flags: 'u64', target: 'u64', priority: 'u64' },
  },
  spapr_xive_set_queue_config: {
    fmt: 'flags=0x%llx target=0x%llx priority=0x%llx qpage=0x%llx qsize=0x%llx',
    args: { flags: 'u64', target: 'u64', priority: 'u64', qpage: 'u64', qsize: 'u64' },
  },
  spapr_xive_get_queue_config: {
    fmt: 'flags=0x%llx target=0x%llx priority=0x%llx',
    args: { flags: 'u64', target: 'u64', priority: 'u64' },
  },
  spapr_xive_set_os_reporting_line: { fmt: 'flags=0x%llx', args: { flags: 'u64' } },
  spapr_xive_get_os_reporting_line: { fmt: 'flags=0x%llx', args: { flags: 'u64' } },
  spapr_xive_esb: {
    fmt: 'flags=0x%llx lisn=0x%llx offset=0x%llx data=0x%llx',
    args: { flags: 'u64', lisn: 'u64', offset: 'u64', data: 'u64' },
  },
  spapr_xive_sync: { fmt: 'flags=0x%llx lisn=0x%llx', args: { flags: 'u64', lisn: 'u64' } },
  spapr_xive_reset: { fmt: 'flags=0x%llx', args: { flags: 'u64' } },

  // hw/intc/xics.c
  xics_icp_check_ipi: { fmt: 'CPU %d can take IPI mfrr=0x%x', args: { server: 'int', mfrr: 'u8' } },
  xics_icp_accept: { fmt: 'icp_accept: XIRR 0x%x->0x%x', args: { oldXirr: 'u32', newXirr: 'u32' } },
  xics_icp_eoi: {
    fmt: 'icp_eoi: server %d given XIRR 0x%x new XIRR 0x%x',
    args: { server: 'int', xirr: 'u32', newXirr: 'u32' },
  },
  xics_icp_irq: {
    fmt: 'cpu %d trying to deliver irq 0x%x priority 0x%x',
    args: { server: 'int', nr: 'int', priority: 'u8' },
  },
  xics_icp_raise: {
    fmt: 'raising IRQ new XIRR=0x%x new pending priority=0x%x',
    args: { xirr: 'u32', pendingPriority: 'u8' },
  },
  xics_ics_set_irq_msi: { fmt: 'set_irq_msi: srcno %d [irq 0x%x]', args: { srcno: 'int', nr: 'int' } },
  xics_masked_pending: { fmt: 'set_irq_msi: masked pending', args: {} },
  xics_ics_set_irq_lsi: { fmt: 'set_irq_lsi: srcno %d [irq 0x%x]', args: { srcno: 'int', nr: 'int' } },
  xics_ics_write_xive: {
    fmt: 'ics_write_xive: irq 0x%x [src %d] server 0x%x prio 0x%x',
    args: { nr: 'int', srcno: 'int', server: 'int', priority: 'u8' },
  },
  xics_ics_reject: { fmt: 'reject irq 0x%x [src %d]', args: { nr: 'int', srcno: 'int' } },
  xics_ics_eoi: { fmt: 'ics_eoi: irq 0x%x', args: { nr: 'int' } },

  // hw/ppc
  spapr_cas_pvr: {
    fmt: 'current=0x%x, explicit_match=%u, new=0x%x',
    args: { curPvr: 'u32', explicitMatch: 'bool', newPvr: 'u32' },
  },
  spapr_cas_continue: { fmt: 'Copy changes to the guest: %ld bytes', args: { n: 'ulong' } },
  spapr_ovec_parse_vector: {
    fmt: 'read guest vector %2d, byte %3d / %3d: 0x%.2x',
    args: { vector: 'int', byte: 'int', vecLen: 'u16', entry: 'u8' },
  },
  spapr_ovec_populate_dt: {
    fmt: 'encoding guest vector byte %3d / %3d: 0x%.2x',
    args: { byte: 'int', vecLen: 'u16', entry: 'u8' },
  },
  spapr_pci_msi: { fmt: '%s (cfg=0x%x)', args: { msg: 'str', ca: 'u32' } },
  spapr_pci_msi_setup: {
    fmt: 'dev"%s" vector %u, addr=0x%llx',
    args: { devName: 'str', vector: 'u32', addr: 'u64' },
  },
  spapr_pci_rtas_ibm_change_msi: {
    fmt: 'cfgaddr 0x%x func %u, requested %u, first irq %u',
    args: { cfg: 'u32', func: 'u32', req: 'u32', first: 'u32' },
  },
  spapr_pci_rtas_ibm_query_interrupt_source_number: {
    fmt: 'queries for #%u, IRQ%u',
    args: { ioa: 'u32', intr: 'u32' },
  },
  spapr_pci_msi_write: {
    fmt: '@0x%llx<=0x%llx IRQ %u',
    args: { addr: 'u64', data: 'u64', dtIrq: 'u32' },
  },
  spapr_pci_lsi_set: { fmt: '%s PIN%d IRQ %u', args: { busName: 'str', pin: 'int', irq: 'u32' } },
  spapr_pci_msi_retry: {
    fmt: 'Guest device at 0x%x asked %u, have only %u',
    args: { configAddr: 'u32', reqNum: 'u32', maxIrqs: 'u32' },
  },
};

export const TOK_LIT = 0;
export const TOK_CONV = 1;

export interface LitTok {
  readonly kind: typeof TOK_LIT;
  readonly text: string;
}

export interface ConvTok {
  readonly kind: typeof TOK_CONV;
  readonly field: string;
  readonly ctype: CType;
  readonly conv: Conv;
  /** Minimum number of characters (d, u) or digits (x); 0 when the format gives none. */
  readonly width: number;
  /** Padding used up to `width`: zeros for `%02x`/`%.2x`, spaces for `%3d`. */
  readonly zeroPad: boolean;
}

export type Tok = LitTok | ConvTok;

export interface EventTemplate {
  readonly name: QemuEventName;
  readonly fmt: string;
  readonly toks: readonly Tok[];
  /** The event name followed by the separating space: the start of every line. */
  readonly prefix: string;
  /** The conversions alone, in order (one per field). */
  readonly convs: readonly ConvTok[];
  /** Whether a field prints with %s. */
  readonly hasString: boolean;
}

// Only the conversions the event formats use; anything else is a table mistake.
const DIRECTIVE = /%(0|\.)?([1-9][0-9]*)?(ll|l)?([duxs])/g;

function compile(name: QemuEventName, fmt: string, args: Readonly<Record<string, CType>>): EventTemplate {
  const fields = Object.keys(args);
  const toks: Tok[] = [];
  let last = 0;
  let argi = 0;
  for (const m of fmt.matchAll(DIRECTIVE)) {
    const at = m.index;
    if (at > last) toks.push({ kind: TOK_LIT, text: fmt.slice(last, at) });
    last = at + m[0].length;
    const flag = m[1] ?? '';
    const width = m[2] === undefined ? 0 : Number(m[2]);
    const len = m[3] ?? '';
    const spec = m[4] ?? '';
    let conv: Conv;
    if (len === 'll' && spec === 'x' && flag === '' && width === 0) conv = 'llx';
    else if (len === 'l' && spec === 'd' && flag === '' && width === 0) conv = 'ld';
    else if (len === '' && spec === 's' && flag === '' && width === 0) conv = 's';
    else if (len === '' && spec === 'x') conv = 'x';
    // `%.Nd` pads negatives differently from `%0Nd`; no format needs either.
    else if (len === '' && (spec === 'd' || spec === 'u') && flag === '') conv = spec;
    else throw new Error(`${name}: unsupported conversion ${m[0]}`);
    const field = fields[argi++];
    if (field === undefined) throw new Error(`${name}: more conversions than arguments`);
    const ctype = args[field] as CType;
    const fits =
      conv === 'llx' ? ctype === 'u64' : conv === 'ld' ? ctype === 'ulong' : conv === 's' ? ctype === 'str' : ctype !== 'u64' && ctype !== 'ulong' && ctype !== 'str';
    if (!fits) throw new Error(`${name}: ${field} (${ctype}) cannot be printed with ${m[0]}`);
    toks.push({ kind: TOK_CONV, field, ctype, conv, width, zeroPad: flag !== '' });
  }
  if (last < fmt.length) toks.push({ kind: TOK_LIT, text: fmt.slice(last) });
  if (argi !== fields.length) throw new Error(`${name}: fewer conversions than arguments`);
  // The parser scans numbers greedily and finds a string's end by the literal after it; both
  // rely on what follows a conversion.
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok;
    if (t.kind !== TOK_CONV) continue;
    const next = toks[i + 1];
    if (next !== undefined && next.kind !== TOK_LIT) throw new Error(`${name}: adjacent conversions`);
    if (t.conv === 's' && next === undefined) throw new Error(`${name}: %s must be followed by text`);
    const digitLike = t.conv === 'x' || t.conv === 'llx' ? /^[0-9a-f]/ : /^[0-9]/;
    if (t.conv !== 's' && next !== undefined && digitLike.test(next.text)) {
      throw new Error(`${name}: a number is followed by a digit-like character`);
    }
  }
  const convs = toks.filter((t): t is ConvTok => t.kind === TOK_CONV);
  return { name, fmt, toks, prefix: `${name} `, convs, hasString: convs.some((t) => t.conv === 's') };
}

function compileAll(): ReadonlyMap<string, EventTemplate> {
  const map = new Map<string, EventTemplate>();
  for (const name of Object.keys(SPECS) as QemuEventName[]) {
    const spec = SPECS[name];
    map.set(name, compile(name, spec.fmt, spec.args as Readonly<Record<string, CType>>));
  }
  return map;
}

/** Compiled templates of every QEMU trace event of the union (`guest_error` is not one). */
export const TEMPLATES: ReadonlyMap<string, EventTemplate> = compileAll();

/** The value a C argument of this type would hold (integers wrap like the C conversion). */
function cInt(ctype: CType, v: unknown): number {
  switch (ctype) {
    case 'u8':
      return (v as number) & 0xff;
    case 'u16':
      return (v as number) & 0xffff;
    case 'u32':
      return (v as number) >>> 0;
    case 'bool':
      return v ? 1 : 0;
    default:
      return (v as number) | 0;
  }
}

function formatConv(t: ConvTok, v: unknown): string {
  switch (t.conv) {
    case 's':
      return v as string;
    case 'llx':
      return BigInt.asUintN(64, v as bigint).toString(16);
    case 'ld':
      return String(Math.trunc(v as number));
    case 'x': {
      const s = (cInt(t.ctype, v) >>> 0).toString(16);
      return t.width > s.length ? s.padStart(t.width, '0') : s;
    }
    case 'u': {
      const s = String(cInt(t.ctype, v) >>> 0);
      return t.width > s.length ? s.padStart(t.width, ' ') : s;
    }
    case 'd': {
      // `%d` reinterprets an unsigned 32-bit argument as signed, as C does.
      const s = String(cInt(t.ctype, v) | 0);
      return t.width > s.length ? s.padStart(t.width, ' ') : s;
    }
  }
}

/** The line QEMU's log backend writes for this event, without the newline. */
export function formatTraceEvent(ev: TraceEvent): string {
  if (ev.name === 'guest_error') return ev.message;
  const t = TEMPLATES.get(ev.name);
  if (t === undefined) throw new Error(`formatTraceEvent: unknown event name ${JSON.stringify(ev.name)}`);
  const rec = ev as unknown as Readonly<Record<string, unknown>>;
  let s = t.prefix;
  const toks = t.toks;
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i] as Tok;
    s += tok.kind === TOK_LIT ? tok.text : formatConv(tok, rec[tok.field]);
  }
  return s;
}

/**
 * Whether `formatTraceEvent(a) === formatTraceEvent(b)`, decided on the fields without building
 * either line (a replay asks this for every event of a log). Each field is compared as it
 * prints: narrowed to its C type. For the numeric conversions that is exact: the literal text
 * between conversions is fixed and never starts with a digit-like character (compile() checks
 * it), so a line splits into its numbers one way only, and each printed form is one-to-one with
 * the narrowed value. Events with a %s field, where a string could contain the text around it,
 * are compared as lines.
 */
export function sameTraceLine(a: TraceEvent, b: TraceEvent): boolean {
  if (a.name !== b.name) return false;
  if (a.name === 'guest_error') return a.message === (b as { message: string }).message;
  const t = TEMPLATES.get(a.name);
  if (t === undefined) throw new Error(`sameTraceLine: unknown event name ${JSON.stringify(a.name)}`);
  if (t.hasString) return formatTraceEvent(a) === formatTraceEvent(b);
  const ra = a as unknown as Readonly<Record<string, unknown>>;
  const rb = b as unknown as Readonly<Record<string, unknown>>;
  const convs = t.convs;
  for (let i = 0; i < convs.length; i++) {
    const tok = convs[i]!;
    const x = ra[tok.field];
    const y = rb[tok.field];
    if (x !== y && !samePrinted(tok, x, y)) return false;
  }
  return true;
}

/** Do two different values of a field print the same (they can after narrowing)? */
function samePrinted(t: ConvTok, x: unknown, y: unknown): boolean {
  switch (t.conv) {
    case 'llx':
      return BigInt.asUintN(64, x as bigint) === BigInt.asUintN(64, y as bigint);
    case 'x':
    case 'u':
      return cInt(t.ctype, x) >>> 0 === cInt(t.ctype, y) >>> 0;
    case 'd':
      return (cInt(t.ctype, x) | 0) === (cInt(t.ctype, y) | 0);
    default:
      return formatConv(t, x) === formatConv(t, y);
  }
}
