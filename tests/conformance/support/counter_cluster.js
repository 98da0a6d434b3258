'use strict';
// Two starling nodes (the examples binary) on a fresh nats-server with the
// example `counter` logic bound to private-count-* (examples/counter.cpp:
// each client event goes out as {"count":N}), and clients counting on a
// set of such channels. Shared by the logic state tests.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./cluster');

const EXAMPLES_BIN = process.env.STARLING_EXAMPLES_BIN
  || path.resolve(__dirname, '../../../../build/examples/starling_examples');

/**
 * Starts nats and nodes `ids` (fault injection on) with the counter logic;
 * resolves {app, res, start, nodes} once every view lists them all.
 * `start(id)` starts one more node of the same cluster.
 */
async function counterCluster(t, ids) {
  assert.ok(fs.existsSync(EXAMPLES_BIN), `starling_examples binary at ${EXAMPLES_BIN}`);
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp({
    enable_client_messages: true,
    limits: { client_events_per_second: 500 },
    logic: [{ actor: 'counter', channels: 'private-count-*', max_backoff_ms: 20 }],
  });
  const start = (id) => res.node({ ...clusterConfig(natsPort, id), admin: { fault_injection: true }, apps: [app] },
    { bin: EXAMPLES_BIN });
  const nodes = [];
  for (const id of ids) nodes.push(await start(id));
  for (const n of nodes) await viewWhere(n, (v) => v.members.length === ids.length, 5000);
  return { app, res, start, nodes };
}

/**
 * Connects a sender to `from` and a receiver to `to`, both subscribed to
 * `count` channels private-count-<i>; resolves {names, seen, sending}:
 * the counts each channel's receiver got, and each sender's channel.
 */
async function countingClients({ app, res }, from, to, count) {
  const sender = res.client(from, app);
  const receiver = res.client(to, app);
  await Promise.all([h.connected(sender), h.connected(receiver)]);
  const names = Array.from({ length: count }, (_, i) => `private-count-${i}`);
  const seen = new Map();
  const sending = new Map();
  for (const name of names) {
    const got = [];
    (await h.subscribe(receiver, name)).bind('client-n', (d) => got.push(d.count));
    seen.set(name, got);
    sending.set(name, await h.subscribe(sender, name));
  }
  return { names, seen, sending };
}

module.exports = { counterCluster, countingClients };
