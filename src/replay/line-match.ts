/**
 * How the replay reads a parsed log line (line-window.ts keeps its numbers in a typed array):
 * the role of each event in the replay, and whether an event the model reported prints as the
 * logged line. Comparing numbers to numbers spares building an event object or a line of text
 * for each of the millions of lines of a long log.
 */
import type { TraceEvent } from '../trace/events.ts';
import { sameTraceLine, type ConvTok } from '../trace/format.ts';
import { TEMPLATE_LIST, templateIndex } from '../trace/parse.ts';
import { OUTPUT_ONLY, isModelEvent } from './classes.ts';
import { XICS_OUTPUTS } from './xics-actions.ts';

/** What a line is to the replay. */
export const SKIP = 0;
/** An action whose events the log shows after it. */
export const PRE = 1;
/** An action whose events the log shows before it (loads print their result when done). */
export const POST = 2;
/** Only ever a consequence of an action. */
export const OUTPUT = 3;
/** Part of the guest's client-architecture-support call. */
export const CAS = 4;

function kindOf(name: string): number {
  if (name === 'spapr_cas_pvr' || name === 'spapr_cas_continue' || name === 'spapr_ovec_parse_vector') return CAS;
  if (!isModelEvent(name)) return SKIP;
  if (OUTPUT_ONLY.has(name) || XICS_OUTPUTS.has(name)) return OUTPUT;
  if (name === 'xive_source_esb_read' || name === 'xive_tctx_tm_read' || name === 'xive_end_source_read') return POST;
  return PRE;
}

/** The kind of each template, by its index in TEMPLATE_LIST. */
export const KIND: Uint8Array = Uint8Array.from(TEMPLATE_LIST, (t) => kindOf(t.name));

function idx(name: string): number {
  const i = templateIndex(name);
  if (i < 0) throw new Error(`no template ${name}`);
  return i;
}

/** Template indices of the events the replay handles by number. */
export const T = {
  spapr_xive_claim_irq: idx('spapr_xive_claim_irq'),
  spapr_xive_set_irq: idx('spapr_xive_set_irq'),
  xive_source_esb_read: idx('xive_source_esb_read'),
  xive_source_esb_write: idx('xive_source_esb_write'),
  xive_tctx_tm_read: idx('xive_tctx_tm_read'),
  xive_tctx_tm_write: idx('xive_tctx_tm_write'),
  xive_tctx_accept: idx('xive_tctx_accept'),
  xive_tctx_set_cppr: idx('xive_tctx_set_cppr'),
  xive_tctx_notify: idx('xive_tctx_notify'),
} as const;

const U64_MAX = (1n << 64n) - 1n;

/** The value a C argument of this type holds, as printed by %x/%u (unsigned) or %d (signed). */
function printedInt(t: ConvTok, v: unknown): number {
  let c: number;
  switch (t.ctype) {
    case 'u8':
      c = (v as number) & 0xff;
      break;
    case 'u16':
      c = (v as number) & 0xffff;
      break;
    case 'u32':
      c = (v as number) >>> 0;
      break;
    case 'bool':
      c = v ? 1 : 0;
      break;
    default:
      c = (v as number) | 0;
  }
  return t.conv === 'd' ? c | 0 : c >>> 0;
}

/** Where the event of a parsed line comes from when the numbers alone cannot tell (line-window.ts). */
export interface LoggedEvents {
  event(line: number): TraceEvent;
}

/**
 * Whether the model's event prints as line `line`, of template `ti`, whose numbers are f[base..]
 * (as sameTraceLine would say of the line's event, which `logged` builds when needed: the
 * source and the line rather than a closure, so that nothing is allocated per line).
 */
export function matchesLine(ev: TraceEvent, ti: number, f: Float64Array, base: number, logged: LoggedEvents, line: number): boolean {
  const t = TEMPLATE_LIST[ti]!;
  if (t.name !== ev.name) return false;
  if (t.hasString) return sameTraceLine(ev, logged.event(line));
  const rec = ev as unknown as Readonly<Record<string, unknown>>;
  const convs = t.convs;
  for (let k = 0; k < convs.length; k++) {
    const tok = convs[k]!;
    const x = rec[tok.field];
    const v = f[base + k]!;
    switch (tok.conv) {
      case 'llx': {
        const b = x as bigint;
        if (Number(b) === v) break;
        // A number past 13 hex digits, or a model value that only prints the same once cut
        // to 64 bits: compare as the formatter prints.
        if (v !== v || b < 0n || b > U64_MAX) return sameTraceLine(ev, logged.event(line));
        return false;
      }
      case 'ld':
        if (Math.trunc(x as number) !== v) return false;
        break;
      default: {
        const p = printedInt(tok, x);
        if (p !== (tok.conv === 'd' ? v | 0 : v >>> 0)) return false;
      }
    }
  }
  return true;
}

/** Number of values an event of template `ti` carries (its fields but the name). */
export function fieldCount(ti: number): number {
  return TEMPLATE_LIST[ti]!.convs.length;
}
