/**
 * Option parsing shared by the `xive` commands: node:util parseArgs in strict mode, plus number
 * and enum validation that turns bad input into one-line UsageFailure errors (exit status 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageFailure extends Error {
  override readonly name = 'UsageFailure';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options, allowPositionals = true): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageFailure((e as Error).message.split('\n')[0]!);
  }
}

/**
 * `--smp -3` would read as an option with no value followed by an unknown option '-3'; a value
 * that is a negative number can only be meant as the value, so it is joined (`--smp=-3`) and
 * the option's own check then says what range is valid.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : a.length === 2 && a.startsWith('-') ? Object.keys(options).find((k) => options[k]!.short === a[1]) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a.startsWith('--') ? a : `--${name}`}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** An integer option in [min, max]; accepts decimal or 0x-hex. */
export function intOption(values: Record<string, unknown>, name: string, min: number, max: number, dflt?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (dflt === undefined) throw new UsageFailure(`--${name} is required`);
    return dflt;
  }
  const s = String(raw);
  const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? parseInt(s, 10) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageFailure(`--${name} must be an integer in ${min}..${max}, got '${s}'`);
  return v;
}

export function enumOption<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[], dflt?: T): T {
  const raw = values[name];
  if (raw === undefined) {
    if (dflt === undefined) throw new UsageFailure(`--${name} is required (one of: ${allowed.join(', ')})`);
    return dflt;
  }
  if (!allowed.includes(raw as T)) throw new UsageFailure(`--${name} must be one of ${allowed.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

/** Size with an optional K/M/G suffix (binary units). */
export function sizeOption(values: Record<string, unknown>, name: string, dflt: number): number {
  const raw = values[name];
  if (raw === undefined) return dflt;
  const m = /^(\d+)([kmg]?)$/i.exec(String(raw));
  if (m === null) throw new UsageFailure(`--${name} must be a size like 1G or 512M, got '${String(raw)}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v) || v < 1 << 20) throw new UsageFailure(`--${name} must be at least 1M, got '${String(raw)}'`);
  return v;
}
