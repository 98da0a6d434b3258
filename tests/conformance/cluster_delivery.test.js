// Two nodes on one nats-server behave as one server: events, presence,
// client events and socket_id exclusion across nodes, and HTTP API queries
// answered by either node (the channel owner lives on one of them).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./support/node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./support/cluster');

async function twoNodes(t) {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp({ enable_client_messages: true });
  const [a, b] = await Promise.all(['c-a', 'c-b'].map((id) =>
    res.node({ ...clusterConfig(natsPort, id), apps: [app] })));
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  return { res, a, b };
}

test('events published on either node reach subscribers on both', async (t) => {
  const { res, a, b } = await twoNodes(t);
  // Several channels, so that owners land on both nodes.
  const names = ['news', 'sport', 'weather', 'markets'];
  const ca = res.client(a), cb = res.client(b);
  await Promise.all([h.connected(ca), h.connected(cb)]);
  for (const name of names) {
    const [cha, chb] = await Promise.all([h.subscribe(ca, name), h.subscribe(cb, name)]);
    for (const via of [a, b]) {
      const got = Promise.all([h.nextEvent(cha, 'ev'), h.nextEvent(chb, 'ev')]);
      await h.serverSdk(via).trigger(name, 'ev', { name, via: via.port });
      const [ea, eb] = await got;
      assert.deepEqual(ea.data, { name, via: via.port });
      assert.deepEqual(eb.data, { name, via: via.port });
    }
  }
});

test('presence roster and member events span the nodes', async (t) => {
  const { res, a, b } = await twoNodes(t);
  const alice = res.client(a, undefined, { user: { user_id: 'alice', user_info: {} } });
  const bob = res.client(b, undefined, { user: { user_id: 'bob', user_info: {} } });
  const pa = await h.subscribe(alice, 'presence-room');
  const added = h.nextEvent(pa, 'pusher:member_added');
  const pb = bob.subscribe('presence-room');
  const members = await new Promise((resolve) => pb.bind('pusher:subscription_succeeded', resolve));
  assert.equal(members.count, 2);
  assert.equal((await added).data.id, 'bob');
  for (const via of [a, b]) {
    const r = await h.serverSdk(via).get({ path: '/channels/presence-room/users' });
    const ids = (await r.json()).users.map((u) => u.id).sort();
    assert.deepEqual(ids, ['alice', 'bob']);
  }
  const removed = h.nextEvent(pa, 'pusher:member_removed');
  await h.closeClient(bob);
  assert.equal((await removed).data.id, 'bob');
});

test('client events and socket_id exclusion work across nodes', async (t) => {
  const { res, a, b } = await twoNodes(t);
  const alice = res.client(a, undefined, { user: { user_id: 'alice', user_info: {} } });
  const bob = res.client(b, undefined, { user: { user_id: 'bob', user_info: {} } });
  const [pa, pb] = await Promise.all([h.subscribe(alice, 'private-chat'), h.subscribe(bob, 'private-chat')]);
  const got = h.nextEvent(pb, 'client-typing');
  pa.trigger('client-typing', { who: 'alice' });
  assert.deepEqual((await got).data, { who: 'alice' });
  // Excluding bob (on node b) from a trigger sent to node a.
  const seenByBob = [];
  pb.bind('ev', (d) => seenByBob.push(d));
  const aliceGets = h.nextEvent(pa, 'ev');
  await h.serverSdk(a).trigger('private-chat', 'ev', { n: 1 }, { socket_id: bob.connection.socket_id });
  assert.deepEqual((await aliceGets).data, { n: 1 });
  const last = h.nextEvent(pb, 'ev');
  await h.serverSdk(a).trigger('private-chat', 'ev', { n: 2 });
  assert.deepEqual((await last).data, { n: 2 });
  assert.deepEqual(seenByBob, [{ n: 2 }]);
});

test('GET /channels and terminate_connections answer for the whole cluster', async (t) => {
  const { res, a, b } = await twoNodes(t);
  const ca = res.client(a), cb = res.client(b);
  const names = ['list-1', 'list-2', 'list-3', 'list-4', 'list-5', 'list-6'];
  for (const [i, name] of names.entries()) await h.subscribe(i % 2 ? cb : ca, name);
  for (const via of [a, b]) {
    const r = await h.serverSdk(via).get({ path: '/channels', params: { filter_by_prefix: 'list-' } });
    assert.deepEqual(Object.keys((await r.json()).channels).sort(), names);
  }
  // dave signs in on node b; the app terminates him through node a.
  const dave = res.client(b, undefined, { userData: { id: 'dave' } });
  await h.connected(dave);
  dave.signin();
  await h.waitFor(() => dave.user.serverToUserChannel && dave.user.serverToUserChannel.subscribed,
    3000, 'signin of dave');
  const closed = new Promise((resolve) => dave.connection.bind('state_change', (s) => {
    if (s.current === 'disconnected' || s.current === 'unavailable' || s.current === 'failed') resolve(s.current);
  }));
  // pusher-js arms a 30 s no-op timer on its socket after a server close;
  // keep the socket to disarm it (see users.test.js).
  const socket = dave.connection.connection.transport.socket;
  const r = await h.serverSdk(a).terminateUserConnections('dave');
  assert.equal(r.status, 200);
  assert.equal(await Promise.race([closed, new Promise((r2) => setTimeout(() => r2('still connected'), 3000))]),
    'disconnected');
  clearTimeout(socket._closeTimer);
});
