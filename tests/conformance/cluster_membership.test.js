// Cluster membership over a real nats-server: nodes on the `nats` bridge see
// each other, a node that stops says goodbye, a killed node leaves after the
// node timeout, and a node keeps serving locally while NATS is down.
// (Sharding channels across nodes is not wired yet: see issue 4.)
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./support/node');
const f = require('./support/faults');

const { freePort, startNats, clusterConfig, topology, viewWhere } = require('./support/cluster');

test('nodes on one NATS see each other; goodbye and timeout remove them', async (t) => {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const [a, b, c] = await Promise.all(['n-a', 'n-b', 'n-c'].map((id) => res.node(clusterConfig(natsPort, id))));
  const all = (v) => ['n-a', 'n-b', 'n-c'].every((id) => v.members.includes(id));
  for (const n of [a, b, c]) await viewWhere(n, all, 5000);

  // A clean stop says goodbye: gone well before the 1 s node timeout.
  const t0 = Date.now();
  const stopped = await b.stop();
  assert.equal(stopped.code, 0);
  await viewWhere(a, (v) => !v.members.includes('n-b') && v.members.length === 2, 900);
  assert.ok(Date.now() - t0 < 900);

  // A killed node's connection breaks: it leaves at once, well before the
  // 1 s node timeout, and the reason is counted.
  process.kill(c.pid, 'SIGKILL');
  await c.exited;
  const k0 = Date.now();
  const v = await viewWhere(a, (view) => view.members.length === 1, 4000);
  assert.deepEqual(v.members, ['n-a']);
  assert.ok(Date.now() - k0 < 800, `removed ${Date.now() - k0} ms after the kill`);
  const m = await f.metrics(a);
  // Two nodes left (the stopped one by goodbye or by its closed
  // connection, whichever came first; the killed one by its connection).
  const left = (m['starling_cluster_view_changes_total{reason="connection_lost"}'] || 0)
    + (m['starling_cluster_view_changes_total{reason="goodbye"}'] || 0);
  assert.equal(left, 2, 'view changes counted under their reason');
  assert.ok(m['starling_cluster_view_changes_total{reason="connection_lost"}'] >= 1);
});

test('a node serves locally while NATS is down and joins once it is up', async (t) => {
  const natsPort = await freePort();
  const res = h.resources();
  let nats = null;
  t.after(async () => { await res.cleanup(); if (nats) await nats.stop(); });
  const a = await res.node(clusterConfig(natsPort, 'solo'));
  // No NATS yet: the bridge cannot connect, the node still serves clients.
  const client = res.client(a);
  await h.connected(client);
  const ch = await h.subscribe(client, 'local-only');
  const got = h.nextEvent(ch, 'ev');
  await h.serverSdk(a).trigger('local-only', 'ev', { x: 1 });
  assert.deepEqual((await got).data, { x: 1 });
  // NATS comes up: the restarted bridge joins the cluster.
  nats = await startNats(natsPort);
  await viewWhere(a, (v) => v.bridge === 'running' && v.members.includes('solo'), 8000);
});

