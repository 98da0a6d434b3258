'use strict';
// The HTTP API publish hook and the signin hook end to end: the
// `starling_examples` binary (publish_filter, signin_gate, vip_gate) with the
// `pusher` SDK and pusher-js. A filtered publish is delivered, dropped (403,
// nobody gets it) or rewritten; a batch with one dropped event is 403; a
// filter that failed past its restart limit makes publishes 503 (fail
// closed) unless its binding says "pass"; a filter crashed under traffic is
// waited for; a banned signin gets 4009; a binding without these hooks is
// never asked (its hook call counter stays put).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./support/node');
const f = require('./support/faults');

const EXAMPLES_BIN = process.env.STARLING_EXAMPLES_BIN
  || path.resolve(__dirname, '../../../build/examples/starling_examples');

const res = h.resources();
let node;
let app;

before(async () => {
  assert.ok(fs.existsSync(EXAMPLES_BIN), `starling_examples binary at ${EXAMPLES_BIN}`);
  app = h.makeApp({
    logic: [
      { actor: 'publish_filter', channels: 'news-*', max_backoff_ms: 20 },
      { actor: 'publish_filter', channels: 'closed-*', max_restarts: 0 },
      { actor: 'publish_filter', channels: 'open-*', max_restarts: 0, on_unavailable: 'pass' },
      { actor: 'vip_gate', channels: 'private-vip-*' },
      { actor: 'signin_gate' },
    ],
  });
  node = await res.node({ admin: { fault_injection: true }, apps: [app] }, { bin: EXAMPLES_BIN });
});
after(() => res.cleanup());

