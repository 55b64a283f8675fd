/**
 * CpuLines port: the interrupt outputs of the controller towards each vCPU.
 * POWER9 has two external interrupt inputs per thread: INT (OS-level external interrupt, driven
 * by the XIVE OS ring or the XICS ICP) and HINT (hypervisor external interrupt, driven by the
 * POOL and PHYS rings).
 */

/** The INT input: the OS-level external interrupt (XIVE OS ring, XICS ICP). */
export const LINE_INT = 0;
/** The HINT input: the hypervisor external interrupt (XIVE POOL and PHYS rings). */
export const LINE_HINT = 1;

/**
 * The interrupt outputs of the controller towards each vCPU (the embedder's CPU model plugs in
 * here).
 */
export interface CpuLines {
  /** Called on every change of level of one vCPU input. */
  setLine(cpuIndex: number, line: number, level: boolean): void;
}

/** Keeps the current level of every line (default port). */
export class LineState implements CpuLines {
  private readonly levels = new Map<number, number>();
  setLine(cpuIndex: number, line: number, level: boolean): void {
    const cur = this.levels.get(cpuIndex) ?? 0;
    this.levels.set(cpuIndex, level ? cur | (1 << line) : cur & ~(1 << line));
  }
  /** The current level of input `line` of the vCPU at `cpuIndex`. */
  level(cpuIndex: number, line: number): boolean {
    return (((this.levels.get(cpuIndex) ?? 0) >> line) & 1) === 1;
  }
}
