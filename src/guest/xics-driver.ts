/** The XICS reference guest driver under its long-standing module path (see ops-xics.ts). */
export * from './ops-xics.ts';
