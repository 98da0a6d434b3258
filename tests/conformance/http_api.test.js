'use strict';
// HTTP API: trigger through the `pusher` SDK (delivery, `{}` body, socket_id
// exclusion, sendToUser) and hand-signed requests for every auth and
// validation failure (401, 400, 413, 404, 403).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./support/node');

const res = h.resources();
let node;
let app;
let other; // a second, valid app
let disabled;

before(async () => {
  app = h.makeApp();
  other = h.makeApp();
  disabled = h.makeApp({ enabled: false });
  node = await res.node({ apps: [app, other, disabled] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

async function client(opts, a = app) {
  const c = res.client(node, a, opts);
  await h.connected(c);
  return c;
}

const trigger = (body, extra = {}) => h.signedRequest(node, { body, ...extra });
const event = (extra = {}) => ({ name: 'ev', channels: ['http-api-test'], data: '{"a":1}', ...extra });

test('SDK trigger: delivered, 200 with body exactly {}', async () => {
  const sdk = h.serverSdk(node);
  const name = unique('api-');
  const c = await client();
  const ch = await h.subscribe(c, name);
  const got = h.nextEvent(ch, 'greet');
  const r = await sdk.trigger(name, 'greet', { hello: 'there' });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '{}');
  assert.deepEqual((await got).data, { hello: 'there' });
});

test('SDK trigger to several channels delivers on each', async () => {
  const sdk = h.serverSdk(node);
  const names = [unique('multi-a-'), unique('multi-b-'), unique('private-multi-c-')];
  const c = await client();
  const chans = await Promise.all(names.map((n) => h.subscribe(c, n)));
  const got = chans.map((ch) => h.nextEvent(ch, 'fan'));
  const r = await sdk.trigger(names, 'fan', { x: 1 });
  assert.equal(r.status, 200);
  for (const g of got) assert.deepEqual((await g).data, { x: 1 });
});

test('SDK trigger with socket_id: the excluded client does not get it, another does', async () => {
  const sdk = h.serverSdk(node);
  const name = unique('exclude-');
  const a = await client();
  const b = await client();
  const aCh = await h.subscribe(a, name);
  const bCh = await h.subscribe(b, name);
  const aLog = h.recordChannel(aCh);
  const toB = h.nextEvent(bCh, 'excl');
  const r = await sdk.trigger(name, 'excl', { n: 1 }, { socket_id: a.connection.socket_id });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '{}');
  await toB;
  // The owner orders events of a channel: once A has the next event, it would
  // have had the excluded one.
  const next = h.nextEvent(aCh, 'after');
  await sdk.trigger(name, 'after', {});
  await next;
  assert.deepEqual(aLog.filter((e) => e.event === 'excl'), []);
});

test('single "channel" field and Laravel-style event names are accepted', async () => {
  const name = unique('single-');
  const raw = res.raw(node);
  await raw.established();
  await raw.subscribe(name);
  const got = raw.waitFrame((f) => f.event === 'App\\Events\\OrderShipped');
  const r = await trigger({ name: 'App\\Events\\OrderShipped', channel: name, data: '{"id":7}' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, '{}');
  assert.equal((await got).data, '{"id":7}');
});

test('sendToUser reaches a signed-in pusher-js user only', async () => {
  const sdk = h.serverSdk(node);
  const alice = await client({ userData: { id: 'alice', user_info: { n: 1 } } });
  const bob = await client({ userData: { id: 'bob' } });
  alice.signin();
  bob.signin();
  await h.waitFor(() => alice.user.serverToUserChannel && alice.user.serverToUserChannel.subscribed, 3000, 'alice signed in');
  await h.waitFor(() => bob.user.serverToUserChannel && bob.user.serverToUserChannel.subscribed, 3000, 'bob signed in');
  const bobGot = [];
  bob.user.bind('private-note', (d) => bobGot.push(d));
  const got = h.waitFor(alice.user, 'private-note', 3000);
  const r = await sdk.sendToUser('alice', 'private-note', { hi: 'alice' });
  assert.equal(r.status, 200);
  assert.deepEqual(await got, { hi: 'alice' });
  const bobMark = h.waitFor(bob.user, 'mark', 3000);
  await sdk.sendToUser('bob', 'mark', {});
  await bobMark;
  assert.deepEqual(bobGot, []);
});

test('a hand-signed request is accepted (control for the failure cases)', async () => {
  const r = await trigger(event());
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, '{}');
  const inWindow = await trigger(event(), { timestamp: Math.floor(Date.now() / 1000) - 500 });
  assert.equal(inWindow.status, 200, 'a timestamp 500 s old is inside the 600 s window');
});

test('401: bad signature', async () => {
  const r = await trigger(event(), { signature: 'f'.repeat(64) });
  assert.equal(r.status, 401, r.body);
  const wrongSecret = await trigger(event(), { secret: 'not-the-secret' });
  assert.equal(wrongSecret.status, 401);
});

test('401: signature for a different path or method', async () => {
  const body = JSON.stringify(event());
  const params = {
    auth_key: app.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0', body_md5: h.md5(body),
  };
  const q = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const sigOtherPath = h.hmac(app.secret, `POST\n/apps/${app.id}/batch_events\n${q}`);
  const r1 = await trigger(body, { signature: sigOtherPath });
  assert.equal(r1.status, 401);
  const sigGet = h.hmac(app.secret, `GET\n/apps/${app.id}/events\n${q}`);
  const r2 = await trigger(body, { signature: sigGet });
  assert.equal(r2.status, 401);
});

test('401: stale or future timestamp (> 600 s)', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await trigger(event(), { timestamp: now - 700 })).status, 401);
  assert.equal((await trigger(event(), { timestamp: now + 700 })).status, 401);
  assert.equal((await trigger(event(), { timestamp: 'yesterday' })).status, 401);
});

