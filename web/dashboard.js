// mled dashboard: the stream list, the chosen stream's numbers and two live charts.
//
// Data, all from the daemon that serves this page (JSON is protobuf's JSON mapping of
// proto/mled/v1/wire.proto: snake_case names, 64-bit integers as strings):
//   GET /v1/streams?match=GLOB   Estimates: the list, on load, on filter changes and every few
//                                seconds (so that reset or removed streams leave it);
//   GET /v1/stats                DaemonStats: the header, every two seconds;
//   GET /v1/events?...           Server-Sent Events: `estimates` (a snapshot first, then the
//                                streams that changed, every INTERVAL_MS) and `anomaly` (each
//                                anomaly as it happens); the charts are built from these.
// The charts are drawn on <canvas> by the small chart code below (no library: the daemon's
// build must not depend on node_modules, and the page must work offline).
'use strict';

(() => {
  const INTERVAL_MS = 500;           // asked of the event stream
  const STATS_EVERY_MS = 2000;
  const LIST_EVERY_MS = 5000;
  const MAX_POINTS = 2000;           // per stream: over 15 minutes at INTERVAL_MS
  const MAX_TRACKED = 200;           // streams whose history is kept (plus the chosen one)
  const MAX_ANOMALIES = 500;         // per stream
  const MAX_LIST_ROWS = 500;         // rows drawn in the list
  const MAX_RECENT = 30;             // anomalies listed under the charts
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 10000;

  const $ = (id) => document.getElementById(id);

  const state = {
    glob: '*',
    streams: new Map(),     // name -> latest Estimate (JSON object)
    history: new Map(),     // name -> [{t, mean[], sd[], score, count}], oldest first
    anomalies: new Map(),   // name -> [{t, x[], score, p, threshold, d2}], oldest first
    selected: null,
    component: 0,
    spanSec: 300,
    listLoaded: false,
    source: null,           // the EventSource
    backoff: BACKOFF_MIN_MS,
    reconnectTimer: 0,
    lastStats: null,        // {samples, uptime} for the rate
    drawPending: false,
    listPending: false,
  };

  // ---- numbers ------------------------------------------------------------------------------

  // int64/uint64 arrive as strings, doubles as numbers; absent optional fields as undefined.
  const num = (v) => (v === undefined || v === null || v === '' ? undefined : Number(v));

  // `digits` significant digits, trailing zeros kept (a mean of 2.00001 shows as 2.0000, not 2).
  function fmt(v, digits = 5) {
    if (v === undefined || !Number.isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
    if (a >= Math.pow(10, digits - 1)) return v.toFixed(0);
    return v.toPrecision(digits);
  }

  function fmtP(p) {
    if (p === undefined || !Number.isFinite(p)) return '–';
    if (p === 0) return '< 1e-308';
    return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
  }

  function fmtCount(n) {
    if (n === undefined || !Number.isFinite(n)) return '–';
    if (!Number.isInteger(n)) return n.toFixed(1);
    return n.toLocaleString('en-US');
  }

  function fmtCompact(n) {
    if (n === undefined || !Number.isFinite(n)) return '–';
    if (n < 1e4) return String(Math.round(n));
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e5 ? 1 : 0) + 'k';
    if (n < 1e9) return (n / 1e6).toFixed(n < 1e7 ? 2 : 1) + 'M';
    return (n / 1e9).toFixed(2) + 'G';
  }

  function fmtDuration(seconds) {
    if (!Number.isFinite(seconds)) return '–';
    const s = Math.floor(seconds);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  const pad2 = (n) => String(n).padStart(2, '0');
  function fmtClock(ms, millis = false) {
    const d = new Date(ms);
    const base = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    return millis ? `${base}.${String(d.getMilliseconds()).padStart(3, '0')}` : base;
  }

  const ESTIMATORS = { 1: 'cumulative', 2: 'exponential', 3: 'window' };
  function estimatorName(e) {
    if (e === undefined || e === null) return '–';
    if (typeof e === 'number') return ESTIMATORS[e] || String(e);
    return String(e).replace(/^ESTIMATOR_/, '').toLowerCase();
  }

  function dimOf(e) { return Math.max(1, num(e.dim) || (e.mean ? e.mean.length : 1) || 1); }

  // The standard deviations (square roots of the covariance diagonal) of an estimate.
  function sdOf(e) {
    const d = dimOf(e);
    const cov = e.covariance || [];
    const out = [];
    for (let i = 0; i < d; i++) {
      const v = Number(cov[i * d + i]);
      out.push(Number.isFinite(v) && v >= 0 ? Math.sqrt(v) : undefined);
    }
    return out;
  }

  // The samples the model stands on: `effective_count` (Kish's for exponential models), else N.
  function effectiveN(e) {
    const eff = num(e.effective_count);
    return eff !== undefined && eff > 0 ? eff : num(e.count) || 0;
  }

  // ---- globs ----------------------------------------------------------------------------------

  // Text without glob characters matches anywhere in a name, as a filter box should.
  function globFromFilter(text) {
    const t = text.trim();
    if (t === '') return '*';
    return /[*?[\\]/.test(t) ? t : `*${t}*`;
  }

  // ---- data -----------------------------------------------------------------------------------

  function tracked(name) {
    return state.history.has(name) || name === state.selected ||
        state.history.size < MAX_TRACKED;
  }

  function addPoint(e) {
    const name = e.stream;
    if (!tracked(name)) return;
    let h = state.history.get(name);
    if (!h) { h = []; state.history.set(name, h); }
    const count = num(e.count) || 0;
    const t = num(e.last_time_unix_nano) / 1e6 || Date.now();
    const last = h[h.length - 1];
    if (last) {
      // A stream that was reset (or a daemon that restarted) starts over.
      if (count < last.count) {
        h.length = 0;
        state.anomalies.delete(name);
      } else if (count === last.count && t === last.t) {
        return;  // the same state again (the snapshot after a reconnect)
      }
    }
    h.push({
      t,
      count,
      mean: (e.mean || []).map(Number),
      sd: sdOf(e),
      score: num(e.last_score),
    });
    if (h.length > MAX_POINTS) h.splice(0, h.length - MAX_POINTS);
  }

  function onEstimates(msg) {
    let listChanged = false;
    let selectedChanged = false;
    for (const e of msg.estimates || []) {
      const prev = state.streams.get(e.stream);
      if (!prev || num(prev.anomalies) !== num(e.anomalies) || num(prev.count) !== num(e.count)) {
        listChanged = true;
      }
      state.streams.set(e.stream, e);
      addPoint(e);
      if (e.stream === state.selected) selectedChanged = true;
    }
    if (!state.selected && state.streams.size > 0) selectDefault();
    if (listChanged) scheduleList();
    if (selectedChanged) scheduleDraw();
  }

  function onAnomaly(a) {
    const name = a.stream;
    let list = state.anomalies.get(name);
    if (!list) { list = []; state.anomalies.set(name, list); }
    list.push({
      t: num(a.time_unix_nano) / 1e6 || Date.now(),
      x: (a.x || []).map(Number),
      score: num(a.score),
      p: num(a.p_value),
      threshold: num(a.threshold),
      d2: num(a.mahalanobis2),
      suppressed: num(a.suppressed) || 0,
    });
    if (list.length > MAX_ANOMALIES) list.splice(0, list.length - MAX_ANOMALIES);
    const e = state.streams.get(name);
    if (e) e.anomalies = String((num(e.anomalies) || 0) + 1 + (num(a.suppressed) || 0));
    scheduleList();
    if (name === state.selected) scheduleDraw();
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: 'no-store' });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  async function refreshList() {
    const glob = state.glob;
    try {
      const msg = await getJson(`/v1/streams?match=${encodeURIComponent(glob)}`);
      if (glob !== state.glob) return;  // the filter changed meanwhile
      const seen = new Set();
      for (const e of msg.estimates || []) {
        seen.add(e.stream);
        const prev = state.streams.get(e.stream);
        // Events may be newer than this answer; keep the later state.
        if (!prev || num(prev.count) <= num(e.count) ||
            num(prev.last_time_unix_nano) <= num(e.last_time_unix_nano)) {
          state.streams.set(e.stream, e);
        }
        if (!state.history.has(e.stream) || state.history.get(e.stream).length === 0) addPoint(e);
      }
      // Streams gone from the daemon (reset, removed by a reload, or a restarted daemon).
      for (const name of [...state.streams.keys()]) {
        if (!seen.has(name)) state.streams.delete(name);
      }
      state.listLoaded = true;
      if (!state.selected || !state.streams.has(state.selected)) selectDefault();
      scheduleList();
      scheduleDraw();
    } catch (err) {
      setConn('down', 'daemon unreachable');
    }
  }

  async function refreshStats() {
    try {
      const s = await getJson('/v1/stats');
      const samples = num(s.samples_accepted) || 0;
      const uptime = (num(s.uptime_ns) || 0) / 1e9;
      $('stat-streams').textContent = fmtCount(num(s.streams) || 0);
      $('stat-samples').textContent = fmtCompact(samples);
      $('stat-samples').title = fmtCount(samples) + ' samples accepted';
      const anomalies = num(s.anomalies) || 0;
      $('stat-anomalies').textContent = fmtCount(anomalies);
      $('stat-anomalies').classList.toggle('nonzero', anomalies > 0);
      const tcp = num(s.connections_current) || 0;
      const sse = num(s.sse_clients_current) || 0;
      $('stat-clients').textContent = `${tcp} tcp · ${sse} sse`;
      $('stat-uptime').textContent = fmtDuration(uptime);
      const last = state.lastStats;
      if (last && uptime > last.uptime && samples >= last.samples) {
        $('stat-rate').textContent = `${fmtCompact((samples - last.samples) / (uptime - last.uptime))}/s`;
      } else if (last && uptime < last.uptime) {
        $('stat-rate').textContent = '–';  // the daemon restarted
      }
      state.lastStats = { samples, uptime };
    } catch (err) {
      setConn('down', 'daemon unreachable');
    }
  }

  // ---- the event stream, with reconnects ----------------------------------------------------

  function setConn(kind, text) {
    $('conn').dataset.state = kind;
    $('conn-text').textContent = text;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.source) state.source.close();
    const url = `/v1/events?streams=${encodeURIComponent(state.glob)}` +
        `&interval_ms=${INTERVAL_MS}&anomalies=1`;
    const source = new EventSource(url);
    state.source = source;
    setConn('connecting', 'connecting…');
    source.addEventListener('open', () => {
      if (source !== state.source) return;
      state.backoff = BACKOFF_MIN_MS;
      setConn('live', 'live');
    });
    source.addEventListener('estimates', (ev) => {
      if (source !== state.source) return;
      setConn('live', 'live');
      onEstimates(JSON.parse(ev.data));
    });
    source.addEventListener('anomaly', (ev) => {
      if (source !== state.source) return;
      onAnomaly(JSON.parse(ev.data));
    });
    source.addEventListener('error', () => {
      if (source !== state.source) return;
      // The browser retries some failures by itself and gives up on others (an HTTP error
      // status); retry every one here, with a growing delay, and resynchronise the list.
      source.close();
      const delay = state.backoff;
      state.backoff = Math.min(BACKOFF_MAX_MS, state.backoff * 2);
      setConn('down', `reconnecting in ${Math.round(delay / 1000)}s`);
      state.reconnectTimer = setTimeout(() => { connect(); refreshList(); refreshStats(); }, delay);
    });
  }

  // ---- selection --------------------------------------------------------------------------

  function sortedNames() {
    return [...state.streams.keys()].sort();
  }

  function selectDefault() {
    const fromHash = decodeURIComponent(location.hash.slice(1));
    if (fromHash && state.streams.has(fromHash)) return select(fromHash);
    const names = sortedNames();
    select(names.length ? names[0] : null);
  }

  function select(name) {
    if (name === state.selected) return;
    state.selected = name;
    state.component = 0;
    if (name) history.replaceState(null, '', `#${encodeURIComponent(name)}`);
    scheduleList();
    scheduleDraw();
  }

  // ---- rendering ------------------------------------------------------------------------------

  function scheduleList() {
    if (state.listPending) return;
    state.listPending = true;
    requestAnimationFrame(() => { state.listPending = false; renderList(); });
  }

  function scheduleDraw() {
    if (state.drawPending) return;
    state.drawPending = true;
    requestAnimationFrame(() => { state.drawPending = false; renderDetail(); });
  }

  function renderList() {
    const ul = $('streams');
    const names = sortedNames();
    $('list-count').textContent =
        `${names.length} stream${names.length === 1 ? '' : 's'}` +
        (state.glob === '*' ? '' : ` matching ${state.glob}`);
    const rows = [];
    for (const name of names.slice(0, MAX_LIST_ROWS)) {
      const e = state.streams.get(name);
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.dataset.stream = name;
      li.setAttribute('aria-selected', String(name === state.selected));
      const n = document.createElement('span');
      n.className = 'sname';
      n.textContent = name;
      n.title = name;
      const d = document.createElement('span');
      d.className = 'num';
      d.textContent = String(dimOf(e));
      const c = document.createElement('span');
      c.className = 'num';
      c.textContent = fmtCompact(num(e.count) || 0);
      const a = document.createElement('span');
      const anomalies = num(e.anomalies) || 0;
      a.className = anomalies > 0 ? 'anom nonzero' : 'anom';
      a.textContent = String(anomalies);
      li.append(n, d, c, a);
      rows.push(li);
    }
    if (names.length > MAX_LIST_ROWS) {
      const li = document.createElement('li');
      li.className = 'more';
      li.textContent = `… ${names.length - MAX_LIST_ROWS} more: narrow the filter`;
      rows.push(li);
    }
    ul.replaceChildren(...rows);
    const empty = state.listLoaded && names.length === 0;
    $('empty').hidden = !empty;
    $('detail').hidden = empty || !state.selected;
    if (empty) {
      const all = state.glob === '*';
      $('empty-title').textContent = all ? 'No streams yet' : `No stream matches ${state.glob}`;
      $('empty-text').textContent = all
          ? 'Run this to feed four synthetic sensor streams, one with injected faults ' +
            '(or send your own samples with mlectl send):'
          : 'Change the filter, or feed the daemon some samples, for instance:';
    }
  }

  function renderComponents(dim) {
    const box = $('components');
    if (dim <= 1) { box.replaceChildren(); return; }
    if (state.component >= dim) state.component = 0;
    if (box.childElementCount === dim && box.dataset.stream === state.selected) {
      for (const b of box.children) {
        b.classList.toggle('active', Number(b.dataset.component) === state.component);
      }
      return;
    }
    box.dataset.stream = state.selected;
    const buttons = [];
    for (let i = 0; i < dim; i++) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = `x${i}`;
      b.title = `component ${i} of ${dim}`;
      b.dataset.component = String(i);
      b.setAttribute('role', 'tab');
      b.classList.toggle('active', i === state.component);
      buttons.push(b);
    }
    box.replaceChildren(...buttons);
  }

  function renderDetail() {
    const name = state.selected;
    const e = name ? state.streams.get(name) : undefined;
    if (!e) {
      $('detail').hidden = true;
      return;
    }
    $('detail').hidden = false;
    const dim = dimOf(e);
    const c = Math.min(state.component, dim - 1);
    $('stream-name').textContent = name;
    $('stream-name').title = name;
    renderComponents(dim);

    const mean = (e.mean || []).map(Number);
    const sd = sdOf(e);
    const n = effectiveN(e);
    const sc = sd[c];
    $('num-mean').textContent = fmt(mean[c], 6);
    $('num-sigma').textContent = fmt(sc);
    $('num-s').textContent = n > 1 && sc !== undefined ? fmt(sc * Math.sqrt(n / (n - 1))) : '–';
    $('num-count').textContent = fmtCount(num(e.count) || 0);
    $('num-eff').textContent = fmtCount(Math.round(effectiveN(e) * 10) / 10);
    $('num-mean-nll').textContent = e.mean_nll === undefined ? 'degenerate' : fmt(num(e.mean_nll));
    $('num-score').textContent = e.last_score === undefined ? 'warm-up' : fmt(num(e.last_score));
    const p = num(e.last_p_value);
    $('num-p').textContent = p === undefined ? '–' : fmtP(p);
    $('num-p').classList.toggle('low', p !== undefined && p < 1e-3);
    const anomalies = num(e.anomalies) || 0;
    $('num-anomalies').textContent = fmtCount(anomalies);
    $('num-anomalies').classList.toggle('nonzero', anomalies > 0);
    $('num-estimator').textContent = estimatorName(e.estimator);
    $('num-rule').textContent = e.rule || '–';
    $('num-rule').title = e.rule || '';

    const vector = $('vector');
    if (dim > 1) {
      const shown = Math.min(dim, 8);
      const more = dim > shown ? `, … (${dim} values)` : '';
      vector.textContent =
          `D = ${dim}  ·  μ̂ = [${mean.slice(0, shown).map((v) => fmt(v, 4)).join(', ')}${more}]` +
          `  ·  σ̂ = [${sd.slice(0, shown).map((v) => fmt(v, 3)).join(', ')}${more}]`;
      vector.hidden = false;
    } else {
      vector.hidden = true;
    }
    $('mean-title').textContent = dim > 1 ? `mean of x${c}` : 'mean';

    drawCharts(name, c);
    renderRecent(name, c);
  }

  function renderRecent(name, c) {
    const list = state.anomalies.get(name) || [];
    const rows = [];
    for (let i = list.length - 1; i >= 0 && rows.length < MAX_RECENT; i--) {
      const a = list[i];
      const li = document.createElement('li');
      const b = document.createElement('b');
      b.textContent = fmtClock(a.t, true);
      const x = a.x.length > 1 ? `x${c} = ${fmt(a.x[c])}` : `x = ${fmt(a.x[0])}`;
      li.append(b, `  ${x}   score ${fmt(a.score)} nats (threshold ${fmt(a.threshold)})` +
          `   p = ${fmtP(a.p)}   d² = ${fmt(a.d2)}` +
          (a.suppressed ? `   +${a.suppressed} suppressed` : ''));
      rows.push(li);
    }
    if (rows.length === 0) {
      const li = document.createElement('li');
      li.className = 'none';
      li.textContent = 'none yet';
      rows.push(li);
    }
    $('recent').replaceChildren(...rows);
  }

  function drawCharts(name, c) {
    const h = state.history.get(name) || [];
    const anomalies = state.anomalies.get(name) || [];
    const tLast = h.length ? h[h.length - 1].t : Date.now();
    const tFirst = h.length ? h[0].t : tLast;
    // The chosen span up to the latest point; while the history is shorter than that, it
    // starts at the first point and spans at least 30 s, so that the curve grows from the left
    // instead of sitting in a sliver at the right edge.
    const x0 = Math.max(tLast - state.spanSec * 1000, tFirst);
    const x1 = Math.max(tLast, x0 + Math.min(30000, state.spanSec * 1000));
    const visible = h.filter((p) => p.t >= x0);
    const marks = anomalies.filter((a) => a.t >= x0 && a.t <= x1 + 60000);
    const colors = chartColors();

    const meanLine = [];
    const up1 = [], lo1 = [], up3 = [], lo3 = [];
    for (const p of visible) {
      const m = p.mean[c];
      if (!Number.isFinite(m)) continue;
      meanLine.push([p.t, m]);
      const s = p.sd[c];
      if (s !== undefined && p.count > 1) {
        up1.push([p.t, m + s]); lo1.push([p.t, m - s]);
        up3.push([p.t, m + 3 * s]); lo3.push([p.t, m - 3 * s]);
      }
    }
    const meanCanvas = $('mean-chart');
    meanCanvas.dataset.points = String(meanLine.length);
    meanCanvas.dataset.anomalies = String(marks.length);
    drawChart(meanCanvas, {
      x0, x1, colors,
      bands: [
        { upper: up3, lower: lo3, fill: colors.band3 },
        { upper: up1, lower: lo1, fill: colors.band1 },
      ],
      series: [{ points: meanLine, color: colors.mean, width: 1.8 }],
      markers: marks.map((a) => ({ x: a.t, y: a.x[c], color: colors.anomaly })),
      vlines: marks.map((a) => a.t),
      empty: 'waiting for samples…',
    });

    const scoreLine = [];
    for (const p of visible) if (p.score !== undefined) scoreLine.push([p.t, p.score]);
    const latest = anomalies[anomalies.length - 1];
    const threshold = latest ? latest.threshold : undefined;
    $('threshold-label').textContent = threshold === undefined
        ? 'threshold (shown after the first anomaly)'
        : `threshold ${fmt(threshold, 4)} nats (from the latest anomaly)`;
    let cap;
    if (threshold !== undefined && scoreLine.length) {
      // Anomalies score far above everything else; cap the axis so the ordinary scores and
      // the threshold stay readable, and draw what is above the cap at the top edge.
      let lo = threshold;
      for (const [, y] of scoreLine) lo = Math.min(lo, y);
      cap = threshold + Math.max(1, 0.6 * (threshold - lo));
    }
    const scoreCanvas = $('score-chart');
    scoreCanvas.dataset.points = String(scoreLine.length);
    drawChart(scoreCanvas, {
      x0, x1, colors, yCap: cap,
      series: [{ points: scoreLine, color: colors.score, width: 1.4 }],
      hlines: threshold === undefined ? [] : [{ y: threshold, color: colors.threshold, dash: [6, 4] }],
      markers: marks.map((a) => ({ x: a.t, y: a.score, color: colors.anomaly, label: fmt(a.score, 3) })),
      vlines: marks.map((a) => a.t),
      empty: visible.length ? 'warming up: samples are scored once the model stands on enough'
                            : 'waiting for samples…',
    });
  }

  // ---- the chart code -------------------------------------------------------------------------

  let cachedColors = null;
  function chartColors() {
    if (cachedColors) return cachedColors;
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    cachedColors = {
      mean: v('--mean'), band1: v('--band1'), band3: v('--band3'), score: v('--score'),
      threshold: v('--threshold'), anomaly: v('--anomaly'), grid: v('--grid'),
      axis: v('--axis'), text: v('--muted'), panel: v('--panel'), font: v('--mono'),
    };
    return cachedColors;
  }

  // About `count` round steps (1, 2 or 5 times a power of ten) covering [lo, hi].
  function niceTicks(lo, hi, count) {
    const raw = (hi - lo) / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return { ticks, step };
  }

  function tickLabel(v, step) {
    const a = Math.max(Math.abs(v), step);
    if (a >= 1e6 || step < 1e-4) return v.toExponential(1);
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return v.toFixed(decimals);
  }

  const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

  // Draws one time chart into `canvas` (sized to its box, sharp on high-DPI screens).
  // spec: x0, x1 (ms), series [{points [[t, y]], color, width}], bands [{upper, lower, fill}],
  // hlines [{y, color, dash}], markers [{x, y, color, label}], vlines [t], yCap (optional top of
  // the axis; data above it is drawn at the edge), empty (text when there is nothing to draw).
  function drawChart(canvas, spec) {
    const colors = spec.colors;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (w === 0 || h === 0) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = `11px ${colors.font}`;

    // The y range: everything visible, with a margin, the top capped by yCap.
    let lo = Infinity, hi = -Infinity;
    const see = (y) => { if (Number.isFinite(y)) { lo = Math.min(lo, y); hi = Math.max(hi, y); } };
    for (const s of spec.series || []) for (const p of s.points) see(p[1]);
    for (const b of spec.bands || []) { for (const p of b.upper) see(p[1]); for (const p of b.lower) see(p[1]); }
    for (const l of spec.hlines || []) see(l.y);
    for (const m of spec.markers || []) see(m.y);
    const hasData = (spec.series || []).some((s) => s.points.length > 0);
    if (!hasData) {
      ctx.fillStyle = colors.text;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = `13px ${getComputedStyle(document.body).fontFamily}`;
      ctx.fillText(spec.empty || 'no data', w / 2, h / 2);
      return;
    }
    if (spec.yCap !== undefined && hi > spec.yCap) hi = spec.yCap;
    if (!(hi > lo)) { const d = Math.abs(lo) * 0.01 || 1; lo -= d; hi += d; }
    const margin = (hi - lo) * 0.08;
    lo -= margin;
    hi += margin;
    const yt = niceTicks(lo, hi, Math.max(2, Math.floor(h / 38)));

    // Plot area, leaving room for the widest y label and the time axis.
    let labelWidth = 0;
    for (const v of yt.ticks) labelWidth = Math.max(labelWidth, ctx.measureText(tickLabel(v, yt.step)).width);
    const left = Math.ceil(labelWidth) + 10;
    const right = w - 12;
    const top = 10;
    const bottom = h - 18;
    const X = (t) => left + ((t - spec.x0) / (spec.x1 - spec.x0 || 1)) * (right - left);
    const Y = (y) => bottom - ((Math.min(y, hi) - lo) / (hi - lo)) * (bottom - top);

    // Grid and axes.
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.fillStyle = colors.text;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of yt.ticks) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
      ctx.fillText(tickLabel(v, yt.step), left - 6, y);
    }
    const spanS = (spec.x1 - spec.x0) / 1000;
    const stepS = TIME_STEPS_S.find((s) => spanS / s <= Math.max(2, (right - left) / 90)) || 7200;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(spec.x0 / (stepS * 1000)) * stepS * 1000; t <= spec.x1; t += stepS * 1000) {
      const x = Math.round(X(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      const label = fmtClock(t);
      const half = ctx.measureText(label).width / 2;
      if (x + half <= w && x - half >= 0) ctx.fillText(label, x, bottom + 4);
    }
    ctx.strokeStyle = colors.axis;
    ctx.beginPath(); ctx.moveTo(left + 0.5, top); ctx.lineTo(left + 0.5, bottom + 0.5);
    ctx.lineTo(right, bottom + 0.5); ctx.stroke();

    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top - 1, right - left, bottom - top + 2);
    ctx.clip();

    // Anomaly times, faintly, behind the data.
    ctx.strokeStyle = colors.anomaly;
    ctx.globalAlpha = 0.25;
    for (const t of spec.vlines || []) {
      const x = Math.round(X(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
    }
    ctx.globalAlpha = 1;

    for (const b of spec.bands || []) {
      if (b.upper.length < 2) continue;
      ctx.fillStyle = b.fill;
      ctx.beginPath();
      b.upper.forEach(([t, y], i) => (i ? ctx.lineTo(X(t), Y(y)) : ctx.moveTo(X(t), Y(y))));
      for (let i = b.lower.length - 1; i >= 0; i--) ctx.lineTo(X(b.lower[i][0]), Y(b.lower[i][1]));
      ctx.closePath();
      ctx.fill();
    }
    for (const l of spec.hlines || []) {
      ctx.strokeStyle = l.color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash(l.dash || []);
      const y = Math.round(Y(l.y)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
      ctx.setLineDash([]);
    }
    for (const s of spec.series || []) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width || 1.5;
      ctx.lineJoin = 'round';
      if (s.points.length === 1) {
        const [t, y] = s.points[0];
        ctx.fillStyle = s.color;
        ctx.beginPath(); ctx.arc(X(t), Y(y), 2.5, 0, 2 * Math.PI); ctx.fill();
        continue;
      }
      ctx.beginPath();
      s.points.forEach(([t, y], i) => (i ? ctx.lineTo(X(t), Y(y)) : ctx.moveTo(X(t), Y(y))));
      ctx.stroke();
    }
    ctx.restore();

    // Markers on top, unclipped at the edges; those above the cap as triangles at the top edge,
    // each cluster of them labelled once with its highest value (a burst of anomalies would
    // print its labels over each other).
    const above = [];
    ctx.strokeStyle = colors.panel;
    ctx.lineWidth = 1.5;
    for (const m of spec.markers || []) {
      if (!Number.isFinite(m.y)) continue;
      const x = X(m.x);
      if (x < left - 4 || x > right + 4) continue;
      ctx.fillStyle = m.color;
      ctx.beginPath();
      if (m.y > hi) {
        ctx.moveTo(x, top - 2); ctx.lineTo(x - 5, top + 7); ctx.lineTo(x + 5, top + 7);
        ctx.closePath();
        above.push({ x, m });
      } else {
        ctx.arc(x, Y(m.y), 4, 0, 2 * Math.PI);
      }
      ctx.fill(); ctx.stroke();
    }
    above.sort((a, b) => a.x - b.x);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    for (let i = 0; i < above.length;) {
      let k = i;
      let best = above[i].m;
      while (k + 1 < above.length && above[k + 1].x - above[k].x < 40) {
        k++;
        if (above[k].m.y > best.y) best = above[k].m;
      }
      if (best.label) {
        const text = `▲ ${best.label}`;
        const tx = Math.min(above[k].x + 8, right - ctx.measureText(text).width);
        ctx.fillStyle = colors.panel;
        ctx.fillRect(tx - 2, top - 1, ctx.measureText(text).width + 4, 13);
        ctx.fillStyle = best.color;
        ctx.fillText(text, tx, top);
      }
      i = k + 1;
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function init() {
    const filter = $('filter');
    let filterTimer = 0;
    filter.addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => {
        const glob = globFromFilter(filter.value);
        if (glob === state.glob) return;
        state.glob = glob;
        state.streams.clear();
        state.listLoaded = false;
        // Choose again from the new list: the URL's #stream keeps the previous choice if it
        // still matches. Histories stay, so returning to a stream shows its past.
        state.selected = null;
        refreshList();
        connect();
      }, 250);
    });
    $('streams').addEventListener('click', (ev) => {
      const li = ev.target.closest('li[data-stream]');
      if (li) select(li.dataset.stream);
    });
    $('streams').addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
      const names = sortedNames();
      const i = names.indexOf(state.selected) + (ev.key === 'ArrowDown' ? 1 : -1);
      if (i >= 0 && i < names.length) select(names[i]);
      ev.preventDefault();
    });
    $('streams').tabIndex = 0;
    $('components').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-component]');
      if (!b) return;
      state.component = Number(b.dataset.component);
      scheduleDraw();
    });
    for (const b of document.querySelectorAll('.span-select button')) {
      b.addEventListener('click', () => {
        state.spanSec = Number(b.dataset.span);
        for (const o of document.querySelectorAll('.span-select button')) {
          o.classList.toggle('active', o === b);
        }
        scheduleDraw();
      });
    }
    window.addEventListener('resize', scheduleDraw);

    refreshList();
    refreshStats();
    connect();
    setInterval(refreshStats, STATS_EVERY_MS);
    setInterval(refreshList, LIST_EVERY_MS);
  }

  init();
})();
