/** The XIVE reference guest driver under its long-standing module path (see ops-xive.ts). */
export * from './ops-xive.ts';
