/** `xive demo`: placeholder until the reference guest driver lands. */
import type { Io } from './replay.ts';
export const DEMO_HELP = 'Usage: xive demo --smp N --ic-mode xive [--events K] [--seed X]\n';
export function demoCommand(_argv: string[], io: Io): number {
  io.err('xive demo: not available yet\n');
  return 2;
}
