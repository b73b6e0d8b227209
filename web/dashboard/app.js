// The mlaas4hep dashboard: a client of the workflow server's REST API (/api/v1), with the user's
// bearer token. Views by address: #/jobs, #/jobs/ID, #/models. Everything a job or user supplied
// is shown as text (textContent), never parsed as HTML.
'use strict';

const TOKEN_KEY = 'mlaas4hep.token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let viewGeneration = 0;  // bumped on every view change: loops of an old view stop
const charts = [];

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (!r.ok) {
    let message = r.status + ' ' + r.statusText;
    try { message = (await r.json()).error || message; } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, message);
  }
  return r;
}
const apiJson = async (path, options) => (await api(path, options)).json();

// An OAuth2 implicit-flow style return (#access_token=...) logs in, then leaves the address.
function tokenFromAddress() {
  const m = location.hash.match(/[#&]access_token=([^&]+)/);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + '#/jobs');
}

function setToken(t) {
  token = t.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
}

function when(ms) { return ms ? new Date(ms).toLocaleString() : ''; }

function stateBadge(state) { return el('span', state, { class: 'state state-' + state, 'data-state': state }); }

function show(viewId) {
  viewGeneration++;
  for (const c of charts.splice(0)) c.destroy();
  for (const v of ['login-view', 'jobs-view', 'job-view', 'models-view']) $(v).hidden = v !== viewId;
  $('error').textContent = '';
}

function fail(e) {
  if (e instanceof ApiError && e.status === 401) return showLogin('Your token was refused: ' + e.message);
  $('error').textContent = String(e.message || e);
}

function showLogin(message) {
  show('login-view');
  $('user').textContent = '';
  $('logout').hidden = true;
  $('login-error').textContent = message || '';
}

// ---- jobs list

async function showJobs() {
  show('jobs-view');
  const generation = viewGeneration;
  for (;;) {
    const { jobs } = await apiJson('/api/v1/jobs?limit=200');
    if (generation !== viewGeneration) return;
    const body = $('jobs').querySelector('tbody');
    body.replaceChildren(...jobs.map((j) => {
      const row = el('tr', null, { 'data-job-id': j.id, 'data-state': j.state });
      const link = el('a', j.id, { href: '#/jobs/' + j.id });
      const cells = [link, j.name, j.owner, stateBadge(j.state), when(j.created_ms), when(j.finished_ms), j.published || ''];
      for (const c of cells) {
        const td = el('td');
        if (c instanceof Node) td.append(c); else td.textContent = c;
        row.append(td);
      }
      return row;
    }));
    $('jobs-empty').hidden = jobs.length > 0;
    await sleep(3000);
    if (generation !== viewGeneration) return;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- one job

async function showJob(id) {
  show('job-view');
  const generation = viewGeneration;
  $('job-id').textContent = id;
  $('log').textContent = '';
  $('artifacts').replaceChildren();
  $('metrics').hidden = true;
  let job = await apiJson('/api/v1/jobs/' + encodeURIComponent(id));
  renderJob(job);
  // The log, followed with long polls until the job ends.
  let offset = 0;
  for (;;) {
    const r = await api(`/api/v1/jobs/${encodeURIComponent(id)}/log?offset=${offset}&wait_ms=10000`);
    if (generation !== viewGeneration) return;
    const text = await r.text();
    if (text) {
      const log = $('log');
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent += text;
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    offset = Number(r.headers.get('X-Log-Offset') || offset);
    const state = r.headers.get('X-Job-State');
    if (['succeeded', 'failed', 'cancelled'].includes(state) && !text) break;
    if (state !== job.state) {
      job = await apiJson('/api/v1/jobs/' + encodeURIComponent(id));
      if (generation !== viewGeneration) return;
      renderJob(job);
    }
  }
  job = await apiJson('/api/v1/jobs/' + encodeURIComponent(id));
  if (generation !== viewGeneration) return;
  renderJob(job);
  if (job.state === 'succeeded') await showResults(job, generation);
}

function renderJob(job) {
  $('job-name').textContent = job.name;
  const rows = [
    ['State', stateBadge(job.state)], ['Owner', job.owner], ['Executor', job.executor],
    ['Resources', `${job.resources.cpus} CPU, ${job.resources.memory_mb || 'no'} MB limit, ${job.resources.device}`],
    ['Submitted', when(job.created_ms)], ['Started', when(job.started_ms)], ['Ended', when(job.finished_ms)],
    ['Exit code', job.exit_code ?? ''], ['Reason', job.reason || ''], ['Published as', job.published || ''],
  ];
  $('job-details').replaceChildren(...rows.flatMap(([k, v]) => {
    const dd = el('dd');
    if (v instanceof Node) dd.append(v); else dd.textContent = v;
    if (k === 'State') dd.id = 'job-state';
    return [el('dt', k), dd];
  }));
  const cancel = $('cancel');
  cancel.hidden = !['queued', 'running'].includes(job.state);
  cancel.onclick = async () => {
    cancel.disabled = true;
    try { await api(`/api/v1/jobs/${job.id}/cancel`, { method: 'POST' }); } catch (e) { fail(e); }
    cancel.disabled = false;
  };
}

async function showResults(job, generation) {
  const { artifacts } = await apiJson(`/api/v1/jobs/${job.id}/artifacts`);
  if (generation !== viewGeneration) return;
  $('artifacts').replaceChildren(...artifacts.map((a) => {
    const li = el('li');
    const link = el('a', a.path, { href: '#', 'data-path': a.path });
    link.onclick = (ev) => { ev.preventDefault(); download(job.id, a.path).catch(fail); };
    li.append(link);
    if (a.bytes !== null && a.bytes !== undefined) li.append(` (${a.bytes} bytes)`);
    return li;
  }));
  if (!artifacts.some((a) => a.path === 'metrics.json')) return;
  const metrics = await apiJson(`/api/v1/jobs/${job.id}/artifacts/metrics.json`);
  if (generation !== viewGeneration) return;
  drawMetrics(metrics);
}

// Artifacts need the token: fetched, then saved from a blob.
async function download(id, path) {
  const blob = await (await api(`/api/v1/jobs/${id}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`)).blob();
  const a = el('a', null, { href: URL.createObjectURL(blob), download: path.replaceAll('/', '_') });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function drawMetrics(m) {
  $('metrics').hidden = false;
  const test = m.test || {};
  const fmt = (x) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
  let summary = `Test ROC AUC ${fmt(test.auc)}, accuracy ${fmt(test.accuracy)}; signal efficiency ` +
    `${fmt(test.signal_efficiency_at_background_1pct)} at 1% and ${fmt(test.signal_efficiency_at_background_10pct)} ` +
    `at 10% background efficiency.`;
  const cut = m.cut_baseline;
  // Jobs of earlier versions hold a single-feature cut ("feature", "scan").
  const cutCurve = cut && (cut.curve || cut.scan);
  const cutName = cut && (cut.curve ? 'rectangular cuts' : `cut scan on ${cut.feature}`);
  if (cut && cut.test)
    summary += ` Cut-based baseline (${cut.rule || `single cut on ${cut.feature}`}): AUC ${fmt(cut.test.auc)} (this selection)` +
      (cutCurve ? `, ${fmt(cutCurve.auc)} (ROC of ${cutName})` : '') + '.';
  $('metrics-summary').textContent = summary;
  $('metrics').dataset.auc = test.auc;
  if (typeof Chart === 'undefined') {
    $('metrics-summary').textContent += ' (Charts unavailable: chart.umd.min.js did not load.)';
    return;
  }
  const history = m.history || [];
  const epochs = history.map((h) => h.epoch);
  charts.push(new Chart($('loss-chart'), {
    type: 'line',
    data: {
      labels: epochs,
      datasets: [
        { label: 'training loss', data: history.map((h) => h.train_loss), borderColor: '#1d3557' },
        { label: 'validation loss', data: history.map((h) => h.validation_loss), borderColor: '#e63946' },
      ],
    },
    options: { animation: false, responsive: false, scales: { x: { title: { display: true, text: 'epoch' } } } },
  }));
  const points = (curve) => (curve || []).map(([fpr, tpr]) => ({ x: fpr, y: tpr }));
  const datasets = [{ label: `model (AUC ${fmt(test.auc)})`, data: points(test.roc), borderColor: '#1d3557', pointRadius: 0 }];
  if (cutCurve && cutCurve.roc)
    datasets.push({ label: `${cutName} (AUC ${fmt(cutCurve.auc)})`, data: points(cutCurve.roc), borderColor: '#e63946', pointRadius: 2 });
  datasets.push({ label: 'random', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: '#adb5bd', borderDash: [4, 4], pointRadius: 0 });
  charts.push(new Chart($('roc-chart'), {
    type: 'line',
    data: { datasets },
    options: {
      animation: false, responsive: false, parsing: false,
      scales: {
        x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'background efficiency' } },
        y: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'signal efficiency' } },
      },
    },
  }));
  $('roc-chart').dataset.points = String(datasets[0].data.length);
}

// ---- models

async function showModels() {
  show('models-view');
  const { inference_server: url, models } = await apiJson('/api/v1/models');
  $('inference-url').textContent = url ? 'Inference server: ' + url : 'This server publishes models nowhere.';
  $('models').querySelector('tbody').replaceChildren(...models.map((m) => {
    const row = el('tr', null, { 'data-model': m.name });
    for (const c of [m.name, m.version ?? '', m.ready ? 'yes' : 'no', m.reason || '']) row.append(el('td', c));
    return row;
  }));
}

// ---- routing

async function route() {
  tokenFromAddress();
  try {
    const me = await apiJson('/api/v1/whoami');
    $('user').textContent = me.subject + (me.admin ? ' (admin)' : '');
    $('user').dataset.subject = me.subject;
    $('logout').hidden = !token;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showLogin(token ? 'Your token was refused: ' + e.message : '');
    return fail(e);
  }
  const hash = location.hash || '#/jobs';
  const job = hash.match(/^#\/jobs\/(\d+)$/);
  try {
    if (job) await showJob(job[1]);
    else if (hash === '#/models') await showModels();
    else await showJobs();
  } catch (e) {
    fail(e);
  }
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken($('token-input').value);
  $('token-input').value = '';
  if (location.hash !== '#/jobs') location.hash = '#/jobs'; else route();
});
$('logout').addEventListener('click', () => { setToken(''); showLogin('Logged out.'); });
window.addEventListener('hashchange', route);
route();
