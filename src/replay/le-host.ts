/**
 * Trace values that depend on the byte order of the host QEMU ran on. QEMU 7.2 keeps a few
 * architected big-endian values in host order, so on a little-endian host the log shows them
 * byte-reversed; the model produces the architected value and the replay accepts either.
 */
import type { TraceEvent } from '../trace/events.ts';

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

function bswap64(v: bigint): bigint {
  let r = 0n;
  for (let i = 0; i < 8; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
}

/**
 * Differences that only come from QEMU running on a little-endian host, where it returns the
 * byte-reversed word for context pulls and passes H_INT_ESB store data byte-reversed. The model
 * gives the architected values; the log may hold either.
 */
export function leHostEquivalent(model: TraceEvent, logged: TraceEvent, hcallStore: boolean): boolean {
  if (model.name === 'xive_tctx_tm_read' && logged.name === 'xive_tctx_tm_read') {
    const op = Number(model.offset & 0xfffn);
    if ((op === 0x818 || op === 0x828) && model.offset === logged.offset && model.size === logged.size) {
      return BigInt(bswap32(Number(model.value & 0xffff_ffffn))) === logged.value;
    }
  }
  if (hcallStore && model.name === 'xive_source_esb_write' && logged.name === 'xive_source_esb_write') {
    return model.addr === logged.addr && model.srcno === logged.srcno && bswap64(model.value) === logged.value;
  }
  return false;
}