test('401: wrong or missing body_md5', async () => {
  const r = await trigger(event(), { bodyMd5: h.md5('something else') });
  assert.equal(r.status, 401, r.body);
  const missing = await trigger(event(), { omit: ['body_md5'] });
  assert.equal(missing.status, 401, 'body_md5 is required with a body');
});

test('401: wrong key (another app\'s key and secret, or an unknown key)', async () => {
  const r = await trigger(event(), { key: other.key, secret: other.secret });
  assert.equal(r.status, 401, 'auth_key must belong to the app in the path');
  const r2 = await trigger(event(), { key: 'no-such-key' });
  assert.equal(r2.status, 401);
});

test('401: missing auth parameters or wrong auth_version', async () => {
  for (const omit of ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature']) {
    const r = await trigger(event(), { omit: [omit] });
    assert.equal(r.status, 401, `without ${omit}`);
  }
  const r = await trigger(event(), { query: { auth_version: '2.0' } });
  assert.equal(r.status, 401);
});

test('400: more than 100 channels; exactly 100 is fine', async () => {
  const many = Array.from({ length: 101 }, (_, i) => `ch-${i}`);
  const r = await trigger(event({ channels: many }));
  assert.equal(r.status, 400, r.body);
  const hundred = await trigger(event({ channels: many.slice(0, 100) }));
  assert.equal(hundred.status, 200, hundred.body);
});

test('400: missing or invalid fields', async () => {
  const cases = {
    'missing name': { channels: ['a'], data: '{}' },
    'empty name': { name: '', channels: ['a'], data: '{}' },
    'name over 200': { name: 'n'.repeat(201), channels: ['a'], data: '{}' },
    'missing data': { name: 'ev', channels: ['a'] },
    'missing channels': { name: 'ev', data: '{}' },
    'empty channels': { name: 'ev', channels: [], data: '{}' },
    'channels not an array': { name: 'ev', channels: 'a', data: '{}' },
    'bad channel name': { name: 'ev', channels: ['bad channel!'], data: '{}' },
    'channel name with #': { name: 'ev', channels: ['#hash'], data: '{}' },
    'channel name over 200': { name: 'ev', channels: ['c'.repeat(201)], data: '{}' },
    'invalid socket_id': { name: 'ev', channels: ['a'], data: '{}', socket_id: 'abc' },
  };
  for (const [what, body] of Object.entries(cases)) {
    const r = await trigger(body);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
  }
  const notJson = await trigger('{"name": "ev", ');
  assert.equal(notJson.status, 400, 'body that is not JSON');
  const array = await trigger('[1,2]');
  assert.equal(array.status, 400, 'body that is not an object');
});

