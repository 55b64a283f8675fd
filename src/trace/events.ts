/**
 * Trace events of the interrupt subsystem, named and shaped like QEMU 7.2's trace points
 * (hw/intc/trace-events, hw/ppc/trace-events), plus the guest-error log lines.
 *
 * The model reports what it does through a TraceSink. Events are plain objects so any consumer
 * (replay checker, Perfetto export, web view) can read them; they are only built when a sink is
 * attached, so an untraced model allocates nothing. `formatTraceEvent` (format.ts) turns an event
 * into the exact text of QEMU's "log" trace backend.
 */

/** One trace event: QEMU 7.2's trace point name and arguments, or a guest-error message. */
export type TraceEvent =
  // hw/intc/xive.c
  | { name: 'xive_tctx_accept'; target: number; ring: number; ipb: number; pipr: number; cppr: number; nsr: number }
  | { name: 'xive_tctx_notify'; target: number; ring: number; ipb: number; pipr: number; cppr: number; nsr: number }
  | { name: 'xive_tctx_set_cppr'; target: number; ring: number; ipb: number; pipr: number; cppr: number; nsr: number }
  | { name: 'xive_source_esb_read'; addr: bigint; srcno: number; value: bigint }
  | { name: 'xive_source_esb_write'; addr: bigint; srcno: number; value: bigint }
  | { name: 'xive_router_end_notify'; endBlk: number; endIdx: number; endData: number }
  | { name: 'xive_router_end_escalate'; endBlk: number; endIdx: number; escBlk: number; escIdx: number; endData: number }
  | { name: 'xive_tctx_tm_write'; offset: bigint; size: number; value: bigint }
  | { name: 'xive_tctx_tm_read'; offset: bigint; size: number; value: bigint }
  | { name: 'xive_presenter_notify'; nvtBlk: number; nvtIdx: number; ring: number }
  | { name: 'xive_end_source_read'; endBlk: number; endIdx: number; addr: bigint }
  // hw/intc/spapr_xive.c
  | { name: 'spapr_xive_claim_irq'; lisn: number; lsi: boolean }
  | { name: 'spapr_xive_free_irq'; lisn: number }
  | { name: 'spapr_xive_set_irq'; lisn: number; val: number }
  | { name: 'spapr_xive_get_source_info'; flags: bigint; lisn: bigint }
  | { name: 'spapr_xive_set_source_config'; flags: bigint; lisn: bigint; target: bigint; priority: bigint; eisn: bigint }
  | { name: 'spapr_xive_get_source_config'; flags: bigint; lisn: bigint }
  | { name: 'spapr_xive_get_queue_info'; flags: bigint; target: bigint; priority: bigint }
  | { name: 'spapr_xive_set_queue_config'; flags: bigint; target: bigint; priority: bigint; qpage: bigint; qsize: bigint }
  | { name: 'spapr_xive_get_queue_config'; flags: bigint; target: bigint; priority: bigint }
  | { name: 'spapr_xive_set_os_reporting_line'; flags: bigint }
  | { name: 'spapr_xive_get_os_reporting_line'; flags: bigint }
  | { name: 'spapr_xive_esb'; flags: bigint; lisn: bigint; offset: bigint; data: bigint }
  | { name: 'spapr_xive_sync'; flags: bigint; lisn: bigint }
  | { name: 'spapr_xive_reset'; flags: bigint }
  // hw/intc/xics.c
  | { name: 'xics_icp_check_ipi'; server: number; mfrr: number }
  | { name: 'xics_icp_accept'; oldXirr: number; newXirr: number }
  | { name: 'xics_icp_eoi'; server: number; xirr: number; newXirr: number }
  | { name: 'xics_icp_irq'; server: number; nr: number; priority: number }
  | { name: 'xics_icp_raise'; xirr: number; pendingPriority: number }
  | { name: 'xics_ics_set_irq_msi'; srcno: number; nr: number }
  | { name: 'xics_masked_pending' }
  | { name: 'xics_ics_set_irq_lsi'; srcno: number; nr: number }
  | { name: 'xics_ics_write_xive'; nr: number; srcno: number; server: number; priority: number }
  | { name: 'xics_ics_reject'; nr: number; srcno: number }
  | { name: 'xics_ics_eoi'; nr: number }
  // hw/ppc (CAS, option vectors, PCI MSI/LSI)
  | { name: 'spapr_cas_pvr'; curPvr: number; explicitMatch: boolean; newPvr: number }
  | { name: 'spapr_cas_continue'; n: number }
  | { name: 'spapr_ovec_parse_vector'; vector: number; byte: number; vecLen: number; entry: number }
  | { name: 'spapr_ovec_populate_dt'; byte: number; vecLen: number; entry: number }
  | { name: 'spapr_pci_msi'; msg: string; ca: number }
  | { name: 'spapr_pci_msi_setup'; devName: string; vector: number; addr: bigint }
  | { name: 'spapr_pci_rtas_ibm_change_msi'; cfg: number; func: number; req: number; first: number }
  | { name: 'spapr_pci_rtas_ibm_query_interrupt_source_number'; ioa: number; intr: number }
  | { name: 'spapr_pci_msi_write'; addr: bigint; data: bigint; dtIrq: number }
  | { name: 'spapr_pci_lsi_set'; busName: string; pin: number; irq: number }
  | { name: 'spapr_pci_msi_retry'; configAddr: number; reqNum: number; maxIrqs: number }
  // QEMU's guest-error log (-d guest_errors): the exact message, without the trailing newline
  | { name: 'guest_error'; message: string };

export type TraceEventName = TraceEvent['name'];

/** Where the model reports its trace events. */
export interface TraceSink {
  /** Receives one event (synchronously, as the model reports it). */
  emit(ev: TraceEvent): void;
}

/** A sink that keeps every event (tests, replay). */
export class TraceBuffer implements TraceSink {
  readonly events: TraceEvent[] = [];
  /** Keeps the event. */
  emit(ev: TraceEvent): void {
    this.events.push(ev);
  }
  /** Forgets the events kept so far. */
  clear(): void {
    this.events.length = 0;
  }
}

/**
 * Where every block of one machine reports: its trace sink (null when nobody listens, and then no
 * event object is even built) and the errors a guest makes. All the blocks of a machine hold the
 * same Tracer, so plugging or unplugging a sink is one assignment they all see.
 */
export class Tracer {
  constructor(public sink: TraceSink | null = null) {}

  /**
   * The guest did something the hardware refuses, ignores or cannot do (QEMU logs these as guest
   * errors): reported as a `guest_error` event, never as an exception.
   */
  guestError(message: string): void {
    if (this.sink !== null) this.sink.emit({ name: 'guest_error', message });
  }
}
