// Drives Debian's headless Chromium through chromedriver (W3C WebDriver over HTTP, with Node's own
// fetch: no npm package) against a running workflow server's dashboard:
//   node dashboard_webdriver.mjs BASE_URL TOKEN_FILE JOB_ID MODEL_NAME OUT_DIR
// Logs in with the token through the login form, finds the finished job in the list, opens it, and
// checks its state, log, metrics summary and drawn ROC chart; then the models page. Screenshots go
// to OUT_DIR. Exit 0: every check held; 1: a check failed; 77: no Chromium/chromedriver here.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const [base, tokenFile, jobId, modelName, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node dashboard_webdriver.mjs BASE_URL TOKEN_FILE JOB_ID MODEL_NAME OUT_DIR');
  process.exit(2);
}
const chromium = process.env.M4H_CHROMIUM || '/usr/bin/chromium';
const chromedriver = process.env.M4H_CHROMEDRIVER || '/usr/bin/chromedriver';
if (!existsSync(chromium) || !existsSync(chromedriver)) {
  console.error(`*** SKIPPED: ${chromium} or ${chromedriver} is missing (scripts/install-deps.sh installs chromium and chromium-driver) ***`);
  process.exit(77);
}
mkdirSync(outDir, { recursive: true });
const token = readFileSync(tokenFile, 'utf8').trim();
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const port = await freePort();
const driver = spawn(chromedriver, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
let driverLog = '';
driver.stdout.on('data', (d) => { driverLog += d; });
driver.stderr.on('data', (d) => { driverLog += d; });
const wd = `http://127.0.0.1:${port}`;
const deadline = Date.now() + 120000;  // the whole browser session is bounded

async function call(method, path, body) {
  const r = await fetch(wd + path, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(answer.value).slice(0, 300)}`);
  return answer.value;
}

let session = null;
try {
  for (let i = 0; ; i++) {
    try { await call('GET', '/status'); break; } catch (e) { if (i > 100) throw new Error('chromedriver did not start: ' + driverLog); }
    await sleep(100);
  }
  const created = await call('POST', '/session', {
    capabilities: {
      alwaysMatch: {
        browserName: 'chrome',
        'goog:chromeOptions': {
          binary: chromium,
          args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,1100'],
        },
      },
    },
  });
  session = created.sessionId;
  const s = `/session/${session}`;
  const find = async (css) => Object.values(await call('POST', `${s}/element`, { using: 'css selector', value: css }))[0];
  const run = (script, ...args) => call('POST', `${s}/execute/sync`, { script, args });
  // Waits until `script` returns something truthy; returns it (or null at the deadline).
  async function waitFor(what, script, ms = 30000) {
    const end = Math.min(Date.now() + ms, deadline);
    while (Date.now() < end) {
      const v = await run(script).catch(() => null);
      if (v) return v;
      await sleep(200);
    }
    check(false, `in time: ${what}`);
    return null;
  }
  const screenshot = async (name) => {
    writeFileSync(join(outDir, name), Buffer.from(await call('GET', `${s}/screenshot`), 'base64'));
    console.log(`screenshot: ${join(outDir, name)}`);
  };

  // 1. Without a token: the login form.
  await call('POST', `${s}/url`, { url: base + '/dashboard/' });
  check(await waitFor('the login form shows', "return !document.getElementById('login-view').hidden"), 'no token: the login form');

  // 2. Log in by typing the token and pressing the button.
  await call('POST', `${s}/element/${await find('#token-input')}/value`, { text: token });
  await call('POST', `${s}/element/${await find('#login')}/click`, {});
  const user = await waitFor('the user is shown', "return document.getElementById('user').dataset.subject");
  check(user === 'alice', `logged in as alice (${user})`);

  // 3. The jobs list has the finished job.
  const row = `tr[data-job-id="${jobId}"]`;
  const listed = await waitFor(`job ${jobId} listed`, `return document.querySelector('${row}')?.dataset.state`);
  check(listed === 'succeeded', `job ${jobId} in the list, succeeded (${listed})`);
  await screenshot('dashboard-jobs.png');

  // 4. Its page: state, log, metrics, the ROC chart drawn by Chart.js.
  await call('POST', `${s}/element/${await find(`${row} a`)}/click`, {});
  const state = await waitFor('the job page', "return document.getElementById('job-state')?.textContent");
  check(state === 'succeeded', `job page state: ${state}`);
  const points = await waitFor('the ROC chart', "return document.getElementById('roc-chart').dataset.points");
  check(Number(points) > 10, `ROC chart drawn with ${points} points`);
  const drawn = await run(`const c = document.getElementById('roc-chart');
    return !!window.Chart && !!Chart.getChart(c) && Chart.getChart(c).data.datasets.length >= 2`);
  check(drawn, 'Chart.js holds the model and baseline curves');
  const summary = await run("return document.getElementById('metrics-summary').textContent");
  check(/Test ROC AUC 0\.\d{4}/.test(summary), `metrics summary: ${summary}`);
  const log = await waitFor('the log', "return document.getElementById('log').textContent.includes('wrote bundle') && document.getElementById('log').textContent");
  check(!!log, 'the job log is shown');
  const artifacts = await run("return [...document.querySelectorAll('#artifacts a')].map(a => a.dataset.path)");
  check(artifacts.includes('metrics.json') && artifacts.includes('bundle.tar.gz'), `artifacts listed: ${artifacts.length}`);
  await run("document.getElementById('metrics').scrollIntoView()");
  await screenshot('dashboard-job.png');

  // 5. The models on the inference server.
  await call('POST', `${s}/url`, { url: base + '/dashboard/#/models' });
  const model = await waitFor(`model ${modelName} listed`, `return document.querySelector('tr[data-model="${modelName}"]')?.textContent`);
  check(!!model && model.includes('yes'), `model ${modelName} on the inference server, ready`);
  await screenshot('dashboard-models.png');

  // 6. Nothing was logged as an error by the page (CSP violations, script errors).
  const logs = await call('POST', `${s}/se/log`, { type: 'browser' }).catch(() => []);
  // (The 401 of the first whoami, before the login, is the page asking whether it needs a token.)
  const severe = logs.filter((l) => l.level === 'SEVERE' && !(l.source === 'network' && /whoami.*401/.test(l.message)));
  check(severe.length === 0, `no errors in the browser console${severe.length ? ': ' + JSON.stringify(severe).slice(0, 500) : ''}`);
} catch (e) {
  check(false, String(e.stack || e));
} finally {
  if (session) await call('DELETE', `/session/${session}`).catch(() => {});
  driver.kill();
}
console.log(`dashboard browser test: ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