test('413: data over 10 KB; exactly 10 KB is fine', async () => {
  const big = await trigger(event({ data: 'x'.repeat(10 * 1024 + 1) }));
  assert.equal(big.status, 413, big.body);
  const edge = await trigger(event({ data: 'x'.repeat(10 * 1024) }));
  assert.equal(edge.status, 200, edge.body);
});

test('413 from the SDK as well', async () => {
  const sdk = h.serverSdk(node);
  await assert.rejects(sdk.trigger('sdk-big', 'ev', 'y'.repeat(20 * 1024)),
    (err) => err.status === 413);
});

test('404: unknown app id and unknown route', async () => {
  const r = await trigger(event(), { path: '/apps/no-such-app/events' });
  assert.equal(r.status, 404, r.body);
  const route = await h.signedRequest(node, { method: 'GET', path: `/apps/${app.id}/no-such-route` });
  assert.equal(route.status, 404, route.body);
  const outside = await fetch(`http://127.0.0.1:${node.port}/definitely/not/here`);
  assert.equal(outside.status, 404);
  await outside.text();
});

test('403: disabled app', async () => {
  const r = await trigger(event(), { app: disabled });
  assert.equal(r.status, 403, r.body);
});

test('error bodies are JSON with the status as code', async () => {
  const r = await trigger(event(), { signature: '0'.repeat(64) });
  assert.equal(r.status, 401);
  assert.equal(typeof r.json, 'object', r.body);
  assert.equal(r.json.code, 401);
  assert.equal(typeof r.json.error, 'string');
});

test('the node keeps serving after a burst of bad requests', async () => {
  const bad = Array.from({ length: 50 }, () => trigger(event(), { signature: crypto.randomBytes(32).toString('hex'), timeoutMs: 5000 }));
  const results = await Promise.all(bad);
  assert.ok(results.every((r) => r.status === 401));
  const ok = await trigger(event());
  assert.equal(ok.status, 200);
  assert.ok(node.alive());
});

// -- the rest of the HTTP API (protocol §6.3-6.8) ---------------------------------

test('POST batch_events delivers each event and answers {}; more than 10 is 400', async () => {
  const sdk = h.serverSdk(node);
  const a = unique('batch-a-');
  const b = unique('batch-b-');
  const c = await client();
  const [ca, cb] = await Promise.all([h.subscribe(c, a), h.subscribe(c, b)]);
  const ga = h.nextEvent(ca, 'e1');
  const gb = h.nextEvent(cb, 'e2');
  const r = await sdk.triggerBatch([{ channel: a, name: 'e1', data: { i: 1 } }, { channel: b, name: 'e2', data: { i: 2 } }]);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '{}');
  assert.deepEqual((await ga).data, { i: 1 });
  assert.deepEqual((await gb).data, { i: 2 });

  const eleven = Array.from({ length: 11 }, (_, i) => ({ channel: a, name: 'e', data: String(i) }));
  const tooMany = await h.signedRequest(node, { path: `/apps/${app.id}/batch_events`, body: { batch: eleven } });
  assert.equal(tooMany.status, 400, tooMany.body);
  const oneBad = await h.signedRequest(node, {
    path: `/apps/${app.id}/batch_events`,
    body: { batch: [{ channel: a, name: 'never', data: '1' }, { channel: 'bad name!', name: 'e', data: '1' }] },
  });
  assert.equal(oneBad.status, 400, 'one invalid event fails the whole batch');
  const mark = h.nextEvent(ca, 'mark');
  const seen = h.recordChannel(ca);
  await sdk.trigger(a, 'mark', {});
  await mark;
  assert.equal(seen.filter((e) => e.event === 'never').length, 0, 'nothing of a refused batch is delivered');
});

