/**
 * The playground's model host: what runs inside the page's Web Worker (web/worker.js starts it
 * with `listen(self)`), so the page itself only renders. It holds at most one live machine —
 * a LiveSession: a pseries machine of the chosen configuration with the reference guest booted
 * on it, paused, stepped, triggered, or running the demo workload — and at most one replayed
 * trace with its timeline.
 *
 * Messages: the page sends `{ id, op, ...arguments }` and gets `{ id, ok: true, value }` or
 * `{ id, ok: false, error }` back; a replay also sends `{ id, progress: { line, lines } }` while
 * it runs. The operations:
 *   catalog                        machine types, CPU models, ic-modes… for the form
 *   machine { args }               the MachineSpec the options describe (defaults applied)
 *   boot { args, demo?, seed? }    a new live machine                          -> LiveFrame
 *   state | pause | resume | step | trigger { irq }   the live machine        -> LiveFrame
 *   replay { trace, args }         replays a log (text or Blob) on that machine -> ReplayOutcome
 *   seek { event }                 the replayed machine at an event             -> TimelineFrame
 * Everything sent is plain data (structured-clone safe): the views of state.ts and timeline.ts.
 */
import { XiveUsageError } from '../base/errors.ts';
import { infoPic } from '../monitor/info-pic.ts';
import type { MachineSpec } from '../spapr/machine-config.ts';
import { machineCatalog, pageMachine, type PageMachineArgs } from './machine-choice.ts';
import { LiveSession, SessionError, type LiveState } from './session.ts';
import { ReplayTimeline, type ReplaySummary, type TimelineFrame } from './timeline.ts';

/** The live machine's state with its `info pic`. */
export interface LiveFrame {
  state: LiveState;
  pic: string;
}

export interface ReplayOutcome {
  /** The trace's name as the page gave it (a file name). */
  name: string;
  spec: MachineSpec;
  summary: ReplaySummary;
  /** The end of the run (or the divergence); null when the log could not be replayed at all. */
  frame: TimelineFrame | null;
}

export type WorkerRequest =
  | { id: number; op: 'catalog' }
  | { id: number; op: 'machine'; args: PageMachineArgs }
  | { id: number; op: 'boot'; args: PageMachineArgs; demo?: boolean; seed?: number }
  | { id: number; op: 'state' | 'pause' | 'resume' | 'step' }
  | { id: number; op: 'trigger'; irq: number }
  | { id: number; op: 'replay'; trace: string | { text(): Promise<string> }; name?: string; args: PageMachineArgs }
  | { id: number; op: 'seek'; event: number };

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; progress: { line: number; lines: number } };

/** The worker's global scope as far as this module uses it. */
export interface WorkerScope {
  onmessage: ((ev: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
}

export class PlaygroundHost {
  private session: LiveSession | null = null;
  private timeline: ReplayTimeline | null = null;
  /** Requests run one after the other: a replay (which reads its file first) is not overtaken. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly post: (m: WorkerMessage) => void) {}

  /** Takes one request; its answer is posted once the requests before it are answered. */
  receive(data: unknown): Promise<void> {
    const req = data as WorkerRequest;
    const id = typeof req?.id === 'number' ? req.id : -1;
    this.queue = this.queue.then(async () => {
      try {
        this.post({ id, ok: true, value: await this.handle(req) });
      } catch (e) {
        // Refusals (bad options, a source that is not claimed…) are the user's to read; any other
        // failure too, with its kind, since the page has no console of its own.
        const known = e instanceof XiveUsageError || e instanceof SessionError;
        this.post({ id, ok: false, error: known ? (e as Error).message : `${(e as Error).name}: ${(e as Error).message}` });
      }
    });
    return this.queue;
  }

  private async handle(req: WorkerRequest): Promise<unknown> {
    switch (req.op) {
      case 'catalog':
        return machineCatalog();
      case 'machine':
        return pageMachine(req.args).spec;
      case 'boot': {
        const { spec } = pageMachine(req.args);
        const next = new LiveSession({ spec, demo: req.demo === true, seed: req.seed });
        this.session?.close();
        this.session = next;
        return this.live();
      }
      case 'state':
        return this.live();
      case 'pause':
        this.needSession().pause();
        return this.live();
      case 'resume':
        this.needSession().resume();
        return this.live();
      case 'step':
        this.needSession().step();
        return this.live();
      case 'trigger':
        this.needSession().trigger(req.irq);
        return this.live();
      case 'replay':
        return this.replay(req);
      case 'seek':
        if (this.timeline === null) throw new SessionError('no trace has been replayed yet', 'conflict');
        return this.timeline.seek(req.event);
      default:
        throw new SessionError(`unknown request '${String((req as { op?: unknown }).op)}'`);
    }
  }

  private needSession(): LiveSession {
    if (this.session === null) throw new SessionError('no machine is booted: choose one and press Boot', 'conflict');
    return this.session;
  }

  private live(): LiveFrame {
    const s = this.needSession();
    return { state: s.state(), pic: infoPic(s.machine) };
  }

  private async replay(req: Extract<WorkerRequest, { op: 'replay' }>): Promise<ReplayOutcome> {
    const { spec } = pageMachine(req.args);
    const text = typeof req.trace === 'string' ? req.trace : await req.trace.text();
    this.timeline = null;
    const timeline = new ReplayTimeline(text, { spec, onProgress: (line, lines) => this.post({ id: req.id, progress: { line, lines } }) });
    const summary = timeline.run();
    this.timeline = timeline;
    return { name: req.name ?? 'trace', spec, summary, frame: summary.status === 'unusable' ? null : timeline.seek(summary.events) };
  }
}

/** Serves the page from a worker's global scope. */
export function listen(scope: WorkerScope): PlaygroundHost {
  const host = new PlaygroundHost((m) => scope.postMessage(m));
  scope.onmessage = (ev) => void host.receive(ev.data);
  return host;
}
