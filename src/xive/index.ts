/**
 * The XIVE (eXternal Interrupt Virtualization Engine) blocks of POWER9, as the package subpath
 * `xive/xive`: register and table layouts, the ESB (Event State Buffer) PQ state machine, the
 * source, the router (EAS and END tables), the presenter, the thread contexts and the TIMA
 * (Thread Interrupt Management Area).
 *
 * @module xive/xive
 */
export * from './regs.ts';
export { pqTrigger, pqTriggerForwards, pqEoi, pqEoiForwards } from './esb.ts';
export { XiveSource, ESB_ALL_ONES, type SourceNotifier, type XiveSourceState } from './source.ts';
export { XiveRouter, NVT_MISSING, NVT_INVALID, NVT_VALID, type NvtStore, type Presenter, type XiveRouterState } from './router.ts';
export { XivePresenter } from './presenter.ts';
export { ThreadContext, type TctxState } from './tctx.ts';
export { Tima, type TimaHooks } from './tima.ts';
