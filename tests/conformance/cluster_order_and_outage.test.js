// Cluster ordering and NATS outages: one channel keeps one order on every
// node under concurrent publishers on different nodes; a nats-server killed
// mid-traffic and restarted on its port does not stop local delivery and the
// cluster heals; nodes on a three-server NATS cluster (each on a different
// server) form one cluster.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const h = require('./support/node');
const { freePort, startNats, clusterConfig } = require('./support/cluster');

const NATS_BIN = process.env.STARLING_NATS_SERVER || 'nats-server';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every HTTP API call is bounded: an unanswered trigger fails, never hangs.
const sdkOf = (node, app = node.app) => h.serverSdk(node, app, { timeout: 5000 });

const TEST_TIMEOUT = { timeout: 45000 };

// Admin HTTP with a bound: a node that does not answer fails the test.
async function admin(node, path) {
  const r = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, { signal: AbortSignal.timeout(3000) });
  return r.json();
}

// Re-reads the membership view until `pred` holds, bounded by `ms`.
async function viewWhere(node, pred, ms) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = (await admin(node, '/topology')).cluster;
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`view of ${node.port} never matched: ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

async function cluster(t, ids, app = h.makeApp()) {
  const natsPort = await freePort();
  const nats = { current: await startNats(natsPort) };
  const res = h.resources();
  t.after(async () => { await res.cleanup(); if (nats.current) await nats.current.stop(); });
  const nodes = await Promise.all(ids.map((id) => res.node({ ...clusterConfig(natsPort, id), apps: [app] })));
  for (const n of nodes) await viewWhere(n, (v) => v.members.length === ids.length, 5000);
  return { res, nodes, nats, natsPort, app };
}

// The channel owners living on `node` (its app's owner actors).
async function ownersOn(node) {
  const body = await admin(node, '/topology');
  return new Set(body.apps.flatMap((a) => a.owners || []));
}

// The node whose topology lists `name` among its owners, waiting (bounded)
// until exactly one does.
async function ownerOf(nodes, name, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const sets = await Promise.all(nodes.map(ownersOn));
    const holders = nodes.filter((_, i) => sets[i].has(name));
    if (holders.length === 1) return holders[0];
    if (Date.now() > deadline)
      assert.fail(`no single owner of ${name}: held by ${holders.length} nodes`);
    await sleep(25);
  }
}

test('one channel, concurrent publishers on two nodes: every subscriber sees one order', TEST_TIMEOUT, async (t) => {
  const { res, nodes } = await cluster(t, ['o-a', 'o-b', 'o-c']);
  const name = 'ordered-feed';
  const logs = [];
  for (const n of nodes) {
    for (let k = 0; k < 2; ++k) {
      const c = res.client(n);
      const ch = await h.subscribe(c, name);
      const log = [];
      ch.bind('ev', (d) => log.push(`${d.p}:${d.i}`));
      logs.push({ node: n, log });
    }
  }
  // One publisher through the owner, one through another node: the local
  // and the remote owner paths interleave.
  const owner = await ownerOf(nodes, name);
  const other = nodes.find((n) => n !== owner);
  t.diagnostic(`owner port ${owner.port}; publishers via owner and via ${other.port}`);
  const N = 200;
  const publish = async (via, p) => {
    const sdk = sdkOf(via);
    for (let i = 0; i < N; ++i) await sdk.trigger(name, 'ev', { p, i });
  };
  await Promise.all([publish(owner, 'x'), publish(other, 'y')]);
  await h.waitFor(() => logs.every(({ log }) => log.length >= 2 * N), 10000,
    `all ${2 * N} events at every subscriber (got ${logs.map(({ log }) => log.length)})`)
    .catch((err) => { err.message += ` (got ${logs.map(({ log }) => log.length)})`; throw err; });
  await sleep(200); // nothing extra (duplicates) arrives afterwards
  const reference = logs[0].log;
  for (const { node, log } of logs) {
    assert.equal(log.length, 2 * N, `node ${node.port}: ${log.length} events`);
    const firstDiff = log.findIndex((x, i) => x !== reference[i]);
    assert.equal(firstDiff, -1,
      `node ${node.port} order differs at ${firstDiff}: ${log.slice(firstDiff, firstDiff + 5)} vs ${reference.slice(firstDiff, firstDiff + 5)}`);
  }
  for (const p of ['x', 'y']) {
    const mine = reference.filter((x) => x.startsWith(`${p}:`)).map((x) => Number(x.slice(2)));
    assert.deepEqual(mine, [...Array(N).keys()], `publisher ${p} in send order`);
  }
  let switches = 0;
  for (let i = 1; i < reference.length; ++i) if (reference[i][0] !== reference[i - 1][0]) ++switches;
  t.diagnostic(`publisher switches in the common order: ${switches}`);
  assert.ok(switches > 1, 'the two publishers actually interleaved');
});

test('nats-server killed and restarted mid-traffic: local delivery goes on, the cluster heals', TEST_TIMEOUT, async (t) => {
  const { res, nodes: [a, b], nats, natsPort } = await cluster(t, ['u-a', 'u-b']);
  // Channels on A until one is owned by A and one by B.
  const ca = res.client(a), cb = res.client(b);
  await Promise.all([h.connected(ca), h.connected(cb)]);
  let ownedByA = null, ownedByB = null;
  for (let k = 0; k < 32 && !(ownedByA && ownedByB); ++k) {
    const name = `outage-${k}`;
    await h.subscribe(ca, name);
    const owner = await ownerOf([a, b], name);
    if (owner === a && !ownedByA) ownedByA = name;
    else if (owner === b && !ownedByB) ownedByB = name;
  }
  assert.ok(ownedByA && ownedByB, 'found channels owned by each node');
  const onA = [], onB = [], onAofB = [];
  ca.channel(ownedByA).bind('ev', (d) => onA.push({ i: d.i, at: Date.now() }));
  ca.channel(ownedByB).bind('ev', (d) => onAofB.push({ i: d.i, at: Date.now() }));
  const chB = await h.subscribe(cb, ownedByA);
  chB.bind('ev', (d) => onB.push({ i: d.i, at: Date.now() }));

  // A publisher through A every 20 ms (sequential: one trigger at a time).
  const sdk = sdkOf(a);
  const sentAt = [];
  let stop = false;
  let publishErrors = 0;
  const publisher = (async () => {
    for (let i = 0; !stop; ++i) {
      sentAt.push(Date.now());
      try { await sdk.trigger([ownedByA, ownedByB], 'ev', { i }); } catch (_) { ++publishErrors; }
      await sleep(20);
    }
  })();
  try {
    await h.waitFor(() => onB.length >= 10 && onA.length >= 10, 5000, 'traffic flows to both nodes');
    const killedAt = Date.now();
    await nats.current.stop(); // SIGKILL
    nats.current = null;
    await sleep(1500);
    // Every event published while NATS was down (up to 200 ms ago) reached A.
    const upAt = Date.now();
    const dueOnA = sentAt.filter((s) => s < upAt - 200).length;
    const gotOnA = onA.length;
    nats.current = await startNats(natsPort);
    t.diagnostic(`outage ${upAt - killedAt} ms; ${dueOnA} sent before restart-200ms, ${gotOnA} on A by then`);
    assert.ok(gotOnA >= dueOnA, `A kept receiving during the outage: ${gotOnA} < ${dueOnA}`);

    // Cross-node delivery comes back: B gets something sent after the restart.
    const firstAfter = sentAt.length;
    await h.waitFor(() => onB.some((e) => e.i >= firstAfter), 8000, 'B receives again after the restart');
    t.diagnostic(`B receives again ${Date.now() - upAt} ms after the restart`);
    for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2 && v.bridge === 'running', 8000);
    const healed = sentAt.length;
    await h.waitFor(() => onB.some((e) => e.i >= healed + 10), 5000, 'B keeps receiving');
  } finally {
    stop = true;
    await publisher;
  }
  const total = sentAt.length;
  assert.equal(publishErrors, 0, 'every trigger accepted');
  await h.waitFor(() => onA.length >= total, 5000, `all ${total} events on A`).catch(() => {});
  assert.deepEqual(onA.map((e) => e.i), [...Array(total).keys()], 'A got every event once, in order');
  const seenB = onB.map((e) => e.i);
  for (let k = 1; k < seenB.length; ++k)
    assert.ok(seenB[k] > seenB[k - 1], `B: event ${seenB[k]} after ${seenB[k - 1]} (duplicate or reordered)`);
  const missedB = total - seenB.length;
  const missedAofB = total - new Set(onAofB.map((e) => e.i)).size;
  t.diagnostic(`B missed ${missedB} of ${total} events during the outage (at-most-once across nodes)`);
  const seenAofB = onAofB.map((e) => e.i);
  const backwards = seenAofB.filter((x, k) => k > 0 && x <= seenAofB[k - 1]).length;
  t.diagnostic(`A missed ${missedAofB} of ${total} events of a channel owned by B (${backwards} duplicate or out of order): ${runs(seenAofB)}`);
  t.diagnostic(`B saw ${runs(seenB)}`);
  assert.equal(seenB[seenB.length - 1], total - 1, 'B got the last event');
});

// "0-9,55-70,10-54": consecutive runs of a sequence of indices.
function runs(seq) {
  const out = [];
  for (let k = 0; k < seq.length;) {
    let j = k;
    while (j + 1 < seq.length && seq[j + 1] === seq[j] + 1) ++j;
    out.push(j === k ? `${seq[k]}` : `${seq[k]}-${seq[j]}`);
    k = j + 1;
  }
  return out.join(',');
}

// A channel owned by B, subscribed on A only, published through A. While
// NATS is down the events go to B's owner over CAF and B's fan-out to A is
// buffered by nats.c; once A's view drops B, A's own owner delivers newer
// events. A reconnects first (short reconnect wait), B later flushes its
// buffer: those older events must not reach A's subscriber after the newer
// ones (gaps are allowed across an outage, going backwards is not).
test('after a NATS outage a subscriber never gets an older event after a newer one', TEST_TIMEOUT, async (t) => {
  const natsPort = await freePort();
  const nats = { current: await startNats(natsPort) };
  const res = h.resources();
  t.after(async () => { await res.cleanup(); if (nats.current) await nats.current.stop(); });
  const app = h.makeApp();
  const cfg = (id, wait) => {
    const c = clusterConfig(natsPort, id);
    // A constant wait (no back-off) keeps "A reconnects first" true.
    return { ...c, nats: { ...c.nats, reconnect_wait_ms: wait, reconnect_max_wait_ms: wait }, apps: [app] };
  };
  const [a, b] = await Promise.all([res.node(cfg('s-a', 100)), res.node(cfg('s-b', 2000))]);
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  const ca = res.client(a);
  await h.connected(ca);
  let name = null;
  for (let k = 0; k < 32 && !name; ++k) {
    await h.subscribe(ca, `stale-${k}`);
    if ((await ownerOf([a, b], `stale-${k}`)) === b) name = `stale-${k}`;
  }
  assert.ok(name, 'found a channel owned by B');
  const seen = [];
  ca.channel(name).bind('ev', (d) => seen.push(d.i));
  const sdk = sdkOf(a);
  let sent = 0;
  let stop = false;
  const publisher = (async () => {
    while (!stop) {
      await sdk.trigger(name, 'ev', { i: sent++ });
      await sleep(20);
    }
  })();
  try {
    await h.waitFor(() => seen.length >= 10, 5000, 'traffic flows');
    await nats.current.stop();
    nats.current = null;
    await sleep(1500);
    nats.current = await startNats(natsPort);
    for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2 && v.bridge === 'running', 8000);
    const healed = sent;
    await h.waitFor(() => seen.some((i) => i >= healed + 10), 5000, 'A receives after healing');
  } finally {
    stop = true;
    await publisher;
  }
  await sleep(300);
  t.diagnostic(`A saw ${seen.length} of ${sent}: ${runs(seen)}`);
  const back = seen.findIndex((x, k) => k > 0 && x <= seen[k - 1]);
  assert.equal(back, -1, back < 0 ? '' : `A got event ${seen[back]} after ${seen[back - 1]}: ${runs(seen)}`);
});

// -- three nats-servers in one NATS cluster --------------------------------------

async function startNatsClusterMember(clientPort, routePort, monitorPort, routePorts) {
  const routes = routePorts.filter((p) => p !== routePort).map((p) => `nats://127.0.0.1:${p}`).join(',');
  const child = spawn(NATS_BIN, [
    '-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort),
    '--cluster_name', 'starling-test', '-cluster', `nats://127.0.0.1:${routePort}`, '-routes', routes,
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    monitorPort,
    clientPort,
    stop: async () => { child.kill('SIGKILL'); await exited; },
  };
}

