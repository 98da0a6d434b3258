'use strict';
// Channels with real pusher-js clients and the `pusher` SDK: public, private,
// presence (roster, first-join / last-leave), private-encrypted end to end,
// the four cache prefixes, and subscription_count.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./support/node');

const res = h.resources();
let node;
let app; // default app
let countApp; // enable_subscription_count
let ttlApp; // cache_ttl_s = 1
const masterKey = crypto.randomBytes(32).toString('base64');

before(async () => {
  app = h.makeApp();
  countApp = h.makeApp({ enable_subscription_count: true });
  ttlApp = h.makeApp({ limits: { cache_ttl_s: 1 } });
  node = await res.node({ apps: [app, countApp, ttlApp] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

async function client(opts, a = app) {
  const c = res.client(node, a, opts);
  await h.connected(c);
  return c;
}

// Triggers a marker on `channel` and waits until every listed channel object
// got it: everything the channel's owner emitted before has then arrived.
async function marker(sdk, channelName, channels) {
  const id = crypto.randomUUID();
  const waits = channels.map((ch) => h.nextEvent(ch, 'marker', 3000, (d) => d.id === id));
  await sdk.trigger(channelName, 'marker', { id });
  await Promise.all(waits);
}

test('public channel: subscribe, trigger, frame shape', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('public-');
  const c = await client();
  const ch = await h.subscribe(c, name);
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  await raw.subscribe(name);

  const got = h.nextEvent(ch, 'my-event');
  const gotRaw = raw.waitFrame((f) => f.event === 'my-event');
  const r = await sdk.trigger(name, 'my-event', { hello: 'world', n: 1 });
  assert.equal(r.status, 200);
  assert.deepEqual((await got).data, { hello: 'world', n: 1 });
  const frame = await gotRaw;
  assert.equal(frame.channel, name);
  assert.equal(typeof frame.data, 'string', 'user event data is delivered as the string the publisher sent');
  assert.deepEqual(JSON.parse(frame.data), { hello: 'world', n: 1 });
});

test('public channel: a non-JSON string payload is delivered unchanged', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('plain-');
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  await raw.subscribe(name);
  const got = raw.waitFrame((f) => f.event === 'text');
  await sdk.trigger(name, 'text', 'just "text" \u00e9\u4e2d');
  assert.equal((await got).data, 'just "text" \u00e9\u4e2d');
});

test('connection_established: socket_id format and activity_timeout', async () => {
  const raw = res.raw(node, { key: app.key });
  const f = await raw.established();
  assert.equal(raw.frames[0], f, 'connection_established is the first frame');
  assert.equal(typeof f.data, 'string', 'system event data is a data string');
  assert.match(raw.socketId, /^\d+\.\d+$/);
  assert.equal(raw.activityTimeout, 120);
  const other = res.raw(node, { key: app.key });
  await other.established();
  assert.notEqual(other.socketId, raw.socketId, 'socket ids are unique');
  // Random in both halves: one socket's id tells nothing of another's.
  const [a1, a2] = raw.socketId.split('.');
  const [b1, b2] = other.socketId.split('.');
  assert.ok(a1 !== b1 && Math.abs(Number(a2) - Number(b2)) > 1,
    `unrelated ids: ${raw.socketId} ${other.socketId}`);
});

test('private channel: signed subscribe succeeds and receives events', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('private-');
  const c = await client();
  const ch = await h.subscribe(c, name);
  const got = h.nextEvent(ch, 'secret-event');
  await sdk.trigger(name, 'secret-event', { ok: true });
  assert.deepEqual((await got).data, { ok: true });
});

test('unsubscribe stops delivery; other subscribers keep receiving', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('unsub-');
  const x = res.raw(node, { key: app.key });
  const y = res.raw(node, { key: app.key });
  await Promise.all([x.established(), y.established()]);
  await x.subscribe(name);
  await y.subscribe(name);
  x.send({ event: 'pusher:unsubscribe', data: { channel: name } });
  await x.roundTrip();
  const got = y.waitFrame((f) => f.event === 'after-unsub');
  await sdk.trigger(name, 'after-unsub', {});
  await got;
  await x.roundTrip();
  assert.equal(x.frames.filter((f) => f.event === 'after-unsub').length, 0,
    'an unsubscribed connection must not get channel events');
  // Re-subscribing works and delivers again.
  await x.subscribe(name);
  const again = x.waitFrame((f) => f.event === 'again');
  await sdk.trigger(name, 'again', {});
  await again;
});