test('trigger with info returns counts', async () => {
  const sdk = h.serverSdk(node);
  const pres = unique('presence-info-');
  const c1 = await client({ user: { user_id: 'i1' } });
  const c2 = await client({ user: { user_id: 'i2' } });
  await h.subscribe(c1, pres);
  await h.subscribe(c2, pres);
  const r = await sdk.trigger(pres, 'ev', {}, { info: 'user_count' });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { channels: { [pres]: { user_count: 2 } } });
  const bad = await trigger(event({ info: 'user_count' }));
  assert.equal(bad.status, 400, 'user_count on a non-presence channel is 400');
});

test('GET /channels lists occupied channels; presence user_count', async () => {
  const sdk = h.serverSdk(node);
  const pub = unique('listed-');
  const pres = unique('presence-listed-');
  const c = await client({ user: { user_id: 'lister' } });
  await h.subscribe(c, pub);
  await h.subscribe(c, pres);
  const r = await sdk.get({ path: '/channels' });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual(body.channels[pub], {}, JSON.stringify(body));
  const rp = await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  assert.equal(rp.status, 200);
  const pbody = await rp.json();
  assert.deepEqual(pbody.channels[pres], { user_count: 1 });
  assert.equal(pbody.channels[pub], undefined, 'filter_by_prefix applies');
  const bad = await h.signedRequest(node, { method: 'GET', path: `/apps/${app.id}/channels`, query: { info: 'user_count' } });
  assert.equal(bad.status, 400, 'user_count without the presence- filter is 400');
});

test('GET /channels/{name}: occupied, counts, and the unoccupied answer', async () => {
  const sdk = h.serverSdk(node);
  const name = unique('info-');
  const c = await client();
  await h.subscribe(c, name);
  const r = await sdk.get({ path: `/channels/${name}` });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).occupied, true);
  const empty = await sdk.get({ path: `/channels/${unique('nobody-')}` });
  assert.equal(empty.status, 200);
  assert.equal((await empty.json()).occupied, false);
  const bad = await sdk.get({ path: `/channels/${name}`, params: { info: 'user_count' } }).catch((e) => e);
  assert.equal(bad.status, 400, 'user_count on a public channel is 400');
});

test('GET /channels/{name}?info=cache returns the cached event', async () => {
  const sdk = h.serverSdk(node);
  const name = unique('cache-info-');
  await sdk.trigger(name, 'cached-ev', { v: 1 });
  const r = await sdk.get({ path: `/channels/${name}`, params: { info: 'cache' } });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(typeof body.cache, 'object', JSON.stringify(body));
  assert.ok(body.cache, JSON.stringify(body));
  assert.equal(body.cache.data, '{"v":1}');
  assert.ok(body.cache.ttl > 0);
});

test('GET /channels/{presence}/users lists distinct user ids; 400 on other channels', async () => {
  const sdk = h.serverSdk(node);
  const name = unique('presence-users-');
  const c1 = await client({ user: { user_id: 'listed-user' } });
  const c2 = await client({ user: { user_id: 'listed-user' } });
  await h.subscribe(c1, name);
  await h.subscribe(c2, name);
  const r = await sdk.get({ path: `/channels/${name}/users` });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { users: [{ id: 'listed-user' }] });
  const bad = await sdk.get({ path: `/channels/${unique('public-users-')}/users` }).catch((e) => e);
  assert.equal(bad.status, 400);
});

test('POST terminate_connections closes the user\'s signed-in connections with 4009, others stay', async () => {
  const sdk = h.serverSdk(node);
  const signIn = async (id) => {
    const raw = res.raw(node);
    await raw.established();
    const userData = JSON.stringify({ id });
    raw.send({ event: 'pusher:signin', data: { auth: `${app.key}:${h.hmac(app.secret, `${raw.socketId}::user::${userData}`)}`, user_data: userData } });
    await raw.waitFrame('pusher:signin_success');
    return raw;
  };
  const doomed = await signIn('doomed');
  const spared = await signIn('spared');
  const r = await sdk.terminateUserConnections('doomed');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '{}');
  const err = await doomed.waitFrame((f) => f.event === 'pusher:error');
  assert.equal(err.parsed.code, 4009);
  assert.equal((await doomed.waitClose()).code, 4009);
  await spared.roundTrip();
  assert.ok(spared.isOpen);
});