async function routesUp(server, want, ms) {
  const deadline = Date.now() + ms;
  let last = null;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${server.monitorPort}/routez`, { signal: AbortSignal.timeout(1000) });
      last = (await r.json()).num_routes;
      if (last >= want) return;
    } catch (_) { /* not listening yet */ }
    if (Date.now() > deadline) assert.fail(`nats-server :${server.clientPort} has ${last} routes, want ${want}`);
    await sleep(50);
  }
}

test('three nodes on three clustered nats-servers: presence and delivery across all', TEST_TIMEOUT, async (t) => {
  const ports = [];
  while (ports.length < 9) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const routePorts = ports.slice(3, 6);
  const servers = [];
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await h.cleanupAll(servers.map((s) => () => s.stop())); });
  for (let k = 0; k < 3; ++k)
    servers.push(await startNatsClusterMember(ports[k], routePorts[k], ports[6 + k], routePorts));
  for (const s of servers) await routesUp(s, 2, 10000);

  const app = h.makeApp();
  const ids = ['r-a', 'r-b', 'r-c'];
  const nodes = await Promise.all(ids.map((id, k) => res.node({ ...clusterConfig(ports[k], id), apps: [app] })));
  for (const n of nodes) await viewWhere(n, (v) => v.members.length === 3, 8000);

  // Presence: one member per node, everyone sees everyone.
  const users = ['alice', 'bob', 'carol'];
  const clients = nodes.map((n, k) => res.client(n, app, { user: { user_id: users[k], user_info: { k } } }));
  const room = 'presence-routed';
  const chans = [];
  for (let k = 0; k < 3; ++k) {
    const added = chans.map((ch) => h.nextEvent(ch, 'pusher:member_added', 5000));
    const ch = clients[k].subscribe(room);
    const members = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no subscription_succeeded for ${users[k]}`)), 5000);
      ch.bind('pusher:subscription_succeeded', (m) => { clearTimeout(timer); resolve(m); });
    });
    assert.equal(members.count, k + 1, `${users[k]} sees ${k + 1} members`);
    const ids2 = [];
    members.each((m) => ids2.push(m.id));
    assert.deepEqual(ids2.sort(), users.slice(0, k + 1).sort());
    for (const got of await Promise.all(added)) assert.equal(got.data.id, users[k]);
    chans.push(ch);
  }
  for (const n of nodes) {
    const r = await sdkOf(n, app).get({ path: `/channels/${room}/users` });
    assert.deepEqual((await r.json()).users.map((u) => u.id).sort(), users.slice().sort());
  }

  // A public channel: a trigger through each node reaches all three nodes.
  const pubs = await Promise.all(clients.map((c) => h.subscribe(c, 'routed-news', 5000)));
  for (const via of nodes) {
    const got = Promise.all(pubs.map((ch) => h.nextEvent(ch, 'ev', 5000, (d) => d.via === via.port)));
    await sdkOf(via, app).trigger('routed-news', 'ev', { via: via.port });
    await got;
  }

  // A member leaving on one node is removed on the others.
  const removed = [chans[0], chans[1]].map((ch) => h.nextEvent(ch, 'pusher:member_removed', 5000));
  await h.closeClient(clients[2]);
  for (const got of await Promise.all(removed)) assert.equal(got.data.id, 'carol');
});
