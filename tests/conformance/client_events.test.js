'use strict';
// Client events: private and presence only, never echoed, user_id on
// presence, refused with pusher:error 4301 (connection stays open) when the
// app disables them, over the rate limit, too large, or on the wrong channel.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./support/node');

const RATE = 5;
const res = h.resources();
let node;
let app; // client events on, RATE per second
let offApp; // client events off

before(async () => {
  app = h.makeApp({ enable_client_messages: true, limits: { client_events_per_second: RATE } });
  offApp = h.makeApp({ enable_client_messages: false });
  node = await res.node({ apps: [app, offApp] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

async function client(opts, a = app) {
  const c = res.client(node, a, opts);
  await h.connected(c);
  return c;
}

// A raw client of `a`, subscribed (with auth where needed) to `channel`.
async function rawOn(channel, a = app, user) {
  const raw = res.raw(node, { key: a.key });
  await raw.established();
  if (!channel) return raw;
  const sdk = h.serverSdk(node, a);
  if (channel.startsWith('presence-')) {
    const member = user || { user_id: `raw-${++seq}` };
    const auth = sdk.authorizeChannel(raw.socketId, channel, member);
    await raw.subscribe(channel, auth.auth, auth.channel_data);
  } else if (channel.startsWith('private-')) {
    await raw.subscribe(channel, h.channelAuth(a, raw.socketId, channel));
  } else {
    await raw.subscribe(channel);
  }
  return raw;
}

// Publishes a marker through the HTTP API and waits for it on every raw client.
async function rawMarker(channel, raws, a = app) {
  const id = crypto.randomUUID();
  const waits = raws.map((r) => r.waitFrame((f) => f.event === 'marker' && f.parsed && f.parsed.id === id));
  // Hand-signed: the SDK refuses plain events on encrypted channels.
  const trigger = h.signedRequest(node, { app: a, body: { name: 'marker', channels: [channel], data: JSON.stringify({ id }) } })
    .then((r) => assert.equal(r.status, 200, r.body));
  await Promise.all([trigger, ...waits]);
}

const is4301 = (f) => f.event === 'pusher:error' && f.parsed && f.parsed.code === 4301;

test('private channel: delivered to others with data as sent, not echoed, no user_id', async () => {
  const name = unique('private-chat-');
  const sdk = h.serverSdk(node, app);
  const ann = await client({});
  const bo = await client({});
  const annCh = await h.subscribe(ann, name);
  const boCh = await h.subscribe(bo, name);
  const annLog = h.recordChannel(annCh);
  const raw = await rawOn(name);

  const got = h.nextEvent(boCh, 'client-typing');
  const gotRaw = raw.waitFrame((f) => f.event === 'client-typing');
  assert.equal(annCh.trigger('client-typing', { who: 'ann', n: [1, 2] }), true);
  const { data, metadata } = await got;
  assert.deepEqual(data, { who: 'ann', n: [1, 2] });
  assert.equal(metadata.user_id, undefined, 'no user_id on private channels');
  const frame = await gotRaw;
  assert.equal(frame.channel, name);
  assert.deepEqual(frame.data, { who: 'ann', n: [1, 2] }, 'data is relayed as the JSON value sent, not double-encoded');
  assert.ok(!('user_id' in frame));

  // Everything the owner fanned out before the marker has reached Ann.
  const mark = h.nextEvent(annCh, 'marker');
  await sdk.trigger(name, 'marker', {});
  await mark;
  assert.equal(annLog.filter((e) => e.event === 'client-typing').length, 0,
    'a client event is never echoed to its sender');
});

test('presence channel: relayed with the sender user_id', async () => {
  const name = unique('presence-chat-');
  const ann = await client({ user: { user_id: 'u-ann', user_info: { name: 'Ann' } } });
  const bo = await client({ user: { user_id: 'u-bo' } });
  const annCh = await h.subscribe(ann, name);
  const boCh = await h.subscribe(bo, name);
  const raw = await rawOn(name, app, { user_id: 'u-raw' });

  const got = h.nextEvent(boCh, 'client-wave');
  const gotRaw = raw.waitFrame((f) => f.event === 'client-wave');
  annCh.trigger('client-wave', { hi: 1 });
  const { data, metadata } = await got;
  assert.deepEqual(data, { hi: 1 });
  assert.equal(metadata.user_id, 'u-ann');
  assert.equal((await gotRaw).user_id, 'u-ann');
});

test('public channel: client event refused with 4301 and not delivered', async () => {
  const name = unique('public-chat-');
  const sender = await rawOn(name);
  const other = await rawOn(name);
  sender.send({ event: 'client-nope', channel: name, data: { x: 1 } });
  const err = await sender.waitFrame(is4301);
  assert.equal(err.parsed.code, 4301);
  assert.equal(typeof err.parsed.message, 'string');
  await rawMarker(name, [other]);
  assert.equal(other.frames.filter((f) => f.event === 'client-nope').length, 0);
  await sender.roundTrip(); // still open
});

test('private-encrypted channel: client event refused with 4301', async () => {
  const name = unique('private-encrypted-chat-');
  const sender = await rawOn(name);
  const other = await rawOn(name);
  sender.send({ event: 'client-nope', channel: name, data: { x: 1 } });
  await sender.waitFrame(is4301);
  await rawMarker(name, [other]);
  assert.equal(other.frames.filter((f) => f.event === 'client-nope').length, 0);
});

test('client event on a channel the sender is not subscribed to: refused, not delivered', async () => {
  const name = unique('private-notmine-');
  const other = await rawOn(name);
  const sender = await rawOn(null);
  sender.send({ event: 'client-sneak', channel: name, data: {} });
  await sender.waitFrame(is4301);
  await rawMarker(name, [other]);
  assert.equal(other.frames.filter((f) => f.event === 'client-sneak').length, 0);
});

test('client events disabled for the app: pusher:error 4301, connection stays open', async () => {
  const name = unique('private-off-');
  const sender = await rawOn(name, offApp);
  const other = await rawOn(name, offApp);
  sender.send({ event: 'client-hello', channel: name, data: {} });
  const err = await sender.waitFrame(is4301);
  assert.ok(err.parsed.message.length > 0);
  await sender.roundTrip();
  assert.ok(sender.isOpen);
  await rawMarker(name, [other], offApp);
  assert.equal(other.frames.filter((f) => f.event === 'client-hello').length, 0);
});

test('pusher-js on an app with client events off gets pusher:error 4301 on the connection', async () => {
  const name = unique('private-off-pjs-');
  const c = await client({}, offApp);
  const ch = await h.subscribe(c, name);
  const err = h.waitFor(c.connection, 'error', 3000, (e) => e.type === 'PusherError');
  ch.trigger('client-x', {});
  const e = await err;
  assert.equal(e.data.code, 4301);
  await h.clientRoundTrip(c);
  assert.equal(c.connection.state, 'connected');
});

test(`rate limit: more than ${RATE}/s gives 4301, the connection stays open, later events pass`, async () => {
  const name = unique('private-rate-');
  const sender = await rawOn(name);
  const receiver = await rawOn(name);
  const burst = 4 * RATE;
  const from = sender.frames.length;
  for (let i = 0; i < burst; ++i)
    sender.send({ event: 'client-burst', channel: name, data: { i } });
  await sender.roundTrip(); // every burst frame has been handled before the pong
  const errors = sender.frames.slice(from).filter(is4301).length;
  assert.ok(errors >= burst - 2 * RATE, `expected most of the burst refused, got ${errors} errors`);
  assert.ok(errors < burst, 'some events of the burst pass');
  assert.ok(sender.isOpen, 'rate limiting must not close the connection');

  // Once the window has passed, events flow again (poll until one passes).
  const deadline = Date.now() + 4000;
  let passed = false;
  let n = 0;
  while (!passed && Date.now() < deadline) {
    const id = ++n;
    sender.send({ event: 'client-after', channel: name, data: { id } });
    passed = await receiver.waitFrame((f) => f.event === 'client-after' && f.data.id === id, 250)
      .then(() => true, () => false);
  }
  assert.ok(passed, 'client events pass again after the rate window');
  // Same path (connection → channel → owner): all accepted burst events came first.
  const delivered = receiver.frames.filter((f) => f.event === 'client-burst').length;
  assert.equal(delivered, burst - errors, 'exactly the accepted events were delivered');
  assert.ok(sender.isOpen);
});

test('client event data over max_event_payload_bytes: 4301', async () => {
  const name = unique('private-big-');
  const sender = await rawOn(name);
  const other = await rawOn(name);
  sender.send({ event: 'client-big', channel: name, data: { blob: 'x'.repeat(11 * 1024) } });
  await sender.waitFrame(is4301);
  await rawMarker(name, [other]);
  assert.equal(other.frames.filter((f) => f.event === 'client-big').length, 0);
  await sender.roundTrip();
});

test('client event name over 200 characters: 4301', async () => {
  const name = unique('private-longname-');
  const sender = await rawOn(name);
  sender.send({ event: `client-${'n'.repeat(200)}`, channel: name, data: {} });
  await sender.waitFrame(is4301);
});

test('client events on a private-cache channel are relayed but never cached', async () => {
  const name = unique('private-cache-chat-');
  const sender = await rawOn(name);
  const other = await rawOn(name);
  sender.send({ event: 'client-c', channel: name, data: { c: 1 } });
  await other.waitFrame((f) => f.event === 'client-c');
  const late = res.raw(node, { key: app.key });
  await late.established();
  const sdk = h.serverSdk(node, app);
  await late.subscribe(name, sdk.authorizeChannel(late.socketId, name).auth);
  const f = await late.waitFrame((x) => x.event === 'client-c' || x.event === 'pusher:cache_miss');
  assert.equal(f.event, 'pusher:cache_miss');
});

test('a client cannot inject pusher: or pusher_internal: events into a channel', async () => {
  const name = unique('presence-inject-');
  const sender = await rawOn(name, app, { user_id: 'evil' });
  const other = await rawOn(name, app, { user_id: 'victim' });
  sender.send({ event: 'pusher_internal:member_added', channel: name, data: { user_id: 'ghost' } });
  sender.send({ event: 'pusher:subscription_succeeded', channel: name, data: {} });
  sender.send({ event: 'pusher_internal:subscription_succeeded', channel: name, data: '{}' });
  await sender.roundTrip();
  await rawMarker(name, [other]);
  assert.deepEqual(other.frames.filter((f) => f.event === 'pusher_internal:member_added'), []);
  assert.equal(other.frames.filter((f) => f.event.includes('subscription_succeeded')).length, 1,
    'only the real subscription_succeeded');
});
