// The playground, shown when the model runs in the page's worker: a machine form with the
// command line's options (preset from the query string, e.g.
// ?machine=pseries,ic-mode=xive&smp=4&cpu=POWER9, which a boot rewrites), the reference guest
// booted on it, and a QEMU trace replayed on the same machine — chosen with the file input or
// dropped anywhere on the page — with a progress bar, its verdict ("no divergence" or
// "divergence at line N"), and a timeline to step and seek through its events, each showing the
// tables and `info pic` of that moment.

import { renderMachine } from './render.js';

const $ = (id) => document.getElementById(id);

/** Form field id -> query/option name, for the plain string fields. */
const MACHINE_PROPS = [
  ['m-icmode', 'ic-mode'],
  ['m-vsmt', 'vsmt'],
  ['m-compat', 'max-cpu-compat'],
  ['m-irqchip', 'kernel-irqchip'],
];

function fillSelect(select, values, blank) {
  select.textContent = '';
  if (blank !== undefined) select.append(new Option(blank, ''));
  for (const v of values) select.append(new Option(v, v));
}

/** Selects `value`, adding it first when the list does not have it (a CPU name in another case…). */
function choose(select, value) {
  const v = value ?? '';
  if (![...select.options].some((o) => o.value === v)) select.append(new Option(v, v));
  select.value = v;
}

function smpText(smp) {
  if (smp === undefined) return '';
  const parts = [];
  if (smp.cpus !== undefined) parts.push(String(smp.cpus));
  for (const k of ['maxcpus', 'sockets', 'cores', 'threads']) if (smp[k] !== undefined) parts.push(`${k}=${smp[k]}`);
  return parts.join(',');
}

/** The form's values as command-line options (query-string names). */
function formArgs() {
  const machine = [$('m-type').value];
  for (const [id, key] of MACHINE_PROPS) {
    const v = $(id).value.trim();
    if (v !== '') machine.push(`${key}=${v}`);
  }
  const args = {};
  const m = machine.filter((p) => p !== '').join(',');
  if (m !== '') args.machine = m;
  if ($('m-cpu').value !== '') args.cpu = $('m-cpu').value;
  if ($('m-smp').value.trim() !== '') args.smp = $('m-smp').value.trim();
  const phbs = $('m-phbs').value.split(/[\s,]+/).filter((x) => x !== '');
  if (phbs.length > 0) args.device = phbs.map((i) => `spapr-pci-host-bridge,index=${i}`);
  if ($('m-accel').value !== '') args.accel = $('m-accel').value;
  return args;
}

function fillForm(spec) {
  choose($('m-type'), spec.type ?? '');
  choose($('m-icmode'), spec.icMode ?? '');
  $('m-vsmt').value = spec.vsmt === undefined ? '' : String(spec.vsmt);
  choose($('m-compat'), spec.maxCpuCompat ?? '');
  choose($('m-irqchip'), spec.kernelIrqchip ?? '');
  choose($('m-cpu'), spec.cpu ?? '');
  $('m-smp').value = smpText(spec.smp);
  $('m-phbs').value = (spec.phbs ?? []).map((p) => p.index).join(',');
  choose($('m-accel'), spec.accel ?? '');
}

function queryArgs(q) {
  const args = {};
  for (const k of ['machine', 'cpu', 'smp', 'accel', 'ic-mode', 'max-cpus']) if (q.get(k) !== null) args[k] = q.get(k);
  if (q.getAll('device').length > 0) args.device = q.getAll('device');
  return args;
}

/** The page's address names the machine booted, so a reload or a shared link gives it again. */
function rememberArgs(args, demo) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.set(k, v);
  }
  if (demo) q.set('demo', '1');
  history.replaceState(null, '', `?${q.toString().replace(/%2C/g, ',').replace(/%3D/g, '=')}`);
}

export async function startPlayground(backend, page) {
  $('playground').hidden = false;
  const catalog = await backend.call('catalog');
  fillSelect($('m-type'), catalog.machineTypes, `default (${catalog.defaultMachineType})`);
  fillSelect($('m-icmode'), catalog.icModes, "machine type's");
  fillSelect($('m-compat'), catalog.compatModes, 'none');
  fillSelect($('m-irqchip'), catalog.kernelIrqchipModes, 'default');
  fillSelect($('m-cpu'), catalog.cpus, "machine type's");
  fillSelect($('m-accel'), catalog.accels, 'default (tcg)');
  $('m-smp').placeholder = `N[,maxcpus=M][,sockets=S][,cores=C][,threads=T]  (1..${catalog.maxVcpus} shown)`;

  const query = new URLSearchParams(location.search);
  $('m-demo').checked = query.get('demo') === '1';

  async function boot(args) {
    const demo = $('m-demo').checked;
    try {
      fillForm(await backend.call('machine', { args }));
      const seed = Number(query.get('seed') ?? 1);
      page.booted(await backend.call('boot', { args, demo, seed: Number.isSafeInteger(seed) ? seed : 1 }));
      rememberArgs(args, demo);
      $('m-error').textContent = '';
    } catch (e) {
      $('m-error').textContent = e.message;
    }
  }

  $('machine-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void boot(formArgs());
  });
  startTimeline(backend, page);
  await boot(queryArgs(query));
}

