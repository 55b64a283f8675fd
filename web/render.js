// Rendering of a machine view (src/web/state.ts MachineView) into the page's tables and SVG
// rings, for the live view of `xive serve` and the playground alike. Plain DOM, no framework.
// Rows are kept per key (vCPU, LISN, END) and only the text that changed is rewritten, so
// buttons stay put under the pointer between updates and a changed value can be flashed. The
// column sets follow the controller the guest talks to (XIVE: thread contexts, ESBs, event
// queues; XICS: presentation controllers and ICS sources). vCPUs are keyed by vCPU id (server
// number), the number routes and queues use; the CPU index is a column.

const SVG_NS = 'http://www.w3.org/2000/svg';

// ---- Formatting (tests compare the page against /api/state through these same rules) -----------

const hex = (v, width = 0) => (v >>> 0).toString(16).padStart(width, '0');
const h2 = (v) => hex(v, 2);
const h8 = (v) => hex(v, 8);
const lisnText = (v) => '0x' + hex(v, 4);
const orDash = (v) => (v === null || v === undefined ? '—' : String(v));

function routeEnd(s) {
  if (s.masked) return 'masked';
  if (s.route === null) return '—';
  return s.route.endValid ? String(s.route.endIndex) : `${s.route.endIndex} (invalid)`;
}

function routeTarget(s) {
  if (s.route === null || !s.route.endValid) return '—';
  return `${s.route.vcpu}/${s.route.priority}`;
}

// ---- Column sets -------------------------------------------------------------------------------

const os = (c) => c.rings[1];

// [field, heading, value, optional heading tooltip]
const CPU_INDEX_HINT = 'CPU index (QEMU cpu_index, the CPU number info pic prints)';
const VCPU_HINT = 'vCPU id (server number): what routes, queues and hcall targets name';

const CPU_COLUMNS = {
  xive: [
    ['vcpu', 'vCPU', (c) => String(c.vcpu), VCPU_HINT],
    ['int', 'INT', (c) => (c.intLine ? 'raised' : 'low')],
    ['nsr', 'NSR', (c) => h2(os(c).nsr)],
    ['cppr', 'CPPR', (c) => h2(os(c).cppr)],
    ['ipb', 'IPB', (c) => h2(os(c).ipb)],
    ['lsmfb', 'LSMFB', (c) => h2(os(c).lsmfb)],
    ['ack', 'ACK#', (c) => h2(os(c).ack)],
    ['inc', 'INC', (c) => h2(os(c).inc)],
    ['age', 'AGE', (c) => h2(os(c).age)],
    ['pipr', 'PIPR', (c) => h2(os(c).pipr)],
    ['w2', 'W2', (c) => h8(os(c).w2)],
    ['cpu', 'CPU#', (c) => String(c.cpuIndex), CPU_INDEX_HINT],
    ['presented', 'presented', (c) => String(c.counters.presented)],
    ['accepted', 'accepted', (c) => orDash(c.counters.accepted)],
    ['delivered', 'delivered', (c) => orDash(c.counters.delivered), 'event queue entries the reference guest consumed'],
    ['acks', 'ACK loads', (c) => orDash(c.counters.acks)],
  ],
  xics: [
    ['vcpu', 'vCPU', (c) => String(c.vcpu), VCPU_HINT],
    ['int', 'INT', (c) => (c.intLine ? 'raised' : 'low')],
    ['xirr', 'XIRR', (c) => h8(c.icp.xirr)],
    ['cppr', 'CPPR', (c) => h2(c.icp.cppr)],
    ['xisr', 'XISR', (c) => hex(c.icp.xisr, 6)],
    ['pp', 'PP', (c) => h2(c.icp.pp)],
    ['mfrr', 'MFRR', (c) => h2(c.icp.mfrr)],
    ['cpu', 'CPU#', (c) => String(c.cpuIndex), CPU_INDEX_HINT],
    ['presented', 'presented', (c) => String(c.counters.presented)],
    ['delivered', 'delivered', (c) => orDash(c.counters.delivered), 'interrupts the reference guest took (H_XIRR naming a source)'],
    ['acks', 'H_XIRR calls', (c) => orDash(c.counters.acks), 'the reference guest\'s accepts, spurious ones included'],
  ],
};

