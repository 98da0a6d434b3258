'use strict';
// Connection refusals (pusher:error then close with the same code) and
// subscription failures (channel-scoped pusher:subscription_error).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');

const MAX_CONNECTIONS = 3;
const MAX_MEMBERS = 2;
const res = h.resources();
let node;
let app;
let disabled;
let limited; // max_connections
let small; // max_presence_members, max_presence_member_bytes

before(async () => {
  app = h.makeApp();
  disabled = h.makeApp({ enabled: false });
  limited = h.makeApp({ limits: { max_connections: MAX_CONNECTIONS } });
  small = h.makeApp({ limits: { max_presence_members: MAX_MEMBERS, max_presence_member_bytes: 256 } });
  node = await res.node({ apps: [app, disabled, limited, small] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

// Connects raw to `url` and expects pusher:error `code` as the first frame,
// then a close with the same code.
async function expectRefused(opts, code) {
  const raw = res.raw(node, opts);
  const info = await raw.waitClose();
  assert.equal(info.code, code, `close code (frames: ${JSON.stringify(raw.frames)})`);
  assert.ok(raw.frames.length >= 1, 'a pusher:error precedes the close');
  const first = raw.frames[0];
  assert.equal(first.event, 'pusher:error');
  assert.equal(first.parsed.code, code);
  assert.equal(typeof first.parsed.message, 'string');
  assert.equal(raw.frames.filter((f) => f.event === 'pusher:connection_established').length, 0);
  return raw;
}

test('unknown app key: pusher:error 4001 and close 4001', async () => {
  await expectRefused({ key: 'no-such-key' }, 4001);
});

test('pusher-js with an unknown key sees error 4001 and ends disconnected', async () => {
  const c = res.client(node, { ...app, key: 'no-such-key-pjs' });
  // During the handshake pusher-js wraps the server's pusher:error.
  const code = (e) => (e.type === 'PusherError' ? e.data : e.error && e.error.data || {}).code;
  const e = await h.waitFor(c.connection, 'error', 3000, (x) => code(x) !== undefined);
  assert.equal(code(e), 4001);
  await h.waitFor(() => ['disconnected', 'failed'].includes(c.connection.state), 3000, 'pusher-js gives up');
});

test('disabled app: 4003', async () => {
  await expectRefused({ key: disabled.key }, 4003);
});

test('over max_connections: 4004; a slot frees when a connection closes', async () => {
  const open = [];
  for (let i = 0; i < MAX_CONNECTIONS; ++i) {
    const r = res.raw(node, { key: limited.key });
    await r.established();
    open.push(r);
  }
  await expectRefused({ key: limited.key }, 4004);
  await open[0].close();
  // The freed slot is reusable (the close reaches the app asynchronously).
  let ok = false;
  const deadline = Date.now() + 3000;
  while (!ok && Date.now() < deadline) {
    const r = res.raw(node, { key: limited.key });
    ok = await r.established().then(() => true, () => false);
  }
  assert.ok(ok, 'after a close the app accepts a connection again');
  // Other apps are not affected by this app's quota.
  const other = res.raw(node, { key: app.key });
  await other.established();
});

test('unknown path: 4005', async () => {
  await expectRefused({ url: `ws://127.0.0.1:${node.port}/nope/${app.key}?protocol=7` }, 4005);
  await expectRefused({ url: `ws://127.0.0.1:${node.port}/app/?protocol=7` }, 4005);
  await expectRefused({ url: `ws://127.0.0.1:${node.port}/app/${app.key}/extra?protocol=7` }, 4005);
});

test('protocol=3: 4007; protocol 5, 6, 7 and missing are accepted', async () => {
  await expectRefused({ query: 'protocol=3&client=js&version=8.4.0' }, 4007);
  await expectRefused({ query: 'protocol=abc' }, 4007);
  for (const query of ['protocol=5', 'protocol=6', 'protocol=7', 'client=js&version=8.4.0']) {
    const r = res.raw(node, { query });
    await r.established();
    await r.close();
  }
});

test('malformed version string: 4006; empty protocol: 4008', async () => {
  await expectRefused({ query: 'protocol=7&client=js&version=%3Cscript%3E' }, 4006);
  await expectRefused({ query: 'protocol=&client=js&version=8.4.0' }, 4008);
});

test('path_prefix: pusher-js with wsPath connects; the unprefixed path is 4005; REST signs the full path', async () => {
  const own = await h.startNode({ server: { path_prefix: '/realtime' } });
  const c = h.pusherClient(own, own.app, { pusher: { wsPath: '/realtime' } });
  try {
    await h.connected(c);
    const ch = await h.subscribe(c, unique('prefixed-'));
    const got = h.nextEvent(ch, 'via-prefix');
    const r = await h.signedRequest(own, {
      path: `/realtime/apps/${own.app.id}/events`,
      body: { name: 'via-prefix', channels: [ch.name], data: '{}' },
    });
    assert.equal(r.status, 200, r.body);
    await got;
    const bare = h.rawClient(own);
    try {
      const info = await bare.waitClose();
      assert.equal(info.code, 4005);
    } finally {
      await bare.close();
    }
  } finally {
    await h.closeClient(c);
    await own.stop();
  }
});

test('private channel with a bad signature: pusher:subscription_error AuthError (pusher-js)', async () => {
  const name = unique('private-forged-');
  const c = res.client(node, app, {
    authorize: (socketId, channel) => ({ auth: `${app.key}:${'0'.repeat(64)}` }),
  });
  await h.connected(c);
  const err = await h.subscribe(c, name).then(() => null, (e) => e);
  assert.ok(err && err.data, `expected a subscription error, got ${err}`);
  assert.equal(err.data.type, 'AuthError');
  assert.equal(err.data.status, 401);
  assert.equal(typeof err.data.error, 'string');
  assert.equal(c.channel(name).subscribed, false);
  // The connection stays usable.
  await h.subscribe(c, unique('still-fine-'));
});

test('auth signed for another socket, channel or key is refused', async () => {
  const raw = res.raw(node);
  await raw.established();
  const name = unique('private-stolen-');
  const cases = [
    h.channelAuth(app, '1234.5678', name), // another socket
    h.channelAuth(app, raw.socketId, `${name}-other`), // another channel
    h.channelAuth({ ...app, key: disabled.key }, raw.socketId, name), // wrong key, right secret
    h.channelAuth({ ...app, secret: disabled.secret }, raw.socketId, name), // right key, wrong secret
    `${app.key}:`, // empty signature
    'garbage', // no colon
    '', // nothing
  ];
  for (const auth of cases) {
    const err = await raw.subscribe(name, auth).then(() => null, (e) => e.frame);
    assert.ok(err, `auth ${auth} must be refused`);
    assert.equal(err.event, 'pusher:subscription_error');
    assert.equal(err.channel, name);
    assert.equal(err.parsed.type, 'AuthError');
    assert.equal(err.parsed.status, 401);
  }
  // Then a good one still works on the same connection.
  await raw.subscribe(name, h.channelAuth(app, raw.socketId, name));
});

test('presence: tampered channel_data or none at all is refused', async () => {
  const raw = res.raw(node);
  await raw.established();
  const name = unique('presence-tamper-');
  const signed = JSON.stringify({ user_id: 'honest' });
  const auth = h.channelAuth(app, raw.socketId, name, signed);
  const tampered = await raw.subscribe(name, auth, JSON.stringify({ user_id: 'admin' })).then(() => null, (e) => e.frame);
  assert.equal(tampered && tampered.parsed.type, 'AuthError');
  const none = await raw.subscribe(name, h.channelAuth(app, raw.socketId, name)).then(() => null, (e) => e.frame);
  assert.ok(none, 'presence without channel_data must be refused');
  assert.equal(none.event, 'pusher:subscription_error');
  await raw.subscribe(name, auth, signed);
});

test('invalid channel names: subscription_error', async () => {
  const raw = res.raw(node);
  await raw.established();
  for (const name of ['bad channel', 'sémantique', 'a/b', 'x'.repeat(201), 'private-', '#secret']) {
    const err = await raw.subscribe(name).then(() => null, (e) => e.frame);
    assert.ok(err, `channel "${name.slice(0, 20)}" must be refused`);
    assert.ok(['pusher:subscription_error', 'pusher:error'].includes(err.event), JSON.stringify(err));
  }
  const err = await raw.subscribe('bad channel').then(() => null, (e) => e.frame);
  assert.equal(err.event, 'pusher:subscription_error');
  assert.equal(err.channel, 'bad channel');
  assert.equal(typeof err.parsed.type, 'string');
  assert.equal(typeof err.parsed.status, 'number');
  await raw.subscribe('x'.repeat(200));
});

test('#server-to-user-<id> needs a sign-in as that user', async () => {
  const raw = res.raw(node);
  await raw.established();
  const err = await raw.subscribe('#server-to-user-victim').then(() => null, (e) => e.frame);
  assert.equal(err && err.parsed.type, 'AuthError');
  const userData = JSON.stringify({ id: 'me' });
  raw.send({ event: 'pusher:signin', data: { auth: `${app.key}:${h.hmac(app.secret, `${raw.socketId}::user::${userData}`)}`, user_data: userData } });
  await raw.waitFrame('pusher:signin_success');
  const still = await raw.subscribe('#server-to-user-victim').then(() => null, (e) => e.frame);
  assert.equal(still && still.parsed.type, 'AuthError', 'signed in as another user');
  await raw.subscribe('#server-to-user-me');
});

test('bad pusher:signin signature: pusher:error 4009 and close 4009', async () => {
  const raw = res.raw(node);
  await raw.established();
  raw.send({ event: 'pusher:signin', data: { auth: `${app.key}:${'1'.repeat(64)}`, user_data: '{"id":"x"}' } });
  const info = await raw.waitClose();
  assert.equal(info.code, 4009);
  assert.ok(raw.frames.some((f) => f.event === 'pusher:error' && f.parsed.code === 4009));
});

test('signing in again as another user: 4009 and close', async () => {
  const raw = res.raw(node);
  await raw.established();
  const signin = (id) => {
    const userData = JSON.stringify({ id });
    raw.send({ event: 'pusher:signin', data: { auth: `${app.key}:${h.hmac(app.secret, `${raw.socketId}::user::${userData}`)}`, user_data: userData } });
  };
  signin('first');
  await raw.waitFrame('pusher:signin_success');
  signin('second');
  assert.equal((await raw.waitClose()).code, 4009);
});

test('existing subscription: pusher:error with code null, counted once', async () => {
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  const name = unique('twice-');
  await raw.subscribe(name);
  const from = raw.frames.length;
  raw.send({ event: 'pusher:subscribe', data: { auth: '', channel: name } });
  const err = await raw.waitFrame((f) => f.event === 'pusher:error', 3000, { from });
  assert.equal(err.parsed.code, null);
  const got = raw.waitFrame((f) => f.event === 'once', 3000, { from });
  await h.serverSdk(node).trigger(name, 'once', {});
  await got;
  await raw.roundTrip();
  assert.equal(raw.frames.filter((f) => f.event === 'once').length, 1, 'one delivery per subscription');
});

test(`presence channel full (max ${MAX_MEMBERS} members): subscription_error status 4100; known users still join`, async () => {
  const name = unique('presence-full-');
  const join = async (userId) => {
    const raw = res.raw(node, { key: small.key });
    await raw.established();
    const data = JSON.stringify({ user_id: userId });
    const result = await raw.subscribe(name, h.channelAuth(small, raw.socketId, name, data), data)
      .then((f) => f, (e) => e.frame);
    return { raw, result };
  };
  for (let i = 0; i < MAX_MEMBERS; ++i)
    assert.equal((await join(`m${i}`)).result.event, 'pusher_internal:subscription_succeeded');
  const { result } = await join('one-too-many');
  assert.equal(result.event, 'pusher:subscription_error');
  assert.equal(result.channel, name);
  assert.equal(result.parsed.status, 4100);
  // A second tab of a member already inside is not a new member.
  const tab = await join('m0');
  assert.equal(tab.result.event, 'pusher_internal:subscription_succeeded');
  assert.equal(tab.result.parsed.presence.count, MAX_MEMBERS);
});

test('presence channel full: pusher-js gets pusher:subscription_error with status 4100', async () => {
  const name = unique('presence-full-pjs-');
  for (let i = 0; i < MAX_MEMBERS; ++i) {
    const c = res.client(node, small, { user: { user_id: `p${i}` } });
    await h.connected(c);
    await h.subscribe(c, name);
  }
  const late = res.client(node, small, { user: { user_id: 'late' } });
  await h.connected(late);
  const err = await h.subscribe(late, name).then(() => null, (e) => e);
  assert.equal(err && err.data && err.data.status, 4100);
});

test('presence channel_data over max_presence_member_bytes or a bad user_id: subscription_error', async () => {
  const name = unique('presence-big-');
  const raw = res.raw(node, { key: small.key });
  await raw.established();
  const tryData = async (data) => raw.subscribe(name, h.channelAuth(small, raw.socketId, name, data), data)
    .then((f) => f, (e) => e.frame);
  const big = await tryData(JSON.stringify({ user_id: 'big', user_info: { blob: 'b'.repeat(300) } }));
  assert.equal(big.event, 'pusher:subscription_error');
  const noId = await tryData(JSON.stringify({ user_info: {} }));
  assert.equal(noId.event, 'pusher:subscription_error');
  const longId = await tryData(JSON.stringify({ user_id: 'u'.repeat(129) }));
  assert.equal(longId.event, 'pusher:subscription_error');
  const notJson = await tryData('{not json');
  assert.equal(notJson.event, 'pusher:subscription_error');
  const ok = await tryData(JSON.stringify({ user_id: 'fits' }));
  assert.equal(ok.event, 'pusher_internal:subscription_succeeded');
});
