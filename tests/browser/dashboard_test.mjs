// The built-in dashboard in a real browser (Debian's chromium, driven by playwright-core):
//
//   node dashboard_test.mjs MLED MLECTL SCREENSHOT.png
//
// Starts mled on ephemeral loopback ports, opens the page on the empty daemon (it must say how
// to get streams), runs `mlectl demo` against it, and checks that the stream list fills with the
// four demo streams, that choosing one draws its charts, that the charts grow as samples arrive,
// that the faulty pump stream gets an anomaly marker, that a D=3 stream offers a component
// selector, and that the page logged no error. Saves a screenshot, then stops mled with SIGTERM
// and checks that it exits 0. Exit 0: pass; 1: fail; 77: skipped (no browser or no
// playwright-core; CTest's SKIP_RETURN_CODE).
//
// Waits poll with deadlines; nothing depends on how fast this machine is, only the whole run is
// bounded (DEADLINE_MS).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const PLAYWRIGHT = join(dirname(fileURLToPath(import.meta.url)), '..', 'js', 'node_modules',
                        'playwright-core', 'index.mjs');
const DEADLINE_MS = 90_000;         // the whole test; a healthy run takes about 15 s
const STARTUP_MS = 20_000;
const DEMO_STREAMS = new Map([
  ['demo/plant/temperature', 1],
  ['demo/plant/pressure', 1],
  ['demo/robot/accel', 3],
  ['demo/pump/vibration', 1],
]);

const [mledPath, mlectlPath, screenshotPath] = process.argv.slice(2);
if (!mledPath || !mlectlPath || !screenshotPath) {
  console.error('usage: node dashboard_test.mjs MLED MLECTL SCREENSHOT.png');
  process.exit(2);
}
if (!existsSync(CHROMIUM) || !existsSync(PLAYWRIGHT)) {
  console.log(`SKIPPED: needs ${CHROMIUM} and ${PLAYWRIGHT} (scripts/setup installs both)`);
  process.exit(77);
}
const { chromium } = await import(PLAYWRIGHT);

const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);
const children = [];
let browser = null;
let userDataDir = null;

function fail(message) {
  throw new Error(message);
}

// Everything the child writes, kept for failure messages.
function startChild(path, args) {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.err = '';
  child.stderr.on('data', (d) => { child.err += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  children.push(child);
  return child;
}

// Resolves with the first stdout line matching `pattern`; rejects if the child exits first or
// `ms` pass.
function waitForLine(child, pattern, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${ms} ms; ` +
                                                    `stderr:\n${child.err}`)), ms);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      child.out += line + '\n';
      const m = line.match(pattern);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${child.spawnfile} exited (${code ?? signal}) before printing ${pattern}; ` +
                       `stderr:\n${child.err}`));
    });
  });
}

async function stopChild(child, ms = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), ms));
  const result = await Promise.race([child.exited, timeout]);
  if (result === null) {
    child.kill('SIGKILL');
    fail(`${child.spawnfile} did not exit within ${ms} ms of SIGTERM`);
  }
  return result;
}

// Polls `probe` (async, returning a truthy value when done) until it holds or `ms` pass.
async function poll(what, probe, ms = 20_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  fail(`timed out after ${ms} ms waiting for ${what}`);
}

