'use strict';
// Webhook back-pressure: an app whose webhook URL points at (a) a receiver
// that accepts the TCP connection and never answers, or (b) a closed port.
// While a raw client subscribes and unsubscribes many channels quickly (a
// channel_occupied webhook per subscribe, a channel_vacated one 3 s after
// each unsubscribe), a pusher-js subscriber must keep receiving triggered
// events with normal latency, and the node must stay healthy and stop
// cleanly on SIGTERM.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const h = require('./support/node');

const EVENTS = 200; // triggered events per scenario
const RATE_MS = 10; // one trigger every 10 ms: 100/s
const MAX_LATENCY_MS = 1000; // trigger call to delivery, per event
const PRE_CHURN_MS = 1500; // churn alone first, so held vacated hooks fall due during the triggers
const CHURN_TICK_MS = 10;
const CHURN_PER_TICK = 5; // new channels per tick (~500/s occupied + vacated)
const ANSWER_MS = 3000;
const SIGTERM_EXIT_MS = 8000; // 4 s webhook flush bound + margin

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

const cleanups = [];
after(() => h.cleanupAll(cleanups.splice(0).reverse()));

/** Accepts TCP connections and reads requests, never answers. */
async function startHungReceiver() {
  const sockets = new Set();
  const stats = { accepted: 0, requests: 0 };
  const server = net.createServer((socket) => {
    stats.accepted += 1;
    sockets.add(socket);
    socket.on('data', (d) => {
      stats.requests += (d.toString('latin1').match(/POST \//g) || []).length;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    stats,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (bound once, then released). */
async function closedPortUrl() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/webhooks`;
}

/** How often the node logged EMFILE (accept failures). */
const emfileCount = (node) => (node.stderr().match(/Too many open files/g) || []).length;

/** Rejections of `promise` name `what` and the node's EMFILE count. */
function explain(node, what, promise) {
  return promise.catch((err) => {
    throw new Error(`${what}: ${err.message}; the node logged "accept failed: Too many open files" ${emfileCount(node)} times`);
  });
}

/** GET on the admin port: {status, body}. */
function admin(node, path) {
  return explain(node, `admin GET ${path}`, (async () => {
    const r = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, {
      signal: AbortSignal.timeout(ANSWER_MS),
    });
    return { status: r.status, body: await r.text() };
  })());
}

/** The value of a Prometheus sample `name{app="<id>"}`, or undefined. */
async function appMetric(node, name, appId) {
  const { status, body } = await admin(node, '/metrics');
  assert.equal(status, 200);
  const line = body.split('\n').find((l) => l.startsWith(`${name}{app="${appId}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * Subscribes and unsubscribes fresh channels on one raw connection every
 * tick: each subscribe occupies a channel (webhook now), each unsubscribe
 * vacates one (webhook after the 3 s grace). Returns {count(), stop()}.
 */
function churn(raw) {
  let n = 0;
  let previous = [];
  const prefix = unique('churn-');
  const timer = setInterval(() => {
    for (const name of previous)
      raw.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    previous = [];
    for (let i = 0; i < CHURN_PER_TICK; ++i) {
      const name = `${prefix}-${++n}`;
      raw.send({ event: 'pusher:subscribe', data: { auth: '', channel: name } });
      previous.push(name);
    }
  }, CHURN_TICK_MS);
  return {
    count: () => n,
    stop() {
      clearInterval(timer);
      for (const name of previous)
        raw.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    },
  };
}

/**
 * Runs the scenario against a node whose app posts webhooks to `url`.
 * `checkPiledUp(node, app)` asserts the webhooks really are stuck.
 */
async function runScenario(t, url, checkPiledUp, { nofile } = {}) {
  const app = h.makeApp({ webhooks: [{ url }] });
  const node = await h.startNode({ apps: [app] });
  cleanups.push(() => node.stop());
  if (nofile) execFileSync('prlimit', ['--pid', String(node.pid), `--nofile=${nofile}:${nofile}`]);
  const clients = [];
  const raws = [];
  let churner = null;
  try {
    const sdk = h.serverSdk(node, app, { timeout: ANSWER_MS });

    // The subscriber whose latency we measure.
    const sub = h.pusherClient(node, app);
    clients.push(sub);
    await h.connected(sub);
    const ch = await h.subscribe(sub, unique('latency-'));
    const receivedAt = new Map();
    ch.bind('tick', (data) => { receivedAt.set(data.i, Date.now()); });

    // The churning connection.
    const raw = h.rawClient(node, { key: app.key });
    raws.push(raw);
    await raw.established();
    churner = churn(raw);
    await sleep(PRE_CHURN_MS);

    // EVENTS triggers at 100/s, each timed from the call to the delivery.
    const sentAt = new Map();
    const statuses = [];
    await new Promise((resolve) => {
      let i = 0;
      const timer = setInterval(() => {
        const n = i++;
        sentAt.set(n, Date.now());
        statuses.push(sdk.trigger(ch.name, 'tick', { i: n }).then((r) => r.status, (err) => err));
        if (i >= EVENTS) {
          clearInterval(timer);
          resolve();
        }
      }, RATE_MS);
    });
    const results = await Promise.all(statuses);
    const bad = results.map((s, i) => [i, s]).filter(([, s]) => s !== 200);
    const emfile = emfileCount(node);
    assert.deepEqual(bad.slice(0, 3).map(([i, s]) => [i, String((s && s.message) || s)]), [],
      `every trigger answered 200 (${bad.length} of ${EVENTS} not; the node logged `
      + `"Too many open files" ${emfile} times)`);
    await h.waitFor(() => receivedAt.size === EVENTS, ANSWER_MS,
      `all ${EVENTS} events delivered`).catch((err) => {
      const missing = [...sentAt.keys()].filter((k) => !receivedAt.has(k));
      throw new Error(`${err.message}: ${missing.length} missing, first ${missing.slice(0, 10)}`);
    });
    churner.stop();
    const churned = churner.count();
    churner = null;

    const latencies = [...sentAt.keys()].map((k) => receivedAt.get(k) - sentAt.get(k));
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)];
    const max = sorted[sorted.length - 1];
    assert.ok(max <= MAX_LATENCY_MS,
      `max trigger-to-delivery latency ${max} ms (p50 ${p50} ms), limit ${MAX_LATENCY_MS} ms`);
    assert.ok(churned >= 500, `churned ${churned} channels`);
    t.diagnostic(`latency p50 ${p50} ms, max ${max} ms; ${churned} channels churned`);

    // The churning connection itself is still served.
    await raw.roundTrip(ANSWER_MS);

    // The scenario was real: webhooks are stuck, none succeeded.
    await checkPiledUp(node, app, churned);

    // Health: process, admin endpoint, a fresh connection gets a trigger.
    assert.ok(node.alive(), `node alive\n${node.stderr()}`);
    assert.equal((await admin(node, '/health')).status, 200);
    assert.equal((await admin(node, '/ready')).status, 200);
    const fresh = h.pusherClient(node, app);
    clients.push(fresh);
    await explain(node, 'a new pusher-js client', h.connected(fresh));
    const fch = await h.subscribe(fresh, unique('after-'));
    const got = h.nextEvent(fch, 'after', ANSWER_MS);
    // A new SDK instance: a new HTTP connection, not a pooled one.
    const freshSdk = h.serverSdk(node, app, { timeout: ANSWER_MS });
    const r = await explain(node, 'a trigger on a new HTTP connection', freshSdk.trigger(fch.name, 'after', { ok: true }));
    assert.equal(r.status, 200);
    assert.deepEqual((await got).data, { ok: true });
  } finally {
    if (churner) churner.stop();
    await h.cleanupAll([
      ...clients.map((c) => () => h.closeClient(c)),
      ...raws.map((r) => () => r.close(1000)),
    ]);
  }
  // SIGTERM flushes webhooks for a bounded time (main.cpp: 4 s for the
  // webhook drain) and exits by itself, code 0. Timed here rather than by
  // node.stop(), whose SIGKILL comes after 5 s.
  const t0 = Date.now();
  process.kill(node.pid, 'SIGTERM');
  let timer;
  const exited = await Promise.race([
    node.exited,
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), SIGTERM_EXIT_MS); }),
  ]);
  clearTimeout(timer);
  t.diagnostic(`SIGTERM to exit: ${Date.now() - t0} ms`);
  assert.ok(exited, `exited within ${SIGTERM_EXIT_MS} ms of SIGTERM\n${node.stderr().slice(-2000)}`);
  assert.equal(exited.code, 0, `exit code 0 on SIGTERM (${JSON.stringify(exited)})`);
}

test('webhook receiver that accepts and never answers: triggers stay on time', async (t) => {
  const receiver = await startHungReceiver();
  cleanups.push(() => receiver.close());
  await runScenario(t, receiver.url, async (node, app, churned) => {
    // Requests are capped (a stuck receiver must not use up the node's
    // sockets): a few are open, the rest wait in the bounded queue.
    assert.ok(receiver.stats.requests >= 1 && receiver.stats.accepted <= 32,
      `hung receiver got ${receiver.stats.requests} requests on ${receiver.stats.accepted} connections for ${churned} channels`);
    assert.equal(await appMetric(node, 'starling_webhook_requests_total', app.id), 0);
    const queued = await appMetric(node, 'starling_webhook_queued', app.id);
    assert.ok(queued >= churned / 2, `webhook_queued ${queued}`);
    t.diagnostic(`hung receiver: ${receiver.stats.requests} requests on ${receiver.stats.accepted} connections, webhook_queued ${queued}`);
  });
});

test('webhook URL on a closed port: triggers stay on time', async (t) => {
  const url = await closedPortUrl();
  await runScenario(t, url, async (node, app, churned) => {
    assert.equal(await appMetric(node, 'starling_webhook_requests_total', app.id), 0);
    const queued = await appMetric(node, 'starling_webhook_queued', app.id);
    assert.ok(queued >= churned / 2, `webhook_queued ${queued} (retrying) for ${churned} channels`);
    t.diagnostic(`closed port: webhook_queued ${queued}`);
  });
});

// Each webhook in flight holds a socket until its 10 s request timeout
// (transport/http_client.cpp), and nothing bounds how many are in flight
// (actors/webhook.cpp counts only ready and held events against
// max_queue). Under the common default of 1024 descriptors, one stuck
// receiver must still not lock clients and the HTTP API out of the node.
test('never-answering receiver under a 1024 file-descriptor limit: stuck webhooks do not lock clients out', async (t) => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
  } catch (_) {
    t.skip('prlimit (util-linux) not available');
    return;
  }
  const receiver = await startHungReceiver();
  cleanups.push(() => receiver.close());
  await runScenario(t, receiver.url, async () => {
    assert.ok(receiver.stats.accepted > 0, 'webhooks reached the receiver');
  }, { nofile: 1024 });
});