let counter = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++counter}`;

async function subscriber(channel, userId) {
  const c = res.client(node, app, userId ? { userData: { id: userId } } : {});
  await h.connected(c);
  if (userId) {
    const done = h.waitFor(c.connection, 'message', 3000, (m) => m.event === 'pusher:signin_success');
    c.signin();
    await done;
  }
  const ch = await h.subscribe(c, channel);
  return { client: c, channel: ch, log: h.recordChannel(ch) };
}

/** Publishes through the `pusher` SDK; resolves {status, body}. */
function trigger(channel, event, data) {
  return h.serverSdk(node, app).trigger(channel, event, data).then(
    (r) => ({ status: r.status, body: '' }),
    (err) => {
      if (err.status === undefined) throw err;
      return { status: err.status, body: err.body };
    });
}

const calls = async (actor, channels) =>
  (await f.metrics(node))[`starling_logic_hook_calls_total{app="${app.id}",actor="${actor}",channels="${channels}"}`] || 0;

test('an HTTP publish is delivered, dropped with 403 or rewritten', async () => {
  const channel = unique('news-');
  const s = await subscriber(channel);
  assert.equal((await trigger(channel, 'hello', { text: 'hi' })).status, 200);
  const dropped = await trigger(channel, 'hello', { text: 'buy spam' });
  assert.equal(dropped.status, 403);
  assert.match(dropped.body, /refused by app logic: no spam on news-/);
  let got = h.nextEvent(s.channel, 'message');
  assert.equal((await trigger(channel, 'shout', { text: 'quiet' })).status, 200);
  assert.deepEqual((await got).data, { TEXT: 'QUIET' });
  // Order is kept, and the dropped one never arrives.
  const names = s.log.filter((e) => !e.event.startsWith('pusher')).map((e) => [e.event, e.data]);
  assert.deepEqual(names, [['hello', { text: 'hi' }], ['message', { TEXT: 'QUIET' }]]);

  // A batch with one dropped event is not a success; the others go out.
  got = h.nextEvent(s.channel, 'after');
  const batch = await h.serverSdk(node, app).triggerBatch([
    { channel, name: 'fine', data: 'ok' },
    { channel, name: 'bad', data: 'spam' },
  ]).then((r) => r.status, (err) => err.status);
  assert.equal(batch, 403);
  assert.equal((await trigger(channel, 'after', 'x')).status, 200);
  await got;
  assert.deepEqual(s.log.filter((e) => ['fine', 'bad'].includes(e.event)).map((e) => e.event), ['fine']);
});

test('a publish filter past its restart limit fails closed (503) unless bound with pass', async () => {
  for (const [prefix, status] of [['closed-', 503], ['open-', 200]]) {
    const channel = unique(prefix);
    const s = await subscriber(channel);
    const r = await f.crash(node, { kind: 'logic', name: `publish_filter/${channel}` });
    assert.equal(r.status, 200, r.body);
    await f.poll(async () => {
      const t = await f.appTopology(node, app.id);
      return t.logic.find((l) => l.channels === `${prefix}*`).failed_on.includes(channel);
    }, 5000, `${channel} marked failed`);
    const got = await trigger(channel, 'hello', 'x');
    assert.equal(got.status, status, got.body);
    if (status === 503) {
      assert.match(got.body, /publish_filter is unavailable/);
      await f.sleep(200);
      assert.equal(s.log.filter((e) => e.event === 'hello').length, 0, 'a refused publish is not delivered');
    } else {
      await h.waitFor(() => s.log.some((e) => e.event === 'hello'), 3000, 'the passed publish');
    }
  }
});

test('a publish filter crashed under traffic is waited for: every publish is decided by it', async () => {
  const channel = unique('news-');
  const s = await subscriber(channel);
  const sdk = h.serverSdk(node, app);
  // One publish after another (concurrent HTTP requests have no order), a
  // crash fired just before every fourth one.
  const crashes = [];
  const statuses = [];
  for (let i = 0; i < 20; ++i) {
    if (i % 4 === 0)
      crashes.push(f.crash(node, { kind: 'logic', name: `publish_filter/${channel}` }));
    statuses.push(await sdk.trigger(channel, 'shout', { n: `n${i}` }).then((r) => r.status, (err) => err.status));
  }
  const crashed = (await Promise.all(crashes)).filter((r) => r.status === 200).length;
  assert.ok(crashed >= 1, 'at least one crash hit a running filter');
  assert.deepEqual(statuses, Array(20).fill(200));
  await h.waitFor(() => s.log.filter((e) => e.event === 'message').length === 20, 5000, '20 rewritten events');
  // Nothing went out unfiltered (a `shout` would have), in publish order.
  assert.equal(s.log.filter((e) => e.event === 'shout').length, 0);
  assert.deepEqual(s.log.filter((e) => e.event === 'message').map((e) => e.data.N),
    Array.from({ length: 20 }, (_, i) => `N${i}`));
});

test('a refused signin gets pusher:error 4009 and close 4009; others sign in', async () => {
  const raw = h.rawClient(node, { key: app.key });
  await raw.established();
  const socketId = raw.socketId;
  const userData = JSON.stringify({ id: 'banned-eve' });
  const auth = `${app.key}:${h.hmac(app.secret, `${socketId}::user::${userData}`)}`;
  raw.send({ event: 'pusher:signin', data: { auth, user_data: userData } });
  const err = await raw.waitFrame((x) => x.event === 'pusher:error');
  assert.equal(err.parsed.code, 4009);
  assert.match(err.parsed.message, /banned-eve is banned/);
  assert.equal((await raw.waitClose()).code, 4009);
  // pusher-js signs in as a user the gate lets through.
  const ok = await subscriber(unique('news-'), 'ann');
  assert.equal(ok.client.connection.state, 'connected');
});

test('a binding without the publish hook is never asked about publishes', async () => {
  const channel = unique('private-vip-');
  await subscriber(channel, 'vip-ann');
  const before = await calls('vip_gate', 'private-vip-*');
  const filterBefore = await calls('publish_filter', 'news-*');
  for (let i = 0; i < 10; ++i)
    assert.equal((await trigger(channel, 'hello', { i })).status, 200);
  assert.equal(await calls('vip_gate', 'private-vip-*'), before);
  assert.equal(await calls('publish_filter', 'news-*'), filterBefore);
});
