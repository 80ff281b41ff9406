// StatsD ingest with a client real applications use: hot-shots (npm) sends timings, gauges and
// gauge deltas, increments, histograms and distributions with DogStatsD tags to a real mled;
// `mlectl query --json` reads the estimates back, compared with a two-pass reference.
//
//   node statsd_hot_shots.mjs PATH/TO/mled PATH/TO/mlectl
//
// Exit 0 when every check passes and mled exits 0 on SIGTERM; 1 otherwise (reasons on stderr).
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import StatsD from 'hot-shots';

const [mledPath, mlectlPath] = process.argv.slice(2);
if (!mledPath || !mlectlPath) {
  console.error('usage: node statsd_hot_shots.mjs MLED MLECTL');
  process.exit(2);
}
const execFileAsync = promisify(execFile);
const FLUSH_SECONDS = 0.1;
const DEADLINE_MS = 60_000; // generous: sanitizer builds on a loaded 2-core machine are slow
let failures = 0;
function check(ok, message) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${message}`);
  }
}

// ---- Start mled and read its startup line ---------------------------------------------------
const daemon = spawn(mledPath, [
  '--statsd=127.0.0.1:0', '--http=', '--listen=127.0.0.1:0', '--udp=',
  '--statsd_flush_interval=100ms',
  // Flagged samples would stay out of the model; these checks compare every sample.
  '--default_rule=anomaly { enabled: false }',
], { stdio: ['ignore', 'pipe', 'pipe'] });
let stderrText = '';
daemon.stderr.on('data', (chunk) => { stderrText += chunk; });
process.on('exit', () => { if (daemon.exitCode === null) daemon.kill('SIGKILL'); });

async function startupLine() {
  let text = '';
  const timer = setTimeout(() => daemon.kill('SIGKILL'), DEADLINE_MS);
  for await (const chunk of daemon.stdout) {
    text += chunk;
    const newline = text.indexOf('\n');
    if (newline >= 0) {
      clearTimeout(timer);
      daemon.stdout.resume(); // keep draining
      return text.slice(0, newline);
    }
  }
  clearTimeout(timer);
  throw new Error(`mled exited before its startup line; stderr:\n${stderrText}`);
}
const line = await startupLine();
const match = /^mled listening on tcp (\S+), udp off, http off, statsd (\S+):(\d+) \(/.exec(line);
if (!match) {
  console.error(`FAIL: unexpected startup line: ${line}`);
  process.exit(1);
}
const [, tcpAddress, statsdHost, statsdPort] = match;

// ---- Send through hot-shots ------------------------------------------------------------------
const errorHandler = (error) => { failures++; console.error(`FAIL: hot-shots: ${error}`); };
// One datagram per metric (the default) ...
const client = new StatsD({
  host: statsdHost, port: Number(statsdPort), globalTags: { env: 'test' }, errorHandler,
});
// ... and several lines per datagram (buffered, newline-separated).
const buffered = new StatsD({
  host: statsdHost, port: Number(statsdPort), maxBufferSize: 400, bufferFlushInterval: 50,
  errorHandler,
});

const expected = new Map(); // stream -> samples
function expect(stream, ...values) {
  if (!expected.has(stream)) expected.set(stream, []);
  expected.get(stream).push(...values);
}

// Timings, tags given in either order: one stream "name;tag;tag..." with the tags sorted.
for (const [value, tags] of [[12, ['route:/a', 'method:get']], [15.5, ['method:get', 'route:/a']],
                             [9, ['route:/a', 'method:get']], [0.001, ['method:get', 'route:/a']]]) {
  client.timing('api.latency', value, tags);
  expect('api.latency;env:test;method:get;route:/a', value);
}
// Gauges: set, then deltas from the last value (sent in order from one socket on loopback).
client.gauge('queue.depth', 10, { shard: '1' });
client.gaugeDelta('queue.depth', 5, { shard: '1' });
client.gaugeDelta('queue.depth', -3, { shard: '1' });
client.gauge('queue.depth', 1e-7, { shard: '1' });
expect('queue.depth;env:test;shard:1', 10, 15, 12, 1e-7);
// Increments: per-interval rates (checked below by their sum).
client.increment('jobs.done', ['kind:mail']);
client.increment('jobs.done', 4, ['kind:mail']);
client.decrement('jobs.done', 2, ['kind:mail']);
const incrementSum = 1 + 4 - 2;
// Histograms and distributions, several lines a datagram.
for (let i = 0; i < 50; i++) {
  const bytes = 100 + ((i * 37) % 91) * 10;
  const millis = Math.sqrt(i + 1) * 3.25;
  buffered.histogram('payload.bytes', bytes, { region: 'eu' });
  buffered.distribution('render.ms', millis, ['page:home']);
  expect('payload.bytes;region:eu', bytes);
  expect('render.ms;page:home', millis);
}
buffered.distribution('render.ms', 1e+21, ['page:big']);
expect('render.ms;page:big', 1e+21);
await Promise.all([
  new Promise((resolve) => client.close(resolve)),
  new Promise((resolve) => buffered.close(resolve)),
]);

// ---- Query mled ------------------------------------------------------------------------------
async function query(globs) {
  const { stdout } = await execFileAsync(mlectlPath, ['query', '--json', `--addr=${tcpAddress}`,
                                                      ...globs]);
  const estimates = new Map();
  for (const text of stdout.split('\n').filter((l) => l.trim())) {
    for (const estimate of JSON.parse(text).estimates?.estimates ?? []) {
      estimates.set(estimate.stream, estimate);
    }
  }
  return estimates;
}

// Polls until `done(estimates)` or the deadline; returns the last answer.
async function poll(done) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const estimates = await query([]);
    if (done(estimates) || Date.now() > deadline) return estimates;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function twoPass(values) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n;
  return { n, mean, variance };
}
function close(actual, want, relTol, scale) {
  return Math.abs(actual - want) <= relTol * Math.max(Math.abs(want), scale);
}

const counter = 'jobs.done;env:test;kind:mail';
let first = null;
const estimates = await poll((answer) => {
  for (const [stream, values] of expected) {
    if (Number(answer.get(stream)?.count ?? 0) < values.length) return false;
  }
  // Two flushes after every other stream is complete, so the increments are all in.
  const rates = Number(answer.get(counter)?.count ?? 0);
  if (rates === 0) return false;
  first ??= rates;
  return rates >= first + 2;
});
for (const [stream, values] of expected) {
  const estimate = estimates.get(stream);
  if (!estimate) {
    check(false, `no stream ${stream}; got ${[...estimates.keys()].join(', ')}`);
    continue;
  }
  const want = twoPass(values);
  check(Number(estimate.count) === want.n, `${stream}: count ${estimate.count}, want ${want.n}`);
  check(close(estimate.mean[0], want.mean, 1e-12, 1e-300),
        `${stream}: mean ${estimate.mean[0]}, want ${want.mean}`);
  check(close(estimate.covariance[0], want.variance, 1e-9, 1e-300),
        `${stream}: variance ${estimate.covariance[0]}, want ${want.variance}`);
}
const rates = estimates.get(counter);
if (!rates) {
  check(false, `no stream ${counter}`);
} else {
  const sum = rates.mean[0] * Number(rates.count) * FLUSH_SECONDS;
  check(close(sum, incrementSum, 1e-9, 1), `${counter}: rates sum to ${sum / FLUSH_SECONDS}/s ` +
        `over ${rates.count} intervals, want ${incrementSum / FLUSH_SECONDS}/s`);
}
check(estimates.size === expected.size + 1,
      `streams: ${[...estimates.keys()].join(', ')}`);

// ---- Stop ------------------------------------------------------------------------------------
daemon.kill('SIGTERM');
const killer = setTimeout(() => daemon.kill('SIGKILL'), DEADLINE_MS);
const [code, signal] = daemon.exitCode !== null ? [daemon.exitCode, null] : await once(daemon, 'exit');
clearTimeout(killer);
check(code === 0, `mled exited with ${code ?? signal} after SIGTERM; stderr:\n${stderrText}`);
check(!/Sanitizer|runtime error:/.test(stderrText), `sanitizer report:\n${stderrText}`);
if (failures > 0) process.exit(1);
console.log(`hot-shots: ${expected.size} streams and a counter's rates match; mled exited 0`);
