/**
 * The legacy XICS (eXternal Interrupt Controller Specification) blocks, as the package subpath
 * `xive/xics`: the ICS (Interrupt Controller Source) and the ICP (Interrupt Controller
 * Presentation) of each vCPU, and their `info pic` text.
 *
 * @module xive/xics
 */
export { Ics, XICS_IRQ_BASE, XICS_NR_IRQS, XICS_IPI, type IcsState, type XicsFabric, type XicsPresenter } from './ics.ts';
export { Icp, SimpleXicsFabric, type IcpState } from './icp.ts';
export { xicsInfoPic, maskPicPointers, XICS_PIC_POINTER } from './info-pic.ts';
