'use strict';
// Fault-tolerance helpers: the admin endpoint (health, readiness, metrics,
// topology, fault injection), server memory, and a paced publisher that
// numbers its events so subscribers can be checked for gaps.

const fs = require('node:fs');
const h = require('./node');

const { scaled } = require('./slowdown');

const ADMIN_TIMEOUT_MS = 3000; // both scaled by STARLING_TEST_SLOWDOWN

/** An admin request: resolves {status, body, json}. */
async function admin(node, path, { method = 'GET', timeoutMs = ADMIN_TIMEOUT_MS } = {}) {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, {
    method,
    signal: AbortSignal.timeout(scaled(timeoutMs)),
  });
  const body = await res.text();
  let json;
  try { json = JSON.parse(body); } catch (_) { json = undefined; }
  return { status: res.status, body, json };
}

/** POST /faults/crash for one actor. */
function crash(node, { app = node.app.id, kind, name = '' }) {
  const q = new URLSearchParams({ app, kind, name });
  return admin(node, `/faults/crash?${q}`, { method: 'POST' });
}

/** /topology JSON. */
async function topology(node) {
  const r = await admin(node, '/topology');
  if (r.status !== 200 || !r.json)
    throw new Error(`/topology answered ${r.status}: ${r.body}`);
  return r.json;
}

/** The app entry of /topology. */
async function appTopology(node, appId = node.app.id) {
  const t = await topology(node);
  return t.apps.find((a) => a.id === appId);
}

/** /metrics parsed into {name: number}. */
async function metrics(node) {
  const r = await admin(node, '/metrics');
  if (r.status !== 200)
    throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  const out = {};
  for (const line of r.body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, value] = line.trim().split(/\s+/);
    out[name] = Number(value);
  }
  return out;
}

/** Resident set size of a process in bytes (Linux /proc). */
function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Bytes held in kernel socket queues for TCP connections to `port` on this
 * host (/proc/net/tcp): {serverTx, clientRx, sockets}. serverTx: queued in
 * the server's send queues (written by the server, not yet acknowledged);
 * clientRx: received by the clients (local port != `port`) but not read.
 */
function kernelQueued(port) {
  let serverTx = 0;
  let clientRx = 0;
  let sockets = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch (_) { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5 || cols[3] === '0A') continue; // not a listener
      const local = parseInt(cols[1].split(':')[1], 16);
      const remote = parseInt(cols[2].split(':')[1], 16);
      const [tx, rx] = cols[4].split(':').map((x) => parseInt(x, 16));
      if (local === port) {
        serverTx += tx;
        ++sockets;
      } else if (remote === port) {
        clientRx += rx;
      }
    }
  }
  return { serverTx, clientRx, sockets };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls async `fn` (every 20 ms, each call awaited) until it returns a
 * truthy value; rejects after `timeoutMs`.
 */
async function poll(fn, timeoutMs, label = 'condition') {
  timeoutMs = scaled(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms polling for ${label} (last: ${last})`);
    await sleep(20);
  }
}

/** Counts lines of the node's stderr matching `re`. */
function countLog(node, re) {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  return (node.stderr().match(g) || []).length;
}

/**
 * Triggers `event` with data {seq, pad} on `channels` (one HTTP request per
 * tick, awaited, so the sequence is ordered), every `intervalMs`, until
 * stop(). published: the seqs the server accepted (200).
 */
class Publisher {
  constructor(node, channels, { app = node.app, event = 'tick', intervalMs = 20, pad = '' } = {}) {
    this.node = node;
    this.app = app;
    this.channels = channels;
    this.event = event;
    this.intervalMs = intervalMs;
    this.pad = pad;
    this.seq = 0;
    this.published = [];
    this.failures = [];
    this.running = false;
    this.done = null;
  }

  start() {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        const seq = ++this.seq;
        try {
          const r = await h.signedRequest(this.node, {
            app: this.app,
            path: `/apps/${this.app.id}/events`,
            body: {
              name: this.event,
              channels: this.channels,
              data: JSON.stringify({ seq, pad: this.pad }),
            },
          });
          if (r.status === 200) this.published.push(seq);
          else this.failures.push({ seq, status: r.status, body: r.body });
        } catch (err) {
          this.failures.push({ seq, error: String(err) });
        }
        if (this.intervalMs > 0) await sleep(this.intervalMs);
      }
    })();
    return this;
  }

  /** The last seq the server accepted so far (0 before any). */
  get last() {
    return this.published.length ? this.published[this.published.length - 1] : 0;
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

/** Seqs of `event` frames on `channel` recorded by a raw client. */
function rawSeqs(raw, channel, event = 'tick') {
  return raw.frames.filter((f) => f.event === event && f.channel === channel && f.parsed)
    .map((f) => f.parsed.seq);
}

/** Seqs of `event` recorded by h.recordChannel on a pusher-js channel. */
function logSeqs(log, event = 'tick') {
  return log.filter((e) => e.event === event).map((e) => e.data.seq);
}

/** Describes how `got` differs from `want` (both sorted seq lists). */
function seqDiff(want, got) {
  const g = new Set(got);
  const w = new Set(want);
  const missing = want.filter((s) => !g.has(s));
  const extra = got.filter((s) => !w.has(s));
  let dupes = got.length - g.size;
  let outOfOrder = 0;
  for (let i = 1; i < got.length; ++i) if (got[i] <= got[i - 1]) ++outOfOrder;
  if (dupes < 0) dupes = 0;
  return { missing, extra, dupes, outOfOrder, ok: !missing.length && !extra.length && !dupes && !outOfOrder };
}

function describeDiff(who, diff) {
  return `${who}: missing ${diff.missing.length} (${diff.missing.slice(0, 10).join(',')}), `
    + `extra ${diff.extra.length}, duplicates ${diff.dupes}, out of order ${diff.outOfOrder}`;
}

module.exports = {
  admin,
  crash,
  topology,
  appTopology,
  metrics,
  rssBytes,
  kernelQueued,
  sleep,
  poll,
  countLog,
  Publisher,
  rawSeqs,
  logSeqs,
  seqDiff,
  describeDiff,
};
