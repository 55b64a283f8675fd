/**
 * `xive serve`: a small web server showing a live pseries machine of any configuration QEMU 7.2
 * builds (the machine options of demo and monitor) with the reference guest the platform offers
 * — on XIVE: sources with PQ state and masks, their routes (EAS -> END -> vCPU/priority), the
 * event queues as rings, the thread context registers of every vCPU; on XICS: the presentation
 * controllers' registers and the ICS sources; counters — with pause, step and per-source trigger.
 *
 * It listens on 127.0.0.1 only and answers only requests addressed to that listener (Host
 * check) and, for the POSTs that change the machine, only from its own page (Origin check): a
 * page from elsewhere in the same browser cannot drive it.
 *
 * Routes: GET / (the page), GET /app.js with the modules it imports (/backend.js, /render.js,
 * /playground.js), GET /style.css, GET /api/state, POST /api/pause, POST /api/resume,
 * POST /api/step, POST /api/trigger?irq=0x1000. The POSTs answer the new state, errors answer
 * {"error": "..."}. The page finds the API and shows this machine; the same page served as
 * static files (the playground, scripts/build-web.mjs) runs the model in the browser instead.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parse, intOption, UsageFailure } from './args.ts';
import { MACHINE_HELP, MACHINE_OPTIONS, machineConfigOf, machineHelp, machineSpecOf } from './machine-args.ts';
import type { MachineSpec } from '../spapr/machine-config.ts';
import type { Io } from './replay.ts';
import { loadSnapshotFile } from './snapshot-files.ts';
import { packageFile } from './package-files.ts';
import { LiveSession, SessionError } from '../web/session.ts';
import { PAGE_MAX_VCPUS } from '../web/machine-choice.ts';

/** The page shows every vCPU in a table: beyond this it stops being readable. */
export const SERVE_MAX_SMP = PAGE_MAX_VCPUS;

export const SERVE_HELP = `Usage: xive serve --port P [machine options] [--demo] [--seed X] [--load FILE]

Serves a web page on http://127.0.0.1:P/ that shows a pseries machine live. On XIVE: every
claimed source with its PQ bits, LSI level and mask, where it routes (EAS -> END ->
vCPU/priority, EISN), each event queue as a ring with its write index and generation toggle,
and the thread-context registers of every vCPU; on XICS: each vCPU's presentation controller
(XIRR, CPPR, XISR, PP, MFRR) and each ICS source with its server, priority and status; and the
counters. The page can pause the vCPUs, step the workload and trigger any source. vCPUs are
shown by vCPU id (server number), with their CPU index alongside.

The machine runs the reference guest driver the way Linux negotiates it at CAS: XIVE
exploitation (one queue per vCPU) when the machine offers XIVE, legacy XICS otherwise (a POWER8
CPU, max-cpu-compat=power8, ic-mode=xics, pseries-4.0 and older); the default pseries devices
plus 4 MSIs and 2 LSIs are configured. Without --demo it waits for triggers from the page; with
--demo a seeded workload of IPIs, MSIs and LSIs runs in small batches while not paused. Ctrl-C
stops the server.

${MACHINE_HELP}(default: --smp 4 --ic-mode xive; on a CPU model without XIVE, or with --machine,
the machine type's own ic-mode; at most ${SERVE_MAX_SMP} vCPUs, the page shows them all)

Options:
  --port P          TCP port on 127.0.0.1 (0: any free port)
  --demo            keep the seeded workload running in the background
  --seed X          workload seed (default 1)
  --load FILE       show the machine of a snapshot file or of a QEMU 7.2 migration stream
                    instead (any configuration; no reference guest runs on it, so sources can
                    be triggered but not stepped)
  -h, --help        this help

Examples:
  xive serve --port 8080 --demo --smp 4
  xive serve --port 8080 --demo --machine pseries-4.1 --smp 4     dual, vsmt 8: vCPU ids 0, 8, 16, 24
  xive serve --port 8080 --demo --cpu POWER8 --smp 2              XICS machine with the XICS guest
`;

