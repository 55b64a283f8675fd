// Where the page's machine lives. Served by `xive serve`, the page uses the server's JSON API
// (/api/state and the POST actions) and shows the Node process's machine; the static copy
// (dist/web, whose index.html the build marks with <meta name="xive-backend" content="worker">)
// has no API: the model runs in a Web Worker of the page (worker.js, built from
// src/web/worker.ts). Both answer the live view's questions with { state, pic }: the LiveState
// of src/web/session.ts and the `info pic` text (null from the server, which has no route for it).

/** The worker in the static copy, the server's API otherwise. */
export function connect() {
  const meta = document.querySelector('meta[name="xive-backend"]');
  if (meta?.getAttribute('content') === 'worker') return new WorkerBackend(new Worker(new URL('./worker.js', import.meta.url)));
  return new HttpBackend();
}

class HttpBackend {
  kind = 'http';

  async state() {
    const res = await fetch('api/state', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return { state: await res.json(), pic: null };
  }

  /** pause, resume, step, trigger { irq } */
  async act(op, params = {}) {
    const query = op === 'trigger' ? `?irq=0x${params.irq.toString(16)}` : '';
    const res = await fetch(`api/${op}${query}`, { method: 'POST' });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    return { state: body, pic: null };
  }
}

class WorkerBackend {
  kind = 'worker';

  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.calls = new Map();
    worker.onmessage = (ev) => {
      const m = ev.data;
      const call = this.calls.get(m.id);
      if (call === undefined) return;
      if (m.progress !== undefined) {
        call.onProgress?.(m.progress);
        return;
      }
      this.calls.delete(m.id);
      if (m.ok) call.resolve(m.value);
      else call.reject(new Error(m.error));
    };
    // A worker that fails to load or dies takes every open call with it.
    worker.onerror = (ev) => {
      const err = new Error(`the model's worker failed: ${ev.message ?? 'it could not be loaded'}`);
      for (const call of this.calls.values()) call.reject(err);
      this.calls.clear();
    };
  }

  /** One request to src/web/worker.ts (see its list of operations). */
  call(op, args = {}, onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, op, ...args });
    });
  }

  state() {
    return this.call('state');
  }

  act(op, params = {}) {
    return this.call(op, params);
  }
}