test('presence: roster, member_added on first join, member_removed on last leave (two tabs)', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('presence-room-');
  const ann = await client({ user: { user_id: 'u-ann', user_info: { name: 'Ann' } } });
  const annCh = await h.subscribe(ann, name);
  assert.equal(annCh.members.count, 1);
  assert.equal(annCh.members.me.id, 'u-ann');
  assert.deepEqual(annCh.members.get('u-ann').info, { name: 'Ann' });

  const annLog = h.recordChannel(annCh);
  const added = () => annLog.filter((e) => e.event === 'pusher:member_added');
  const removed = () => annLog.filter((e) => e.event === 'pusher:member_removed');

  // Bo's first tab: Ann sees member_added once, Bo sees the full roster.
  const bo1 = await client({ user: { user_id: 'u-bo', user_info: { name: 'Bo' } } });
  const bo1Log = h.recordMessages(bo1);
  const bo1Ch = await h.subscribe(bo1, name);
  assert.equal(bo1Ch.members.count, 2);
  assert.equal(bo1Ch.members.me.id, 'u-bo');
  assert.deepEqual(bo1Ch.members.get('u-ann').info, { name: 'Ann' });
  assert.deepEqual(bo1Ch.members.get('u-bo').info, { name: 'Bo' });
  await h.waitFor(() => added().length === 1, 3000, 'member_added for Bo');
  assert.equal(added()[0].data.id, 'u-bo');
  assert.deepEqual(added()[0].data.info, { name: 'Bo' });
  assert.equal(annCh.members.count, 2);

  // Bo's second tab: same member, no second member_added, roster count 2.
  const bo2 = await client({ user: { user_id: 'u-bo', user_info: { name: 'Bo' } } });
  const bo2Ch = await h.subscribe(bo2, name);
  assert.equal(bo2Ch.members.count, 2, 'two tabs of one user count once');
  await marker(sdk, name, [annCh, bo1Ch, bo2Ch]);
  assert.equal(added().length, 1, 'member_added only for the first connection of a user');
  assert.equal(bo1Log.filter((m) => m.event === 'pusher_internal:member_added'
    && JSON.parse(m.data).user_id === 'u-bo').length, 0,
    'the joining user never gets member_added about itself');

  // First tab leaves: Bo is still present.
  bo1.unsubscribe(name);
  await h.clientRoundTrip(bo1);
  await marker(sdk, name, [annCh, bo2Ch]);
  assert.equal(removed().length, 0, 'no member_removed while the user has another connection');
  assert.equal(annCh.members.count, 2);

  // Last tab disconnects: member_removed.
  await h.closeClient(bo2);
  await h.waitFor(() => removed().length === 1, 3000, 'member_removed for Bo');
  assert.equal(removed()[0].data.id, 'u-bo');
  assert.equal(annCh.members.count, 1);
});

test('presence: numeric and string user ids are one member; ids are strings', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('presence-num-');
  const a = res.raw(node, { key: app.key });
  await a.established();
  const dataA = JSON.stringify({ user_id: 10, user_info: { n: 1 } });
  const okA = await a.subscribe(name, sdk.authorizeChannel(a.socketId, name, JSON.parse(dataA)).auth, dataA);
  assert.deepEqual(okA.parsed.presence.ids, ['10']);
  assert.equal(okA.parsed.presence.count, 1);
  assert.deepEqual(okA.parsed.presence.hash, { 10: { n: 1 } });

  const b = res.raw(node, { key: app.key });
  await b.established();
  const dataB = JSON.stringify({ user_id: '10' });
  const okB = await b.subscribe(name, sdk.authorizeChannel(b.socketId, name, { user_id: '10' }).auth, dataB);
  assert.equal(okB.parsed.presence.count, 1, 'user 10 and user "10" are the same member');
  await a.roundTrip();
  const mark = a.waitFrame((f) => f.event === 'mark');
  await sdk.trigger(name, 'mark', {});
  await mark;
  assert.equal(a.frames.filter((f) => f.event === 'pusher_internal:member_added').length, 0);
});

test('presence: a second tab with other user_info does not change the member; first info kept', async () => {
  const name = unique('presence-info-');
  const join = async (userId, info) => {
    const r = res.raw(node, { key: app.key });
    await r.established();
    const data = JSON.stringify({ user_id: userId, user_info: info });
    const ok = await r.subscribe(name, h.channelAuth(app, r.socketId, name, data), data);
    return { r, ok };
  };
  const watcher = await join('w', { role: 'watcher' });
  await join('x', { v: 1 });
  await watcher.r.waitFrame((f) => f.event === 'pusher_internal:member_added' && f.parsed.user_id === 'x');
  await join('x', { v: 2 });
  const third = await join('y', {});
  assert.deepEqual(third.ok.parsed.presence.hash.x, { v: 1 }, 'the first connection\'s user_info stays');
  assert.equal(third.ok.parsed.presence.count, 3);
  assert.deepEqual([...third.ok.parsed.presence.ids].sort(), ['w', 'x', 'y']);
});