async function main() {
  // 1. The daemon, on ephemeral ports, with the HTTP interface on.
  const mled = startChild(mledPath, ['--listen=127.0.0.1:0', '--udp=', '--statsd=',
                                     '--http=127.0.0.1:0', '--io_threads=2']);
  const m = await waitForLine(mled,
                              /^mled listening on tcp (\S+), udp \S+, http (\S+), statsd \S+ \(/,
                              STARTUP_MS);
  const [, tcp, http] = m;
  if (http === 'off') fail('mled started without its HTTP interface');
  log(`mled: tcp ${tcp}, http ${http}`);

  // 2. The browser, offline: without the background-networking flags chromium waits on the
  // network it does not have. A fresh profile each run (playwright passes it as
  // --user-data-dir; it refuses that flag in `args`).
  userDataDir = mkdtempSync(join(tmpdir(), 'mled-dashboard-test-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 768 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => { if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.url()}`); });

  // 3. The empty daemon: the page says how to get streams.
  const response = await page.goto(`http://${http}/`);
  if (!response.ok()) fail(`GET / answered ${response.status()}`);
  if (!(response.headers()['content-type'] || '').startsWith('text/html')) {
    fail(`GET / has content type ${response.headers()['content-type']}`);
  }
  await page.locator('#empty').waitFor({ state: 'visible', timeout: 15_000 });
  const emptyText = await page.locator('#empty').innerText();
  if (!emptyText.includes('mlectl demo')) fail(`the empty page does not mention mlectl demo:\n${emptyText}`);
  await poll('the live connection', async () =>
    (await page.locator('#conn').getAttribute('data-state')) === 'live');
  log('empty daemon shown, event stream live');

  // 4. The demo: the list fills with its four streams.
  const demo = startChild(mlectlPath, ['demo', `--addr=${tcp}`, '--rate=20', '--seed=3']);
  demo.stdout.on('data', (d) => { demo.out += d; });
  const names = await poll('the four demo streams in the list', async () => {
    const got = await page.locator('#streams li[data-stream]').evaluateAll(
        (lis) => lis.map((li) => li.dataset.stream));
    return [...DEMO_STREAMS.keys()].every((n) => got.includes(n)) ? got : null;
  });
  if (names.length !== DEMO_STREAMS.size) fail(`list has ${names.length} streams: ${names}`);
  log('list:', names.join(', '));

  // 5. Choosing the pump draws its charts, and they grow as samples arrive.
  await page.locator('#streams li[data-stream="demo/pump/vibration"]').click();
  await poll('the pump chosen', async () =>
    (await page.locator('#stream-name').innerText()) === 'demo/pump/vibration');
  const points = async (id) => Number(await page.locator(id).getAttribute('data-points'));
  const first = await poll('points on the mean chart', async () => (await points('#mean-chart')) || null);
  await poll('the mean chart to grow', async () => (await points('#mean-chart')) > first + 2);
  const count = async () => Number((await page.locator('#num-count').innerText()).replace(/,/g, ''));
  const n0 = await count();
  await poll('N to grow', async () => (await count()) > n0);
  // The mean chart has pixels drawn in the mean's colour (not just an empty canvas).
  const drawn = await page.locator('#mean-chart').evaluate((canvas) => {
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0) lit++;
    return lit;
  });
  if (drawn < 1000) fail(`the mean chart has only ${drawn} pixels drawn`);
  log(`charts drawn and growing (${await points('#mean-chart')} points, N ${await count()})`);

  // 6. The first fault burst of the pump (about 6 s into the demo): an anomaly marker on the
  // chart, the threshold line's legend, a row in the recent list and the counter.
  await poll('an anomaly marker on the pump chart', async () =>
    Number(await page.locator('#mean-chart').getAttribute('data-anomalies')) > 0, 40_000);
  const threshold = await page.locator('#threshold-label').innerText();
  if (!/threshold [0-9.e+-]+ nats/.test(threshold)) fail(`threshold legend: ${threshold}`);
  const recent = await page.locator('#recent li b').count();
  if (recent < 1) fail('no row in the recent anomalies');
  await poll('the anomaly counter', async () => Number(await page.locator('#num-anomalies').innerText()) > 0);
  log(`anomaly shown: ${threshold}`);

  // 7. A D=3 stream offers its components.
  await page.locator('#streams li[data-stream="demo/robot/accel"]').click();
  await poll('three component buttons', async () => (await page.locator('#components button').count()) === 3);
  await page.locator('#components button[data-component="2"]').click();
  await poll('component x2 chosen', async () =>
    (await page.locator('#mean-title').innerText()) === 'mean of x2' && (await points('#mean-chart')) > 0);
  const mean2 = Number(await page.locator('#num-mean').innerText());
  if (!(Math.abs(mean2 - 9.81) < 0.5)) fail(`x2 of the accelerometer has mean ${mean2}, not about 9.81`);
  log('component selector works');

  // 8. Back to the pump for the screenshot, once a little more has happened.
  await page.locator('#streams li[data-stream="demo/pump/vibration"]').click();
  await poll('the pump chosen again', async () =>
    (await page.locator('#stream-name').innerText()) === 'demo/pump/vibration');
  await page.waitForTimeout(1500);  // for a fuller picture only; nothing is asserted after it
  mkdirSync(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath });
  log(`screenshot: ${screenshotPath}`);

  if (errors.length) fail(`the page logged errors:\n  ${errors.join('\n  ')}`);

  // 9. Clean stops: the demo and the daemon exit 0 at SIGTERM.
  await browser.close();
  browser = null;
  const demoExit = await stopChild(demo);
  if (demoExit.code !== 0) fail(`mlectl demo exited ${demoExit.code ?? demoExit.signal}; stderr:\n${demo.err}`);
  const mledExit = await stopChild(mled);
  if (mledExit.code !== 0) fail(`mled exited ${mledExit.code ?? mledExit.signal}; stderr:\n${mled.err}`);
  log('mlectl demo and mled stopped cleanly');
}

const deadline = setTimeout(() => {
  console.error(`FAIL: the test did not finish within ${DEADLINE_MS} ms`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, DEADLINE_MS);

let status = 0;
try {
  await main();
  log('PASS');
} catch (err) {
  console.error(`FAIL: ${err.message}`);
  status = 1;
} finally {
  clearTimeout(deadline);
  if (browser) await browser.close().catch(() => {});
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(status);
