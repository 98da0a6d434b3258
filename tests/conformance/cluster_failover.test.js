// Membership changes under traffic: a node joining moves part of the
// channel owners to it; a node killed with kill -9 is dropped, its channels
// are rebuilt on their new owners from the surviving nodes, and its
// presence members leave the rosters.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./support/node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./support/cluster');

const NAMES = ['ch-1', 'ch-2', 'ch-3', 'ch-4', 'ch-5', 'ch-6'];

// Triggers one event per channel through `via` and checks that every
// subscriber of every channel gets it (bounded by the helper's timeout).
async function allDeliver(via, subs, tag) {
  const waits = [];
  for (const name of NAMES)
    for (const ch of subs[name])
      waits.push(h.nextEvent(ch, 'ev', 5000, (d) => d.tag === tag));
  for (const name of NAMES)
    await h.serverSdk(via).trigger(name, 'ev', { tag });
  await Promise.all(waits);
}

async function cluster(t, ids) {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const start = (id) => res.node({ ...clusterConfig(natsPort, id), apps: [app] });
  const nodes = await Promise.all(ids.map(start));
  for (const n of nodes) await viewWhere(n, (v) => v.members.length === ids.length, 5000);
  return { res, nodes, start };
}

test('a joining node takes over part of the owners; delivery goes on', async (t) => {
  const { res, nodes: [a, b], start } = await cluster(t, ['j-a', 'j-b']);
  const ca = res.client(a), cb = res.client(b);
  const subs = {};
  for (const name of NAMES)
    subs[name] = await Promise.all([h.subscribe(ca, name), h.subscribe(cb, name)]);
  await allDeliver(a, subs, 'before');
  const c = await start('j-c');
  for (const n of [a, b, c]) await viewWhere(n, (v) => v.members.length === 3, 5000);
  // Owners that moved to j-c get their subscribers re-registered silently.
  await allDeliver(c, subs, 'after-c');
  await allDeliver(a, subs, 'after-a');
});

test('kill -9 of a node: survivors keep receiving, its members leave', async (t) => {
  const { res, nodes: [a, b, c] } = await cluster(t, ['k-a', 'k-b', 'k-c']);
  const user = (id) => ({ user: { user_id: id, user_info: {} } });
  const alice = res.client(a, undefined, user('alice'));
  const bob = res.client(b, undefined, user('bob'));
  const carol = res.client(c, undefined, user('carol'));
  const subs = {};
  for (const name of NAMES)
    subs[name] = await Promise.all([h.subscribe(alice, name), h.subscribe(bob, name)]);
  await h.subscribe(carol, 'presence-team');
  await h.subscribe(alice, 'presence-team');
  const pb = await h.subscribe(bob, 'presence-team');
  await allDeliver(a, subs, 'before');
  process.kill(c.pid, 'SIGKILL');
  await c.exited;
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  // Every channel works again, whichever node owned it.
  await allDeliver(b, subs, 'after');
  // carol lived on the dead node: she is no member any more.
  const deadline = Date.now() + 6000;
  let ids = [];
  for (;;) {
    const r = await h.serverSdk(a).get({ path: '/channels/presence-team/users' });
    ids = (await r.json()).users.map((u) => u.id).sort();
    if (!ids.includes('carol') || Date.now() > deadline) break;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  assert.deepEqual(ids, ['alice', 'bob']);
  void pb;
});