test('presence: subscribe immediately followed by unsubscribe leaves no ghost member', async () => {
  const name = unique('presence-flicker-');
  const sdk = h.serverSdk(node, app);
  const watcher = res.raw(node, { key: app.key });
  await watcher.established();
  const wData = JSON.stringify({ user_id: 'watcher' });
  await watcher.subscribe(name, h.channelAuth(app, watcher.socketId, name, wData), wData);
  const r = res.raw(node, { key: app.key });
  await r.established();
  const data = JSON.stringify({ user_id: 'flicker' });
  r.send({ event: 'pusher:subscribe', data: { channel: name, auth: h.channelAuth(app, r.socketId, name, data), channel_data: data } });
  r.send({ event: 'pusher:unsubscribe', data: { channel: name } });
  await r.roundTrip();
  // Whether or not the join got through before the leave, the roster ends without flicker.
  await h.waitFor(() => {
    const added = watcher.frames.filter((f) => f.event === 'pusher_internal:member_added').length;
    const removed = watcher.frames.filter((f) => f.event === 'pusher_internal:member_removed').length;
    return added === removed;
  }, 3000, 'member_added balanced by member_removed');
  const users = await sdk.get({ path: `/channels/${name}/users` });
  assert.deepEqual(await users.json(), { users: [{ id: 'watcher' }] });
  // The connection may subscribe again afterwards.
  await r.subscribe(name, h.channelAuth(app, r.socketId, name, data), data);
});

test('private-encrypted: SDK encrypts, pusher-js decrypts, the wire carries ciphertext only', async () => {
  const sdk = h.serverSdk(node, app, { encryptionMasterKeyBase64: masterKey });
  const name = unique('private-encrypted-');
  const c = await client({ sdk });
  const ch = await h.subscribe(c, name);

  const raw = res.raw(node, { key: app.key });
  await raw.established();
  await raw.subscribe(name, sdk.authorizeChannel(raw.socketId, name).auth);

  const payload = { secret: 'the eagle lands at dawn', n: 42 };
  const got = h.nextEvent(ch, 'enc-event');
  const gotRaw = raw.waitFrame((f) => f.event === 'enc-event');
  const r = await sdk.trigger(name, 'enc-event', payload);
  assert.equal(r.status, 200);
  assert.deepEqual((await got).data, payload, 'pusher-js decrypted the SDK payload');
  const frame = await gotRaw;
  assert.ok(!frame.data.includes('eagle'), 'plaintext must not appear on the wire');
  const wire = JSON.parse(frame.data);
  assert.equal(typeof wire.nonce, 'string');
  assert.equal(typeof wire.ciphertext, 'string');
});

// -- cache channels -------------------------------------------------------------

const cachePrefixes = ['cache-', 'private-cache-', 'private-encrypted-cache-', 'presence-cache-'];

for (const prefix of cachePrefixes) {
  test(`cache channel ${prefix}*: cache_miss on an empty channel, then the last event on subscribe`, async () => {
    const sdk = h.serverSdk(node, app, { encryptionMasterKeyBase64: masterKey });
    const name = unique(prefix);
    const opts = { sdk, user: { user_id: `u-${seq}`, user_info: {} } };

    const first = await client(opts);
    const firstCh = first.subscribe(name);
    const miss = h.nextEvent(firstCh, 'pusher:cache_miss');
    await h.subscribed(firstCh);
    await miss;

    const live = h.nextEvent(firstCh, 'price', 3000, (d) => d.p === 2);
    await sdk.trigger(name, 'price', { p: 1 });
    await sdk.trigger(name, 'price', { p: 2 });
    await live;

    const second = await client({ ...opts, user: { user_id: `u2-${seq}`, user_info: {} } });
    const secondLog = h.recordMessages(second);
    const secondCh = second.subscribe(name);
    const cached = h.nextEvent(secondCh, 'price');
    await h.subscribed(secondCh);
    assert.deepEqual((await cached).data, { p: 2 }, 'the last published event is replayed');
    await h.clientRoundTrip(second);
    const onChannel = secondLog.filter((m) => m.channel === name).map((m) => m.event);
    assert.equal(onChannel[0], 'pusher_internal:subscription_succeeded');
    assert.equal(onChannel[1], 'price', 'cached event comes right after subscription_succeeded');
    assert.ok(!onChannel.includes('pusher:cache_miss'), 'no cache_miss when something is cached');
  });
}

