// The watchlist is cluster-wide (Pusher protocol §4.4): a user is online
// while signed in on at least one connection anywhere in the cluster. A
// watcher on node A sees a user who signs in and out on node B; a second
// connection on another node keeps the user online; the initial status
// counts connections on every node.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./support/cluster');

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

async function signin(c) {
  c.signin();
  await h.waitFor(() => c.user.serverToUserChannel && c.user.serverToUserChannel.subscribed,
    3000, `signin of ${c.user.user_data ? c.user.user_data.id : '?'}`);
  return c;
}

async function signedIn(res, node, app, userData) {
  const c = res.client(node, app, { userData });
  await h.connected(c);
  return signin(c);
}

/** Records the watchlist events of a pusher-js client as [name, ids]. */
function recordWatchlist(c) {
  const seen = [];
  c.user.watchlist.bind('online', (e) => seen.push(['online', e.user_ids]));
  c.user.watchlist.bind('offline', (e) => seen.push(['offline', e.user_ids]));
  return seen;
}

test('a watcher on one node follows a user signing in and out on the other', async (t) => {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const [a, b] = await Promise.all(['w-a', 'w-b'].map(
    (id) => res.node({ ...clusterConfig(natsPort, id), apps: [app] })));
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);

  const bobId = unique('bob-');
  const carolId = unique('carol-');
  // carol is online on B before anyone watches her.
  const carol = await signedIn(res, b, app, { id: carolId });

  const alice = res.client(a, app, { userData: { id: unique('alice-'), watchlist: [bobId, carolId] } });
  await h.connected(alice);
  const seen = recordWatchlist(alice);
  await signin(alice);
  await h.waitFor(() => seen.length >= 2, 3000, 'initial watchlist events');
  assert.deepEqual(seen.slice().sort(), [['offline', [bobId]], ['online', [carolId]]].sort(),
    'the initial status counts the other node');

  // bob signs in on B: alice on A hears it.
  const online = h.waitFor(alice.user.watchlist, 'online', 3000, (e) => e.user_ids.includes(bobId));
  const bob = await signedIn(res, b, app, { id: bobId });
  assert.deepEqual((await online).user_ids, [bobId]);

  // A second connection of bob on A, then the one on B leaves: still online.
  const bob2 = await signedIn(res, a, app, { id: bobId });
  await h.closeClient(bob);
  await new Promise((resolve) => setTimeout(resolve, 500)); // bounded negative check
  await h.clientRoundTrip(alice);
  assert.equal(seen.filter(([name, ids]) => name === 'offline' && ids.includes(bobId)).length, 1,
    `bob is still online on node A: ${JSON.stringify(seen)}`);

  // The last connection leaves: offline, once.
  const offline = h.waitFor(alice.user.watchlist, 'offline', 3000, (e) => e.user_ids.includes(bobId));
  await h.closeClient(bob2);
  assert.deepEqual((await offline).user_ids, [bobId]);
  assert.deepEqual(seen.slice(2), [['online', [bobId]], ['offline', [bobId]]]);

  // carol leaves B: offline for alice on A.
  const carolOff = h.waitFor(alice.user.watchlist, 'offline', 3000, (e) => e.user_ids.includes(carolId));
  await h.closeClient(carol);
  assert.deepEqual((await carolOff).user_ids, [carolId]);
});
