// The page's script. It finds where the machine lives (backend.js: the `xive serve` API, or a Web
// Worker running the model in the page), polls the live machine every 300 ms and renders it
// (render.js); with the worker it also offers the playground (playground.js): choosing and booting
// a machine, replaying a QEMU trace and moving through it on a timeline.

import { connect } from './backend.js';
import { renderCounters, renderMachine, renderStatus } from './render.js';
import { startPlayground } from './playground.js';

const POLL_MS = 300;

const page = {
  backend: null,
  /** 'live' (the machine polls) or 'trace' (a replayed trace's timeline is shown). */
  mode: 'live',
  /** Bumped when a new machine is booted: answers about an older one are dropped. */
  serial: 0,
  lastVersion: -1,
};

function showPic(pic) {
  const section = document.getElementById('pic-section');
  section.hidden = pic === null;
  if (pic !== null) {
    const pre = document.getElementById('info-pic');
    if (pre.textContent !== pic) pre.textContent = pic;
  }
}

function renderLive(frame) {
  const st = frame.state;
  // A poll sent before a button's request can answer after it: never go back to older state.
  if (page.mode !== 'live' || st.version < page.lastVersion) return;
  renderStatus(st);
  renderCounters(st);
  renderMachine(st.machine);
  showPic(frame.pic);
  page.lastVersion = st.version;
  document.getElementById('version').textContent = String(st.version);
  document.body.dataset.version = String(st.version);
  document.body.dataset.ready = '1';
}

function setConn(text, bad) {
  const el = document.getElementById('conn');
  el.textContent = text;
  el.classList.toggle('bad', bad);
}

function showError(message) {
  const err = document.getElementById('error');
  err.hidden = message === null;
  err.textContent = message ?? '';
}

async function poll() {
  const serial = page.serial;
  try {
    if (page.mode === 'live') {
      const frame = await page.backend.state();
      if (serial === page.serial) renderLive(frame);
      setConn(page.backend.kind === 'http' ? `live · polled every ${POLL_MS} ms` : `model running in this page (Web Worker) · polled every ${POLL_MS} ms`, false);
    }
  } catch (e) {
    setConn(page.backend.kind === 'http' ? `no connection to the server (${e.message})` : `the model does not answer (${e.message})`, true);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function act(op, params) {
  const serial = page.serial;
  try {
    const frame = await page.backend.act(op, params);
    if (serial === page.serial) renderLive(frame);
  } catch (e) {
    showError(`Request failed: ${e.message}`);
  }
}

function setMode(mode) {
  page.mode = mode;
  document.body.dataset.mode = mode;
  if (mode === 'trace') {
    for (const id of ['pause', 'resume', 'step']) document.getElementById(id).disabled = true;
  } else {
    // The next answer is rendered whatever its version: the timeline was on screen meanwhile.
    page.lastVersion = -1;
  }
}

async function main() {
  page.backend = connect();
  document.body.dataset.backend = page.backend.kind;
  document.body.dataset.mode = page.mode;
  document.getElementById('pause').addEventListener('click', () => act('pause'));
  document.getElementById('resume').addEventListener('click', () => act('resume'));
  document.getElementById('step').addEventListener('click', () => act('step'));
  document.getElementById('sources').addEventListener('click', (ev) => {
    const b = ev.target.closest('button.trig');
    if (b !== null && page.mode === 'live') act('trigger', { irq: parseInt(b.dataset.irq, 16) });
  });
  if (page.backend.kind === 'worker') {
    await startPlayground(page.backend, {
      booted(frame) {
        page.serial++;
        page.lastVersion = -1;
        setMode('live');
        showError(null);
        renderLive(frame);
      },
      setMode,
      showError,
      showPic,
    });
  }
  poll();
}

main().catch((e) => showError(`The page could not start: ${e.message}`));