export interface ServeOptions {
  /** 0 picks a free port. */
  port: number;
  demo?: boolean;
  /** The machine in QEMU's terms (machine type, CPU, -smp…); an ic-mode=xive machine without one. */
  spec?: MachineSpec;
  /** vCPUs, over what `spec` says. */
  smp?: number;
  seed?: number;
  /** Snapshot file to restore instead of booting a fresh machine (src/migration's format). */
  load?: string;
  /** Pause between background batches, ms (tests shorten it). */
  intervalMs?: number;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  port: number;
  session: LiveSession;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** The page's files, shipped in the package's web/ folder. */
const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/backend.js': { file: 'backend.js', type: 'text/javascript; charset=utf-8' },
  '/render.js': { file: 'render.js', type: 'text/javascript; charset=utf-8' },
  '/playground.js': { file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

function loadWebFiles(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const { file } of Object.values(WEB_FILES)) {
    if (out.has(file)) continue;
    try {
      out.set(file, readFileSync(packageFile('web', file)));
    } catch (e) {
      throw new UsageFailure(`cannot read the page file web/${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return out;
}


/** Starts the server; resolves once it listens. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const files = loadWebFiles();
  const machine = opts.load !== undefined ? loadSnapshotFile(opts.load) : undefined;
  const session = new LiveSession({ spec: opts.spec, smp: opts.smp, demo: opts.demo, seed: opts.seed, machine, intervalMs: opts.intervalMs });
  let port = opts.port;
  const server = createServer((req, res) => {
    try {
      handle(req, res, session, files, port);
    } catch (e) {
      send(res, 500, { error: (e as Error).message });
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    session.close();
    throw new UsageFailure(`cannot listen on ${HOST}:${opts.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${HOST}:${port}/`,
    port,
    session,
    close() {
      closing ??= new Promise<void>((resolve) => {
        session.close();
        // Open keep-alive connections (the page's polling) would hold close() forever.
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': data.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(data);
}

function handle(req: IncomingMessage, res: ServerResponse, session: LiveSession, files: Map<string, Buffer>, port: number): void {
  // Requests still carry a body sometimes (a POST from a form); nothing here reads one.
  req.resume();
  const own = [`${HOST}:${port}`, `localhost:${port}`];
  // Another site's page resolving its own name to 127.0.0.1 still sends its name as Host. Host
  // names are case-insensitive (LOCALHOST:port is this server too).
  if (req.headers.host === undefined || !own.includes(req.headers.host.toLowerCase())) {
    send(res, 403, { error: 'requests must be addressed to 127.0.0.1' });
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
  } catch {
    send(res, 400, { error: 'malformed request target' });
    return;
  }
  const path = url.pathname;
  const method = req.method ?? 'GET';

  const page = WEB_FILES[path];
  if (page !== undefined) {
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
    const body = files.get(page.file)!;
    res.writeHead(200, { 'content-type': page.type, 'content-length': body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/api/state') {
    if (method !== 'GET') return methodNotAllowed(res, 'GET');
    send(res, 200, session.state());
    return;
  }
  const action = ACTIONS[path];
  if (action === undefined) {
    send(res, 404, { error: `no such page: ${path}` });
    return;
  }
  if (method !== 'POST') return methodNotAllowed(res, 'POST');
  const origin = req.headers.origin;
  if (origin !== undefined && !own.some((h) => origin.toLowerCase() === `http://${h}`)) {
    send(res, 403, { error: 'changes are accepted from this server\'s own page only' });
    return;
  }
  try {
    action(session, url.searchParams);
  } catch (e) {
    if (e instanceof SessionError) {
      send(res, e.kind === 'conflict' ? 409 : 400, { error: e.message });
      return;
    }
    throw e;
  }
  send(res, 200, session.state());
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, { error: `use ${allow}` });
}

const ACTIONS: Record<string, (s: LiveSession, q: URLSearchParams) => void> = {
  '/api/pause': (s) => s.pause(),
  '/api/resume': (s) => s.resume(),
  '/api/step': (s) => s.step(),
  '/api/trigger': (s, q) => s.trigger(irqParam(q.get('irq'))),
};

function irqParam(raw: string | null): number {
  if (raw === null) throw new SessionError('trigger needs ?irq=NUMBER (decimal or 0x hex)');
  const v = /^0x[0-9a-f]{1,8}$/i.test(raw) ? parseInt(raw, 16) : /^\d{1,10}$/.test(raw) ? parseInt(raw, 10) : NaN;
  if (!Number.isSafeInteger(v)) throw new SessionError(`irq must be a number (decimal or 0x hex), got '${raw}'`);
  return v;
}

/** The machine of the options, with the page's limit on the vCPU count; QEMU's refusals as usage errors. */
function serveSpec(values: Record<string, unknown>): MachineSpec {
  const defaults = { smp: 4, icMode: 'xive' } as const;
  // A lone number keeps its range check (and message); a QEMU -smp list is checked once resolved.
  if (typeof values.smp === 'string' && !/[,=]/.test(values.smp)) intOption(values, 'smp', 1, SERVE_MAX_SMP);
  const cfg = machineConfigOf(values, defaults);
  if (cfg.smp.cpus > SERVE_MAX_SMP) throw new UsageFailure(`--smp: the page shows at most ${SERVE_MAX_SMP} vCPUs, got ${cfg.smp.cpus}`);
  return machineSpecOf(values, defaults);
}

export async function serveCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MACHINE_OPTIONS,
      port: { type: 'string' },
      demo: { type: 'boolean' },
      seed: { type: 'string' },
      load: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  const listing = machineHelp(values);
  if (listing !== null) {
    io.out(listing);
    return 0;
  }
  const port = intOption(values, 'port', 0, 65535);
  const load = typeof values.load === 'string' ? values.load : undefined;
  let spec: MachineSpec | undefined;
  if (load !== undefined) {
    const given = Object.keys(MACHINE_OPTIONS).find((o) => values[o] !== undefined);
    if (given !== undefined) throw new UsageFailure(`--load takes the machine from the snapshot: drop --${given}`);
    if (values.demo === true) throw new UsageFailure('--demo runs the reference guest, which a restored snapshot does not have: drop --demo or --load');
  } else {
    spec = serveSpec(values);
  }
  const seed = intOption(values, 'seed', 0, 0xffff_ffff, 1);
  const srv = await startServer({ port, demo: values.demo === true, spec, seed, load });
  io.out(`xive serve: ${srv.url} (${values.demo === true ? 'demo workload running' : 'waiting for triggers'}; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await srv.close();
  io.out('xive serve: stopped\n');
  return 0;
}
