'use strict';
// User features (Pusher protocol §4): pusher-js signin through the SDK's
// authenticateUser, server-to-user events, the #server-to-user guard,
// watchlist events, the watchlist limit (4302), terminateUserConnections,
// and authorized connections (user_authentication_timeout_s).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./support/node');

const res = h.resources();
let node;
let app; // default app, client events on
let smallWatchlist; // max_watchlist_size = 2
let authTimeout; // user_authentication_timeout_s = 1

before(async () => {
  app = h.makeApp({ enable_client_messages: true });
  smallWatchlist = h.makeApp({ max_watchlist_size: 2 });
  authTimeout = h.makeApp({ user_authentication_timeout_s: 1 });
  node = await res.node({ apps: [app, smallWatchlist, authTimeout] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

/** A connected pusher-js client signing in as `userData` (not yet signed in). */
async function client(userData, a = app) {
  const c = res.client(node, a, userData ? { userData } : {});
  await h.connected(c);
  return c;
}

/** pusher-js signin; resolves once the #server-to-user channel is subscribed. */
async function signin(c) {
  c.signin();
  await h.waitFor(() => c.user.serverToUserChannel && c.user.serverToUserChannel.subscribed,
    3000, `signin of ${c.user.user_data ? c.user.user_data.id : '?'}`);
  return c;
}

/** A raw connection of `a`, established. */
async function raw(a = app) {
  const r = res.raw(node, { key: a.key });
  await r.established();
  return r;
}

/** Hand-signed pusher:signin on a raw connection; resolves with signin_success. */
function rawSignin(r, userData, a = app) {
  const ud = JSON.stringify(userData);
  const from = r.frames.length;
  r.send({
    event: 'pusher:signin',
    data: { auth: `${a.key}:${h.hmac(a.secret, `${r.socketId}::user::${ud}`)}`, user_data: ud },
  });
  return r.waitFrame('pusher:signin_success', 3000, { from });
}

/** Records a pusher-js client's state changes and error events. */
function watchConnection(c) {
  const log = { states: [], errors: [] };
  c.connection.bind('state_change', ({ current }) => log.states.push(current));
  c.connection.bind('error', (e) => log.errors.push(e));
  return log;
}

test('pusher-js signin via authenticateUser; pusher.user.bind gets sendToUser', async () => {
  const sdk = h.serverSdk(node, app);
  const id = unique('alice-');
  const alice = await client({ id, user_info: { name: 'Alice' } });
  const msgs = h.recordMessages(alice);
  await signin(alice);
  assert.equal(alice.user.user_data.id, id);
  assert.deepEqual(alice.user.user_data.user_info, { name: 'Alice' });
  const success = msgs.find((m) => m.event === 'pusher:signin_success');
  assert.ok(success, 'pusher:signin_success received');
  assert.equal(JSON.parse(success.data.user_data).id, id);

  const got = h.waitFor(alice.user, 'order-shipped', 3000);
  const r = await sdk.sendToUser(id, 'order-shipped', { order: 42 });
  assert.equal(r.status, 200);
  assert.deepEqual(await got, { order: 42 });
});

test('#server-to-user-<id> is refused to anyone not signed in as <id>', async () => {
  const sdk = h.serverSdk(node, app);
  const aliceId = unique('alice-');
  const alice = await signin(await client({ id: aliceId }));
  const channel = `#server-to-user-${aliceId}`;

  // Not signed in at all.
  const anon = await raw();
  const e1 = await anon.subscribe(channel).then(() => null, (err) => err.frame);
  assert.ok(e1, 'an anonymous connection cannot subscribe');
  assert.equal(e1.event, 'pusher:subscription_error');
  assert.equal(e1.channel, channel);
  assert.equal(e1.parsed.status, 401);

  // Signed in as someone else.
  const bobId = unique('bob-');
  const bob = await raw();
  await rawSignin(bob, { id: bobId });
  const e2 = await bob.subscribe(channel).then(() => null, (err) => err.frame);
  assert.ok(e2, 'another user cannot subscribe');
  assert.equal(e2.event, 'pusher:subscription_error');
  assert.equal(e2.parsed.status, 401);
  // ...but its own channel is fine.
  await bob.subscribe(`#server-to-user-${bobId}`);

  // alice's events reach alice and nobody else.
  const got = h.waitFor(alice.user, 'secret', 3000);
  await sdk.sendToUser(aliceId, 'secret', { for: 'alice' });
  assert.deepEqual(await got, { for: 'alice' });
  const bobMark = bob.waitFrame((f) => f.event === 'mark');
  await sdk.sendToUser(bobId, 'mark', {});
  await bobMark;
  await anon.roundTrip();
  assert.equal(bob.frames.some((f) => f.event === 'secret'), false);
  assert.equal(anon.frames.some((f) => f.event === 'secret'), false);
});

test('watchlist: initial status first, then online on sign-in and offline on disconnect', async () => {
  const bobId = unique('bob-');
  const carolId = unique('carol-');
  const carol = await signin(await client({ id: carolId })); // already online
  const alice = await client({ id: unique('alice-'), watchlist: [bobId, carolId] });
  const seen = [];
  alice.user.watchlist.bind('online', (e) => seen.push(['online', e.user_ids]));
  alice.user.watchlist.bind('offline', (e) => seen.push(['offline', e.user_ids]));
  await signin(alice);
  await h.waitFor(() => seen.length >= 2, 3000, 'initial watchlist events');
  assert.deepEqual(seen.slice().sort(), [['offline', [bobId]], ['online', [carolId]]].sort(),
    'the initial status of every watched id');

  const bob = await client({ id: bobId });
  const online = h.waitFor(alice.user.watchlist, 'online', 3000, (e) => e.user_ids.includes(bobId));
  await signin(bob);
  assert.deepEqual((await online).user_ids, [bobId]);

  // A second connection of bob then only the last leaving makes bob offline.
  const bob2 = await signin(await client({ id: bobId }));
  await h.closeClient(bob);
  const offline = h.waitFor(alice.user.watchlist, 'offline', 3000, (e) => e.user_ids.includes(bobId));
  // Negative: give the server a bounded moment to (wrongly) report bob.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await h.clientRoundTrip(alice);
  assert.equal(seen.filter(([name, ids]) => name === 'offline' && ids.includes(bobId)).length, 1,
    'bob is still online on another connection');
  await h.closeClient(bob2);
  assert.deepEqual((await offline).user_ids, [bobId]);
  assert.deepEqual(seen.slice(2), [['online', [bobId]], ['offline', [bobId]]]);
  assert.equal(carol.connection.state, 'connected');
});

test('watchlist: signing in again as the same user on the same connection is no offline/online flap', async () => {
  const daveId = unique('dave-');
  const erin = await client({ id: unique('erin-'), watchlist: [daveId] });
  const seen = [];
  erin.user.watchlist.bind('online', (e) => seen.push(['online', e.user_ids]));
  erin.user.watchlist.bind('offline', (e) => seen.push(['offline', e.user_ids]));
  const dave = await raw();
  await rawSignin(dave, { id: daveId });
  await signin(erin);
  await h.waitFor(() => seen.length >= 1, 3000, 'initial watchlist event');
  assert.deepEqual(seen, [['online', [daveId]]]);
  // dave signs in again (same id, now with a watchlist): he stays signed in
  // throughout. His own watchlist_events frame comes after the server
  // handled the re-signin (and told erin whatever it tells her), so a
  // round trip on erin after it flushes any flap.
  const from = dave.frames.length;
  await rawSignin(dave, { id: daveId, watchlist: [unique('nobody-')] });
  await dave.waitFrame('pusher_internal:watchlist_events', 3000, { from });
  await h.clientRoundTrip(erin);
  assert.deepEqual(seen, [['online', [daveId]]], `dave never went offline for erin: ${JSON.stringify(seen)}`);
});

test('watchlist longer than max_watchlist_size: pusher:error 4302, still signed in, first ids kept', async () => {
  const sdk = h.serverSdk(node, smallWatchlist);
  const r = await raw(smallWatchlist);
  const id = unique('watcher-');
  const ids = [unique('w1-'), unique('w2-'), unique('w3-')];
  const ok = await rawSignin(r, { id, watchlist: ids }, smallWatchlist);
  assert.equal(JSON.parse(ok.parsed.user_data).id, id);
  const err = await r.waitFrame('pusher:error');
  assert.equal(err.parsed.code, 4302);
  const wl = await r.waitFrame('pusher_internal:watchlist_events');
  const listed = wl.parsed.events.flatMap((e) => e.user_ids);
  assert.deepEqual(listed.sort(), ids.slice(0, 2).sort(), 'only the first max_watchlist_size ids are watched');
  await r.roundTrip();
  assert.ok(r.isOpen, 'still connected');
  // Still signed in: its own server-to-user channel works.
  await r.subscribe(`#server-to-user-${id}`);
  const got = r.waitFrame((f) => f.event === 'still-here');
  await sdk.sendToUser(id, 'still-here', { ok: true });
  assert.deepEqual((await got).parsed, { ok: true });
  // The third id is not watched: its sign-in is not reported.
  const w2 = await raw(smallWatchlist);
  const w3 = await raw(smallWatchlist);
  await rawSignin(w3, { id: ids[2] }, smallWatchlist);
  await rawSignin(w2, { id: ids[1] }, smallWatchlist);
  const on = await r.waitFrame((f) => f.event === 'pusher_internal:watchlist_events'
    && f.parsed.events.some((e) => e.name === 'online'));
  assert.deepEqual(on.parsed.events, [{ name: 'online', user_ids: [ids[1]] }]);
  await r.roundTrip();
  const all = r.frames.filter((f) => f.event === 'pusher_internal:watchlist_events')
    .flatMap((f) => f.parsed.events.flatMap((e) => e.user_ids));
  assert.equal(all.includes(ids[2]), false, `${ids[2]} is past the limit`);
});

test('terminateUserConnections closes every signed-in connection of the user (4009, no reconnect)', async () => {
  const sdk = h.serverSdk(node, app);
  const aliceId = unique('alice-');
  const bobId = unique('bob-');
  const a1 = await signin(await client({ id: aliceId }));
  const a2 = await signin(await client({ id: aliceId }));
  const bob = await signin(await client({ id: bobId }));
  // Presence membership as alice without signing in is not a sign-in.
  const presenceOnly = await raw();
  const presence = unique('presence-term-');
  const cd = JSON.stringify({ user_id: aliceId });
  await presenceOnly.subscribe(presence, `${app.key}:${h.hmac(app.secret, `${presenceOnly.socketId}:${presence}:${cd}`)}`, cd);
  const logs = [a1, a2].map(watchConnection);
  // pusher-js answers a server close by closing its (already closed) faye
  // socket again, which arms a 30 s no-op timer that keeps this process
  // alive; keep the sockets to disarm it at the end.
  const sockets = [a1, a2].map((c) => c.connection.connection.transport.socket);
  const bobLog = watchConnection(bob);

  const gone = [a1, a2].map((c) => h.waitFor(c.connection, 'state_change', 3000,
    ({ current }) => current === 'disconnected' || current === 'failed'));
  const r = await sdk.terminateUserConnections(aliceId);
  assert.equal(r.status, 200);
  await Promise.all(gone);
  for (const log of logs) {
    assert.ok(log.errors.some((e) => e.type === 'PusherError' && e.data && e.data.code === 4009),
      `pusher:error 4009 before the close: ${JSON.stringify(log.errors)}`);
  }
  await h.clientRoundTrip(bob);
  await presenceOnly.roundTrip();
  assert.ok(presenceOnly.isOpen, 'a presence member that did not sign in stays');
  assert.equal(bob.connection.state, 'connected');
  assert.deepEqual(bobLog.states, []);
  // pusher-js treats 4009 as refused: no reconnect (its back-off is 1 s).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (const [i, c] of [a1, a2].entries()) {
    assert.ok(['disconnected', 'failed'].includes(c.connection.state), `alice #${i + 1} is ${c.connection.state}`);
    assert.equal(logs[i].states.includes('connecting'), false, `alice #${i + 1} did not reconnect: ${logs[i].states}`);
  }
  for (const socket of sockets) clearTimeout(socket._closeTimer);
});

test('user_authentication_timeout_s: idle unsigned connections are closed with 4009, authorized ones stay', async () => {
  const signed = await raw(authTimeout);
  await rawSignin(signed, { id: unique('signed-') }, authTimeout);
  const priv = await raw(authTimeout);
  const privName = unique('private-auth-');
  await priv.subscribe(privName, h.channelAuth(authTimeout, priv.socketId, privName));
  const presence = await raw(authTimeout);
  const presName = unique('presence-auth-');
  const cd = JSON.stringify({ user_id: 'p1' });
  await presence.subscribe(presName, h.channelAuth(authTimeout, presence.socketId, presName, cd), cd);
  const publicOnly = await raw(authTimeout);
  await publicOnly.subscribe(unique('public-auth-'));
  const idle = await raw(authTimeout); // opened last: its timer fires last

  for (const r of [idle, publicOnly]) {
    const closed = await r.waitClose(3000);
    assert.equal(closed.code, 4009);
    const err = r.frames.find((f) => f.event === 'pusher:error');
    assert.ok(err, 'pusher:error before the close');
    assert.equal(err.parsed.code, 4009);
  }
  // The authorized ones opened earlier, so their checks are due already;
  // allow a little slack, then prove they are alive.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const r of [signed, priv, presence]) {
    await r.roundTrip();
    assert.ok(r.isOpen);
  }
  // A pusher-js client that signs in right away is not cut off either.
  const c = await client({ id: unique('js-') }, authTimeout);
  await signin(c);
  const log = watchConnection(c);
  await new Promise((resolve) => setTimeout(resolve, 1300));
  await h.clientRoundTrip(c);
  assert.equal(c.connection.state, 'connected');
  assert.deepEqual(log.states, []);
});

test('signing in again as another user on the same connection is refused', async () => {
  const r = await raw();
  await rawSignin(r, { id: unique('first-') });
  const ud = JSON.stringify({ id: unique('second-') });
  r.send({ event: 'pusher:signin', data: { auth: `${app.key}:${h.hmac(app.secret, `${r.socketId}::user::${ud}`)}`, user_data: ud } });
  const closed = await r.waitClose(3000);
  assert.equal(closed.code, 4009);
});

test('a bad signin signature closes with 4009', async () => {
  const r = await raw();
  const ud = JSON.stringify({ id: 'x' });
  r.send({ event: 'pusher:signin', data: { auth: `${app.key}:${crypto.randomBytes(32).toString('hex')}`, user_data: ud } });
  const err = await r.waitFrame('pusher:error').catch(() => null);
  const closed = await r.waitClose(3000);
  assert.equal(closed.code, 4009);
  assert.ok(err && err.parsed.code === 4009, 'pusher:error 4009 before the close');
});