test('cache channel: raw frames carry the original event name and channel; publish with no subscriber is cached', async () => {
  const sdk = h.serverSdk(node, app);
  const name = unique('cache-raw-');
  await sdk.trigger(name, 'before-anyone', { v: 'kept' });
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  const ok = await raw.subscribe(name);
  const idx = raw.frames.indexOf(ok);
  const next = await raw.waitFrame((f) => raw.frames.indexOf(f) > idx);
  assert.equal(next.event, 'before-anyone');
  assert.equal(next.channel, name);
  assert.deepEqual(JSON.parse(next.data), { v: 'kept' });

  const empty = unique('cache-empty-');
  const r2 = res.raw(node, { key: app.key });
  await r2.established();
  const ok2 = await r2.subscribe(empty);
  const idx2 = r2.frames.indexOf(ok2);
  const missFrame = await r2.waitFrame((f) => r2.frames.indexOf(f) > idx2);
  assert.equal(missFrame.event, 'pusher:cache_miss');
  assert.equal(missFrame.channel, empty);
});

test('cache prefix is anchored: chat-cache-1 is not a cache channel', async () => {
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  await raw.subscribe(unique('chat-cache-'));
  await raw.roundTrip();
  assert.equal(raw.frames.filter((f) => f.event === 'pusher:cache_miss').length, 0);
});

test('cache channel: the cached event expires after cache_ttl_s (1 s)', async () => {
  const sdk = h.serverSdk(node, ttlApp);
  const name = unique('cache-ttl-');
  await sdk.trigger(name, 'ttl-event', { t: 1 });
  const probe = async () => {
    const raw = res.raw(node, { key: ttlApp.key });
    await raw.established();
    await raw.subscribe(name);
    const f = await raw.waitFrame((x) => x.event === 'ttl-event' || x.event === 'pusher:cache_miss');
    await raw.close();
    return f.event;
  };
  const started = Date.now();
  assert.equal(await probe(), 'ttl-event', 'cached right after publishing');
  let outcome = 'ttl-event';
  while (outcome === 'ttl-event' && Date.now() - started < 5000) {
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not synchronization
    outcome = await probe();
  }
  assert.equal(outcome, 'pusher:cache_miss', 'the cached event must expire within ~cache_ttl_s');
  assert.ok(Date.now() - started >= 900, 'it must not expire before cache_ttl_s');
});

// -- subscription_count ----------------------------------------------------------

test('subscription_count: sent to every subscriber when the app enables it', async () => {
  const name = unique('counted-');
  const a = await client({}, countApp);
  const aCh = a.subscribe(name);
  const first = h.nextEvent(aCh, 'pusher:subscription_count');
  await h.subscribed(aCh);
  assert.equal((await first).data.subscription_count, 1);

  const toA = h.nextEvent(aCh, 'pusher:subscription_count', 3000, (d) => d.subscription_count === 2);
  const b = await client({}, countApp);
  const bCh = b.subscribe(name);
  const toB = h.nextEvent(bCh, 'pusher:subscription_count', 3000, (d) => d.subscription_count === 2);
  await h.subscribed(bCh);
  await Promise.all([toA, toB]);
  assert.equal(aCh.subscriptionCount, 2);
  assert.equal(bCh.subscriptionCount, 2);

  const down = h.nextEvent(aCh, 'pusher:subscription_count', 3000, (d) => d.subscription_count === 1);
  await h.closeClient(b);
  await down;
});

test('subscription_count: never on presence channels, never when the app disables it', async () => {
  const presence = unique('presence-counted-');
  const sdkCount = h.serverSdk(node, countApp);
  const p = await client({ user: { user_id: 'p1' } }, countApp);
  const pLog = h.recordMessages(p);
  const pCh = await h.subscribe(p, presence);
  await marker(sdkCount, presence, [pCh]);

  const sdk = h.serverSdk(node, app);
  const plain = unique('uncounted-');
  const q = await client({}, app);
  const qLog = h.recordMessages(q);
  const qCh = await h.subscribe(q, plain);
  await marker(sdk, plain, [qCh]);

  assert.equal(pLog.filter((m) => m.event === 'pusher_internal:subscription_count').length, 0,
    'presence channels do not get subscription_count');
  assert.equal(qLog.filter((m) => m.event === 'pusher_internal:subscription_count').length, 0,
    'apps without enable_subscription_count do not get it');
});