function startTimeline(backend, page) {
  const status = $('replay-status');
  const bar = $('replay-progress');
  const range = $('tl-range');
  const seekInput = $('seek');
  let trace = null; // { name, events }
  let busy = false;
  let shown = -1;
  let wanted = null;

  function renderFrame(frame) {
    page.setMode('trace');
    renderMachine(frame.view);
    page.showPic(frame.pic);
    shown = frame.event;
    range.value = String(frame.event);
    if (document.activeElement !== seekInput) seekInput.value = String(frame.event);
    $('tl-line').textContent = frame.line === null ? 'before the first action' : `line ${frame.line}: ${frame.text}`;
    const st = $('status');
    st.classList.remove('paused');
    st.textContent = `trace ${trace.name} · event ${frame.event} of ${frame.events}` + (frame.line === null ? '' : ` · line ${frame.line}`) + ` · ${frame.view.controller.toUpperCase()} · ${frame.view.cpus.length} vCPUs`;
    document.body.dataset.event = String(frame.event);
  }

  /** Seeks to the last event asked for; requests made while one runs collapse into one. */
  async function seek(n) {
    if (trace === null) return;
    wanted = Math.min(Math.max(Math.trunc(n), 0), trace.events);
    if (busy) return;
    busy = true;
    try {
      while (wanted !== null) {
        const target = wanted;
        wanted = null;
        if (target === shown) continue;
        renderFrame(await backend.call('seek', { event: target }));
      }
    } catch (e) {
      page.showError(`Seek failed: ${e.message}`);
    } finally {
      busy = false;
    }
  }

  async function replay(file) {
    if (busy) return;
    busy = true;
    page.setMode('trace');
    trace = null;
    shown = -1;
    wanted = null;
    $('timeline').hidden = true;
    $('replay-detail').hidden = true;
    $('replay-summary').textContent = '';
    status.textContent = 'replaying…';
    status.dataset.state = 'running';
    bar.hidden = false;
    bar.value = 0;
    try {
      const out = await backend.call('replay', { trace: file, name: file.name, args: formArgs() }, (p) => {
        bar.value = p.lines === 0 ? 1 : p.line / p.lines;
        status.textContent = `replaying… ${Math.floor(bar.value * 100)}%`;
      });
      const s = out.summary;
      if (s.status === 'unusable') {
        status.textContent = `unusable trace: ${s.reason}`;
        status.dataset.state = 'unusable';
        return;
      }
      status.textContent = s.status === 'ok' ? 'no divergence' : `divergence at line ${s.divergence.line}`;
      status.dataset.state = s.status;
      $('replay-summary').textContent =
        `${out.name}: ${s.events} actions replayed, ${s.eventsChecked} model events (${s.valuesChecked} values) checked, ` +
        `${s.skippedLines} lines skipped, ${s.lines} lines; ${s.checkpoints} checkpoints` +
        (s.notes.length > 0 ? `\n${s.notes.join('\n')}` : '');
      if (s.divergence !== null) {
        const d = s.divergence;
        $('replay-detail').hidden = false;
        $('replay-detail').textContent = `trace: ${d.expected}\nmodel: ${d.model}\nmodel state:\n${d.state}`;
      }
      trace = { name: out.name, events: s.events };
      range.max = String(s.events);
      seekInput.max = String(s.events);
      $('tl-events').textContent = String(s.events);
      $('timeline').hidden = false;
      renderFrame(out.frame);
    } catch (e) {
      status.textContent = `replay failed: ${e.message}`;
      status.dataset.state = 'failed';
    } finally {
      bar.hidden = true;
      busy = false;
    }
  }

  $('trace-input').addEventListener('change', (ev) => {
    const file = ev.target.files[0];
    if (file !== undefined) void replay(file);
    ev.target.value = '';
  });
  // A file dropped anywhere on the page is replayed (and the browser does not navigate to it).
  const zone = $('drop-zone');
  document.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  });
  document.addEventListener('dragleave', () => zone.classList.remove('over'));
  document.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const file = ev.dataTransfer?.files[0];
    if (file !== undefined) void replay(file);
  });

  range.addEventListener('input', () => void seek(Number(range.value)));
  seekInput.addEventListener('change', () => void seek(Number(seekInput.value)));
  seekInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') void seek(Number(seekInput.value));
  });
  $('tl-first').addEventListener('click', () => void seek(0));
  $('tl-prev').addEventListener('click', () => void seek((wanted ?? shown) - 1));
  $('tl-next').addEventListener('click', () => void seek((wanted ?? shown) + 1));
  $('tl-last').addEventListener('click', () => void seek(trace?.events ?? 0));
  $('back-live').addEventListener('click', () => {
    page.setMode('live');
    shown = -1;
    delete document.body.dataset.event;
  });
}