const SOURCE_COLUMNS = {
  xive: [
    ['lisn', 'LISN', (s) => lisnText(s.lisn)],
    ['kind', 'kind', (s) => s.kind.toUpperCase()],
    ['pq', 'PQ', (s) => s.pq],
    ['asserted', 'A', (s) => (s.asserted ? 'A' : '')],
    ['masked', 'M', (s) => (s.masked ? 'M' : '')],
    ['eisn', 'EISN', (s) => h8(s.eisn)],
    ['end', 'END', routeEnd],
    ['target', 'vCPU/prio', routeTarget],
    ['triggers', 'triggers', (s) => String(s.counters.triggers)],
    ['raised', 'raised', (s) => orDash(s.counters.raised)],
    ['coalesced', 'coalesced', (s) => orDash(s.counters.coalesced)],
    ['delivered', 'delivered', (s) => orDash(s.counters.delivered)],
  ],
  xics: [
    ['lisn', 'IRQ', (s) => lisnText(s.lisn)],
    ['kind', 'kind', (s) => s.kind.toUpperCase()],
    ['asserted', 'A', (s) => (s.asserted ? 'A' : '')],
    ['masked', 'M', (s) => (s.masked ? 'M' : '')],
    ['server', 'server', (s) => String(s.xics.server)],
    ['priority', 'prio', (s) => h2(s.xics.priority)],
    ['saved', 'saved', (s) => h2(s.xics.savedPriority)],
    ['status', 'status', (s) => s.xics.status.join(' ')],
    ['attempts', 'presentations', (s) => String(s.counters.attempts)],
    ['raised', 'raised', (s) => orDash(s.counters.raised)],
    ['coalesced', 'coalesced', (s) => orDash(s.counters.coalesced)],
    ['delivered', 'delivered', (s) => orDash(s.counters.delivered)],
  ],
};

const RING_COLUMNS = [
  ['vcpu', 'vCPU', (r) => String(r.vcpu)],
  ['ring', 'QW', (r) => r.name],
  ['nsr', 'NSR', (r) => h2(r.nsr)],
  ['cppr', 'CPPR', (r) => h2(r.cppr)],
  ['ipb', 'IPB', (r) => h2(r.ipb)],
  ['lsmfb', 'LSMFB', (r) => h2(r.lsmfb)],
  ['ack', 'ACK#', (r) => h2(r.ack)],
  ['inc', 'INC', (r) => h2(r.inc)],
  ['age', 'AGE', (r) => h2(r.age)],
  ['pipr', 'PIPR', (r) => h2(r.pipr)],
  ['w2', 'W2', (r) => h8(r.w2)],
];

// ---- Keyed table rendering -----------------------------------------------------------------------

function setText(el, text) {
  if (el.textContent === text) return;
  const first = el.textContent === '' && !el.dataset.seen;
  el.textContent = text;
  el.dataset.seen = '1';
  if (!first) {
    // Restart the flash animation on every change.
    el.classList.remove('chg');
    void el.offsetWidth;
    el.classList.add('chg');
  }
}

function renderHead(table, columns, extra) {
  const thead = table.tHead;
  const key = columns.map((c) => c[0]).join(',') + (extra ? ',' + extra : '');
  if (thead.dataset.key === key) return;
  thead.dataset.key = key;
  thead.textContent = '';
  const tr = thead.insertRow();
  for (const [k, label, , hint] of columns) {
    const th = document.createElement('th');
    th.textContent = label;
    th.dataset.f = k;
    if (hint) th.title = hint;
    tr.appendChild(th);
  }
  if (extra) tr.appendChild(document.createElement('th'));
  // A new column set means the rows are of another shape too.
  table.tBodies[0].textContent = '';
}

/**
 * Rows keyed by `keyOf` (stored as data-key and as `attr`), created once, removed when their key
 * disappears, cells updated in place. `decorate(tr, item)` sets row classes and extra cells.
 */
function renderRows(table, items, columns, keyOf, attr, decorate) {
  const tbody = table.tBodies[0];
  const existing = new Map();
  for (const tr of tbody.rows) existing.set(tr.dataset.key, tr);
  let prev = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let tr = existing.get(key);
    if (tr === undefined) {
      tr = document.createElement('tr');
      tr.dataset.key = key;
      tr.setAttribute(attr, key);
      for (const [k] of columns) {
        const td = document.createElement('td');
        td.dataset.f = k;
        tr.appendChild(td);
      }
    }
    existing.delete(key);
    columns.forEach(([, , get], i) => setText(tr.cells[i], get(item)));
    if (decorate) decorate(tr, item);
    // Keep the server's order without moving rows that are already in place.
    const want = prev === null ? tbody.firstChild : prev.nextSibling;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of existing.values()) tr.remove();
}

