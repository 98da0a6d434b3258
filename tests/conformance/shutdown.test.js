'use strict';
// SIGTERM drain with shutdown_grace_s = 2: readiness drops at once, every
// client (200 raw, 2 pusher-js) gets pusher:error 4200 and close 4200 in
// batches spread over the grace period, and the process exits 0. A second
// signal during the drain stops the node at once.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');

const RAW_CLIENTS = 200;

const res = h.resources();
after(() => res.cleanup());

/** Opens `n` raw clients in batches, all established. */
async function openRaw(node, n) {
  const raws = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); ++j) {
      const r = res.raw(node);
      batch.push(r.established().then(() => r));
    }
    raws.push(...await Promise.all(batch));
  }
  return raws;
}

/** Resolves {code, signal, ms} when the node exits, or null after timeoutMs. */
function exitWithin(node, timeoutMs, since) {
  let timer;
  return Promise.race([
    node.exited.then((info) => ({ ...info, ms: Date.now() - since })),
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
}

test(`SIGTERM drains ${RAW_CLIENTS} raw + 2 pusher-js clients: /ready 503 at once, 4200 in batches over the grace, exit 0`, async () => {
  const grace = 2;
  const node = await res.node({ server: { shutdown_grace_s: grace } });
  const channel = `drain-${process.pid}`;
  const raws = await openRaw(node, RAW_CLIENTS);
  await Promise.all(raws.slice(0, 20).map((r) => r.subscribe(channel)));

  // pusher-js: the pusher:error frame arrives as a PusherError, the close
  // code as a WebSocketError wrapping {code}. Reconnects are refused later
  // (the listener is closed); only the first close counts.
  const pjs = [];
  for (let i = 0; i < 2; ++i) {
    const c = res.client(node);
    await h.connected(c);
    await h.subscribe(c, channel);
    const rec = { c, errorFrame: null, close: null };
    c.connection.bind('error', (e) => {
      if (e && e.type === 'PusherError' && !rec.errorFrame) rec.errorFrame = e.data;
      if (e && e.type === 'WebSocketError' && e.error && e.error.data && !rec.close)
        rec.close = { code: e.error.data.code, at: Date.now() };
    });
    pjs.push(rec);
  }
  assert.equal((await f.admin(node, '/ready')).status, 200, 'ready before the signal');

  const closeAt = new Map();
  for (const r of raws) r.closed.then(() => closeAt.set(r, Date.now()));
  const all = Promise.all(raws.map((r) => r.waitClose((grace + 4) * 1000)));

  const t0 = Date.now();
  process.kill(node.pid, 'SIGTERM');
  const exited = exitWithin(node, (grace + 5) * 1000, t0);

  // Readiness drops before the drain is over; liveness stays up.
  await f.poll(async () => (await f.admin(node, '/ready', { timeoutMs: 500 })).status === 503, 1000,
    '/ready 503 after SIGTERM');
  const readyMs = Date.now() - t0;
  const health = await f.admin(node, '/health', { timeoutMs: 500 }).catch((e) => ({ status: String(e) }));

  const infos = await all;
  await h.waitFor(() => pjs.every((p) => p.close), 3000, 'pusher-js clients closed');
  const exit = await exited;

  assert.ok(readyMs < 1000, `/ready went 503 ${readyMs} ms after SIGTERM`);
  assert.equal(health.status, 200, '/health stays 200 while draining');

  infos.forEach((info, i) => {
    assert.equal(info.code, 4200, `raw client ${i} close code`);
    const err = raws[i].frames.find((fr) => fr.event === 'pusher:error');
    assert.ok(err, `raw client ${i} got pusher:error before the close`);
    assert.equal(err.parsed.code, 4200);
  });
  for (const p of pjs) {
    assert.equal(p.close.code, 4200, 'pusher-js close code');
    assert.equal(p.errorFrame && p.errorFrame.code, 4200, 'pusher-js got pusher:error 4200');
  }

  // Spread: the closes leave in batches across the grace period.
  const times = [...closeAt.values(), ...pjs.map((p) => p.close.at)].map((t) => t - t0).sort((a, b) => a - b);
  const spread = times[times.length - 1] - times[0];
  assert.ok(spread >= 1000, `closes spread over ${spread} ms (first ${times[0]} ms, last ${times[times.length - 1]} ms)`);
  assert.ok(times[times.length - 1] <= (grace + 1) * 1000,
    `every client closed within the grace (+1 s): last at ${times[times.length - 1]} ms`);
  const half = times.filter((t) => t - times[0] < spread / 2).length;
  assert.ok(half < times.length * 0.9, `not a stampede: ${half} of ${times.length} closes in the first half`);

  assert.ok(exit, `the node exited within grace + 5 s\n${node.stderr().slice(-2000)}`);
  assert.equal(exit.signal, null);
  assert.equal(exit.code, 0, `exit code 0\n${node.stderr().slice(-2000)}`);
  console.log(`# drain: ready 503 after ${readyMs} ms, closes ${times[0]}..${times[times.length - 1]} ms, exit after ${exit.ms} ms`);
  await h.cleanupAll(pjs.map((p) => () => h.closeClient(p.c)));
});

test('a second SIGTERM during the drain stops the node at once', async () => {
  const grace = 10;
  const node = await res.node({ server: { shutdown_grace_s: grace } });
  const raws = await openRaw(node, 100);

  const t0 = Date.now();
  process.kill(node.pid, 'SIGTERM');
  // The first signal was handled: readiness is down, the drain has begun.
  await f.poll(async () => (await f.admin(node, '/ready', { timeoutMs: 500 })).status === 503, 1000,
    '/ready 503 after the first SIGTERM');
  const t1 = Date.now();
  process.kill(node.pid, 'SIGTERM');
  // STARLING_TEST_SLOWDOWN scales both (an ASan process's exit runs the leak check).
  const exit = await exitWithin(node, h.scaled(3000), t1);
  assert.ok(exit, `the node exited within ${h.scaled(3000)} ms of the second SIGTERM (grace is ${grace} s)\n${node.stderr().slice(-2000)}`);
  assert.ok(exit.ms < h.scaled(1500), `exited ${exit.ms} ms after the second signal (bound ${h.scaled(1500)} ms)`);
  assert.equal(exit.signal, null, 'it exits, it is not killed');
  assert.equal(exit.code, 0, `exit code\n${node.stderr().slice(-2000)}`);
  // Everyone was cut off well before the 10 s drain would have ended.
  const infos = await Promise.all(raws.map((r) => r.waitClose(3000)));
  assert.ok(Date.now() - t0 < grace * 1000 / 2);
  assert.equal(infos.length, 100);
  console.log(`# second signal: exit ${exit.ms} ms after it, close codes ${[...new Set(infos.map((i) => i.code))].join(',')}`);
});
