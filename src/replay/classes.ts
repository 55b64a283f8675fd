/**
 * How the replay reads each QEMU trace event of the model's subsystems: the hcall behind each
 * spapr_xive_* hcall event, and the events that are only ever consequences of an action.
 */
import * as H from '../spapr/hcall.ts';
import { IC_MODE_BACKENDS, IC_MODES, type IcMode } from '../spapr/cas.ts';
import { INTC_NAMES, INTC_TRACE_PREFIXES, type IntcName } from '../spapr/intc.ts';
import { TEMPLATE_LIST } from '../trace/parse.ts';

export const OUTPUT_ONLY = new Set([
  'xive_presenter_notify',
  'xive_tctx_notify',
  'xive_tctx_accept',
  'xive_tctx_set_cppr',
  'xive_router_end_notify',
  'xive_router_end_escalate',
]);

export const HCALL_EVENTS: ReadonlyMap<string, number> = new Map([
  ['spapr_xive_get_source_info', H.H_INT_GET_SOURCE_INFO],
  ['spapr_xive_set_source_config', H.H_INT_SET_SOURCE_CONFIG],
  ['spapr_xive_get_source_config', H.H_INT_GET_SOURCE_CONFIG],
  ['spapr_xive_get_queue_info', H.H_INT_GET_QUEUE_INFO],
  ['spapr_xive_set_queue_config', H.H_INT_SET_QUEUE_CONFIG],
  ['spapr_xive_get_queue_config', H.H_INT_GET_QUEUE_CONFIG],
  ['spapr_xive_set_os_reporting_line', H.H_INT_SET_OS_REPORTING_LINE],
  ['spapr_xive_get_os_reporting_line', H.H_INT_GET_OS_REPORTING_LINE],
  ['spapr_xive_esb', H.H_INT_ESB],
  ['spapr_xive_sync', H.H_INT_SYNC],
  ['spapr_xive_reset', H.H_INT_RESET],
]);

/** Events of the model's own subsystems: they are checked, never skipped. */
export function isModelEvent(name: string): boolean {
  return name.startsWith('xive_') || name.startsWith('spapr_xive_') || name.startsWith('xics_');
}


/**
 * A log of a controller the machine does not have cannot be replayed on it (its actions would
 * reach a backend the machine does not have): why the event of template `ti` cannot be on an
 * `icMode` machine, or null.
 */
const ARTICLE: Readonly<Record<IntcName, string>> = { xics: 'an', xive: 'a' };

const OWNER: readonly (IntcName | undefined)[] = TEMPLATE_LIST.map((t) => INTC_NAMES.find((c) => INTC_TRACE_PREFIXES[c].some((pre) => t.name.startsWith(pre))));

export function mismatchOf(ti: number, icMode: IcMode): string | null {
  const owner = OWNER[ti];
  if (owner === undefined || IC_MODE_BACKENDS[icMode].includes(owner)) return null;
  const modes = IC_MODES.filter((m) => IC_MODE_BACKENDS[m].includes(owner));
  const name = owner.toUpperCase();
  return `${TEMPLATE_LIST[ti]!.name} is ${ARTICLE[owner]} ${name} event, but ic-mode ${icMode} has no ${name} controller: use --ic-mode ${modes.join(' or ')}`;
}