// ---- Sections ------------------------------------------------------------------------------------

/** The header's status line and buttons for a live machine (`xive serve` or the playground's). */
export function renderStatus(st) {
  const m = st.machine;
  const run = st.run;
  const el = document.getElementById('status');
  const mode = run.paused ? 'paused' : run.demo ? 'running (demo workload)' : 'running';
  const c = m.config;
  // VSMT is worth naming only where it spaces the vCPU ids out.
  const shape =
    `${c.machineType} · ${c.cpuFamily}` +
    (c.threads > 1 ? ` · ${c.threads} threads/core` : '') +
    (c.vsmt !== c.threads ? ` · vsmt ${c.vsmt}` : '') +
    (c.inKernelIrqchip ? ' · KVM in-kernel irqchip' : '');
  el.textContent =
    `${m.controller.toUpperCase()} · ic-mode ${m.icMode} · ${m.cpus.length} vCPU${m.cpus.length === 1 ? '' : 's'} · ${mode}` +
    (run.guest ? ` · ${m.guestModel} guest` : ' · restored snapshot, no guest') +
    (m.halted ? ' · VM stopped' : '') +
    ` · ${shape}`;
  el.dataset.paused = String(run.paused);
  el.classList.toggle('paused', run.paused);
  document.getElementById('pause').disabled = run.paused;
  document.getElementById('resume').disabled = !run.paused;
  const step = document.getElementById('step');
  step.disabled = !run.guest;
  step.title = run.guest ? 'One workload step: a few events with their handling, a short tail left pending' : 'no reference guest runs on a restored snapshot';
  const err = document.getElementById('error');
  const msg = run.error ?? m.halted;
  err.hidden = !msg;
  err.textContent = msg ? `Stopped: ${msg}` : '';
}

function counter(dl, id, label, value, hint) {
  let dd = document.getElementById(id);
  if (dd === null) {
    const wrap = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = label;
    if (hint) dt.title = hint;
    dd = document.createElement('dd');
    dd.id = id;
    wrap.append(dt, dd);
    dl.appendChild(wrap);
  }
  setText(dd, value);
}

export function renderCounters(st) {
  const dl = document.getElementById('counters');
  const g = st.machine.guest;
  const run = st.run;
  counter(dl, 'c-raised', 'raised', orDash(g?.raised), 'events the reference guest and its devices sent');
  counter(dl, 'c-delivered', 'delivered', orDash(g?.delivered), 'interrupts the guest took (XIVE: event queue entries consumed; XICS: H_XIRR naming a source)');
  counter(dl, 'c-coalesced', 'coalesced', orDash(g?.coalesced), 'events merged into one already on its way (XIVE: PQ=11, LSI already P; XICS: MFRR already set, REJECTED already set, LSI already up)');
  counter(dl, 'c-represented', 'LSI re-presented', orDash(g?.represented), 'EOIs that found the LSI still asserted');
  // Events still on their way count here too: only once the vCPUs have drained would a non-zero
  // value mean an event was lost (the workload checks that it never is).
  counter(dl, 'c-inflight', 'in flight', orDash(g?.lost), 'raised + re-presented − delivered − coalesced (− withdrawn on XICS): events not taken yet; after a drain, events lost (always 0)');
  counter(dl, 'c-triggers', 'triggers (page)', String(run.triggers), 'sources triggered from this page');
  counter(dl, 'c-steps', 'steps', String(run.steps));
  counter(dl, 'c-batches', 'demo batches', String(run.batches));
  counter(dl, 'c-events', 'workload events', String(run.events));
}

function renderCpus(m) {
  const table = document.getElementById('cpus');
  const cols = CPU_COLUMNS[m.controller];
  document.getElementById('cpus-title').textContent =
    m.controller === 'xive' ? 'vCPUs — thread context, OS ring' : 'vCPUs — XICS presentation controllers (ICP)';
  renderHead(table, cols);
  renderRows(table, m.cpus, cols, (c) => c.vcpu, 'data-vcpu', (tr, c) => tr.classList.toggle('hot', c.intLine));

  const details = document.getElementById('rings-details');
  details.hidden = m.controller !== 'xive';
  if (m.controller === 'xive') {
    const rows = m.cpus.flatMap((c) => c.rings.map((r) => ({ ...r, vcpu: c.vcpu })));
    const rt = document.getElementById('rings');
    renderHead(rt, RING_COLUMNS);
    renderRows(rt, rows, RING_COLUMNS, (r) => `${r.vcpu}-${r.name}`, 'data-ring', (tr, r) => tr.classList.toggle('os', r.name === 'OS'));
  }
}

function renderSources(m) {
  const table = document.getElementById('sources');
  const cols = SOURCE_COLUMNS[m.controller];
  document.getElementById('sources-title').textContent =
    m.controller === 'xive' ? 'Sources — ESB PQ and route (EAS → END → vCPU/priority)' : 'Sources — XICS ICS';
  renderHead(table, cols, 'trigger');
  renderRows(table, m.sources, cols, (s) => s.lisn, 'data-lisn', (tr, s) => {
    if (tr.cells.length === cols.length) {
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'trig';
      b.textContent = 'trigger';
      b.dataset.irq = lisnText(s.lisn);
      b.title = `fire ${lisnText(s.lisn)} as its device would`;
      td.appendChild(b);
      tr.appendChild(td);
    }
    // P set: an event is on its way (PQ 01 is "off", not pending).
    tr.classList.toggle('busy', (s.pq !== null && s.pq[0] === 'P') || s.asserted);
    tr.classList.toggle('off', s.masked);
  });
}

// ---- Event queue rings ---------------------------------------------------------------------------

const R_OUT = 88;
const R_IN = 64;

function polar(r, a) {
  return [100 + r * Math.cos(a), 100 + r * Math.sin(a)];
}

/** Annular sector from angle a0 to a1 (radians, 0 = 12 o'clock, clockwise). */
function arcPath(a0, a1) {
  const t0 = a0 - Math.PI / 2;
  const t1 = a1 - Math.PI / 2;
  const [x0, y0] = polar(R_OUT, t0);
  const [x1, y1] = polar(R_OUT, t1);
  const [x2, y2] = polar(R_IN, t1);
  const [x3, y3] = polar(R_IN, t0);
  const f = (n) => n.toFixed(2);
  return `M${f(x0)} ${f(y0)} A${R_OUT} ${R_OUT} 0 0 1 ${f(x1)} ${f(y1)} L${f(x2)} ${f(y2)} A${R_IN} ${R_IN} 0 0 0 ${f(x3)} ${f(y3)} Z`;
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function buildRing(n) {
  const root = svg('svg', { viewBox: '0 0 200 200', class: 'ring', role: 'img' });
  const gap = n > 1 ? Math.min(0.02, (Math.PI * 2) / n / 4) : 0;
  const g = svg('g', { class: 'slots' });
  for (let k = 0; k < n; k++) {
    const a0 = (2 * Math.PI * k) / n + gap / 2;
    const a1 = (2 * Math.PI * (k + 1)) / n - gap / 2;
    g.appendChild(svg('path', { d: arcPath(a0, a1), class: 'slot empty' }));
  }
  root.appendChild(g);
  // Markers point at 12 o'clock and are rotated to their index.
  root.appendChild(svg('path', { d: `M100 ${100 - R_OUT - 10} l-6 -9 h12 Z M100 ${100 - R_OUT - 1} V${100 - R_IN + 2}`, class: 'widx' }));
  root.appendChild(svg('circle', { cx: 100, cy: 100 - R_IN + 9, r: 5, class: 'ridx' }));
  const t1 = svg('text', { x: 100, y: 92, class: 'idx' });
  const t2 = svg('text', { x: 100, y: 112, class: 'gen' });
  const t3 = svg('text', { x: 100, y: 128, class: 'size' });
  root.append(t1, t2, t3);
  return root;
}

function updateRing(root, q) {
  const n = q.slots.length;
  if (root.querySelector('.slots').childNodes.length !== n) {
    const fresh = buildRing(n);
    root.replaceWith(fresh);
    root = fresh;
  }
  const paths = root.querySelector('.slots').childNodes;
  q.slots.forEach((s, k) => {
    const cls = s < 0 ? 'slot empty' : s === q.generation ? 'slot cur' : 'slot prev';
    if (paths[k].getAttribute('class') !== cls) paths[k].setAttribute('class', cls);
  });
  const deg = (i) => ((360 * i) / q.entries).toFixed(3);
  root.querySelector('.widx').setAttribute('transform', `rotate(${deg(q.index)} 100 100)`);
  const r = root.querySelector('.ridx');
  r.style.display = q.consumer === null ? 'none' : '';
  if (q.consumer !== null) r.setAttribute('transform', `rotate(${deg(q.consumer.index)} 100 100)`);
  root.querySelector('.idx').textContent = `index ${q.index}`;
  root.querySelector('.gen').textContent = `toggle ${q.generation}`;
  root.querySelector('.gen').setAttribute('class', `gen g${q.generation}`);
  root.querySelector('.size').textContent = `of ${q.entries}`;
  root.setAttribute('aria-label', `event queue of END ${q.end}: write index ${q.index} of ${q.entries}, generation ${q.generation}`);
  return root;
}

function kv(dl, key, label, value) {
  let dd = dl.querySelector(`dd[data-f="${key}"]`);
  if (dd === null) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    dd = document.createElement('dd');
    dd.dataset.f = key;
    dl.append(dt, dd);
  }
  setText(dd, value);
}

function renderQueues(m) {
  const box = document.getElementById('queues');
  const qs = m.queues;
  const section = document.getElementById('queues-section');
  section.hidden = m.controller !== 'xive';
  const existing = new Map();
  for (const card of box.children) existing.set(card.dataset.end, card);
  let prev = null;
  for (const q of qs) {
    const key = String(q.end);
    let card = existing.get(key);
    if (card === undefined) {
      card = document.createElement('article');
      card.className = 'queue';
      card.dataset.end = key;
      const h = document.createElement('h3');
      h.append(document.createElement('span'), document.createElement('small'));
      card.appendChild(h);
      const body = document.createElement('div');
      body.className = 'qbody';
      body.appendChild(buildRing(q.slots.length));
      const info = document.createElement('dl');
      info.className = 'qinfo';
      body.appendChild(info);
      card.appendChild(body);
      const win = document.createElement('table');
      win.className = 'window';
      win.createTHead();
      win.createTBody();
      card.appendChild(win);
    }
    existing.delete(key);
    card.querySelector('h3 span').textContent = `END ${q.end} → vCPU ${q.vcpu}, priority ${q.priority}`;
    card.querySelector('h3 small').textContent = `queue @ 0x${hex(q.addr)}`;
    updateRing(card.querySelector('svg.ring'), q);
    const info = card.querySelector('dl.qinfo');
    kv(info, 'entries', 'entries', String(q.entries));
    kv(info, 'index', 'write idx', String(q.index));
    kv(info, 'generation', 'toggle', String(q.generation));
    kv(info, 'consumer', 'guest idx', q.consumer === null ? '—' : String(q.consumer.index));
    kv(info, 'consumer-toggle', 'guest toggle', q.consumer === null ? '—' : String(q.consumer.toggle));
    kv(info, 'esn', 'ESn ESe', `${q.esn} ${q.ese}`);
    kv(info, 'flags', 'flags', [q.enqueue ? 'enqueue' : '', q.alwaysNotify ? 'notify' : ''].filter(Boolean).join(' ') || '—');
    const win = card.querySelector('table.window');
    const cols = [
      ['slot', 'slot', (e) => String(e.slot)],
      ['value', 'word', (e) => h8(e.value)],
      ['gen', 'gen', (e) => String(e.gen)],
      ['data', 'EISN', (e) => (e.value === 0 ? '—' : '0x' + hex(e.data))],
    ];
    renderHead(win, cols);
    renderRows(win, q.window, cols, (e) => e.slot, 'data-slot', (tr, e) => tr.classList.toggle('prevlap', e.value !== 0 && e.gen !== q.generation));
    const want = prev === null ? box.firstChild : prev.nextSibling;
    if (want !== card) box.insertBefore(card, want);
    prev = card;
  }
  for (const c of existing.values()) c.remove();
}

/** vCPUs, event queues and sources of a machine view. */
export function renderMachine(m) {
  renderCpus(m);
  renderQueues(m);
  renderSources(m);
}
