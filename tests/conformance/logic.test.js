'use strict';
// App logic end to end: the `starling_examples` binary (the Starling library
// plus the example logic actors of examples/) with real pusher-js clients.
// A subscription gate refuses non-VIP users with pusher:subscription_error;
// a chat filter rewrites and drops client events and acks the sender; a
// ticker publishes from a timer. Then the chat filter beside one channel's
// owner is crashed 100 times through /faults/crash while client events and
// HTTP publishes flow and another subscriber must get every one of them; a
// ticker crashed past its restart limit is marked failed in /topology and
// /metrics while the app serves on.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./support/node');
const f = require('./support/faults');

const EXAMPLES_BIN = process.env.STARLING_EXAMPLES_BIN
  || path.resolve(__dirname, '../../../build/examples/starling_examples');
const CRASHES = 100;

const res = h.resources();
let node;
let app;
// Only vip_gate, on public channels: the leak test counts its owners.
let gated;

before(async () => {
  assert.ok(fs.existsSync(EXAMPLES_BIN), `starling_examples binary at ${EXAMPLES_BIN}`);
  app = h.makeApp({
    enable_client_messages: true,
    limits: { client_events_per_second: 200 },
    logic: [
      // Crashed 100 times below: a generous intensity, a short back-off.
      { actor: 'chat_filter', channels: 'private-chat-*',
        max_restarts: 1000, restart_window_s: 10, max_backoff_ms: 20 },
      { actor: 'vip_gate', channels: 'private-vip-*', timeout_ms: 500 },
      // Crashed past their limit below: closed (the default) and pass.
      { actor: 'vip_gate', channels: 'private-closed-*', max_restarts: 0 },
      { actor: 'vip_gate', channels: 'private-open-*', max_restarts: 0, on_unavailable: 'pass' },
      // Crashed past its limit below.
      { actor: 'ticker', channels: 'ticker-*', max_restarts: 2, max_backoff_ms: 20 },
    ],
  });
  gated = h.makeApp({ logic: [{ actor: 'vip_gate', channels: 'vip-*' }] });
  node = await res.node({ admin: { fault_injection: true }, apps: [app, gated] }, { bin: EXAMPLES_BIN });
});
after(() => res.cleanup());

let counter = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++counter}`;

/** A connected pusher-js client signed in as `userId` (when given). */
async function client(userId) {
  const c = res.client(node, app, userId ? { userData: { id: userId } } : {});
  await h.connected(c);
  if (userId) {
    const done = h.waitFor(c.connection, 'message', 3000, (m) => m.event === 'pusher:signin_success');
    c.signin();
    await done;
  }
  return c;
}

async function healthy() {
  assert.ok(node.alive(), `the node process is alive\n${node.stderr().slice(-2000)}`);
  const r = await f.admin(node, '/health');
  assert.equal(r.status, 200);
}

function logicEntry(topo, actor, channels) {
  const a = topo.apps.find((x) => x.id === app.id);
  assert.ok(a && Array.isArray(a.logic), `app ${app.id} in /topology with logic: ${JSON.stringify(topo)}`);
  return a.logic.find((l) => l.actor === actor && l.channels === channels);
}

const metricKey = (name, actor, channels) =>
  `${name}{app="${app.id}",actor="${actor}",channels="${channels}"}`;

test('the gate refuses non-VIP subscriptions with subscription_error', async () => {
  const channel = unique('private-vip-');
  for (const who of [undefined, 'bob']) {
    const c = await client(who);
    await assert.rejects(h.subscribe(c, channel), (err) => {
      assert.equal(err.data.type, 'AuthError');
      assert.equal(err.data.status, 403);
      assert.match(err.data.error, /VIP members only/);
      return true;
    });
  }
  const vip = await client('vip-ann');
  await h.subscribe(vip, channel);
});

test('1,000 refused subscriptions leave no owner or logic instance behind', async () => {
  const CONNECTIONS = 10;
  const PER_CONNECTION = 100;
  const clients = [];
  for (let c = 0; c < CONNECTIONS; ++c) {
    const raw = h.rawClient(node, { key: gated.key });
    clients.push(raw);
    await raw.established();
  }
  clients.forEach((raw, c) => {
    for (let i = 0; i < PER_CONNECTION; ++i)
      raw.send({ event: 'pusher:subscribe', data: { channel: `vip-${process.pid}-${c}-${i}` } });
  });
  const refusals = (raw) => raw.frames.filter((x) => x.event === 'pusher:subscription_error');
  await h.waitFor(() => clients.every((raw) => refusals(raw).length >= PER_CONNECTION), 20000,
    `${CONNECTIONS * PER_CONNECTION} refusals`);
  for (const raw of clients)
    for (const e of refusals(raw)) assert.equal(e.parsed.status, 403);
  // Abandoned too: half the connections go away.
  await Promise.all(clients.slice(0, CONNECTIONS / 2).map((raw) => raw.close()));
  const owners = `starling_app_owners{app="${gated.id}"}`;
  const instances = `starling_logic_instances{app="${gated.id}",actor="vip_gate",channels="vip-*"}`;
  const channels = `starling_app_channels{app="${gated.id}"}`;
  const m = await f.poll(async () => {
    const x = await f.metrics(node);
    return x[owners] === 0 && x[instances] === 0 && x[channels] === 0 ? x : null;
  }, 10000, 'owners, logic instances and channels of refused subscriptions end');
  assert.equal(m[owners], 0);
  await Promise.all(clients.map((raw) => raw.close()));
  await healthy();
});

test('client events are rewritten or dropped and the sender gets an ack', async () => {
  const channel = unique('private-chat-');
  const alice = await client();
  const bob = await client();
  const chA = await h.subscribe(alice, channel);
  const chB = await h.subscribe(bob, channel);
  const logB = h.recordChannel(chB);

  let ack = h.nextEvent(chA, 'logic-ack');
  let got = h.nextEvent(chB, 'client-message');
  chA.trigger('client-message', { text: 'what the Heck is this' });
  assert.deepEqual((await got).data, { text: 'what the **** is this' });
  assert.deepEqual((await ack).data, { verdict: 'rewritten', replaced: 1 });

  ack = h.nextEvent(chA, 'logic-ack');
  chA.trigger('client-message', { text: 'buy spam now' });
  assert.deepEqual((await ack).data, { verdict: 'dropped', replaced: 0 });

  ack = h.nextEvent(chA, 'logic-ack');
  got = h.nextEvent(chB, 'client-message');
  chA.trigger('client-message', { text: 'hello' });
  assert.deepEqual((await got).data, { text: 'hello' });
  assert.deepEqual((await ack).data, { verdict: 'passed', replaced: 0 });
  // The dropped one never reached bob; nothing reached bob twice.
  const texts = logB.filter((e) => e.event === 'client-message').map((e) => e.data.text);
  assert.deepEqual(texts, ['what the **** is this', 'hello']);
  assert.equal(logB.filter((e) => e.event === 'logic-ack').length, 0, 'acks go to the sender only');
});

test('the ticker publishes from its timer while the channel is subscribed', async () => {
  const c = await client();
  const channel = unique('ticker-');
  const ch = await h.subscribe(c, channel);
  const log = h.recordChannel(ch);
  await h.waitFor(() => log.filter((e) => e.event === 'tick').length >= 3, 3000, 'three ticks');
  const seqs = log.filter((e) => e.event === 'tick').map((e) => e.data.seq);
  assert.deepEqual(seqs.slice(0, 3), [1, 2, 3]);
});

test(`${CRASHES} crashes of a chat filter under traffic lose no event`, async () => {
  const channel = unique('private-chat-load-');
  const alice = await client();
  const bob = await client();
  const chA = await h.subscribe(alice, channel);
  const chB = await h.subscribe(bob, channel);
  const logB = h.recordChannel(chB);
  const restartsBefore = (await f.metrics(node))[metricKey('starling_logic_restarts_total', 'chat_filter', 'private-chat-*')] || 0;

  // Traffic: client events from alice and HTTP publishes, every 20 ms.
  const sent = [];
  let sending = true;
  const sender = (async () => {
    for (let n = 1; sending; ++n) {
      // Every one needs the filter: one passing unfiltered would show.
      if (chA.trigger('client-message', { text: `darn ${n}`, n })) sent.push(n);
      await f.sleep(20);
    }
  })();
  const publisher = new f.Publisher(node, [channel], { app, intervalMs: 20 }).start();

  // Each crash needs a running instance: while the previous one restarts
  // the endpoint answers 503, and we ask again.
  const target = `chat_filter/${channel}`;
  for (let i = 0; i < CRASHES; ++i) {
    await f.poll(async () => (await f.crash(node, { kind: 'logic', name: target })).status === 200,
      3000, `crash ${i + 1} of ${target}`);
  }
  await f.sleep(100);
  sending = false;
  await sender;
  await publisher.stop();

  await h.waitFor(() => {
    const n = logB.filter((e) => e.event === 'client-message').length;
    return n >= sent.length;
  }, 5000, `bob got all ${sent.length} client events`);
  await h.waitFor(() => f.logSeqs(logB).length >= publisher.published.length, 5000,
    `bob got all ${publisher.published.length} published events`);
  const got = logB.filter((e) => e.event === 'client-message').map((e) => e.data.n);
  assert.deepEqual(got, sent, 'every client event arrived once, in order');
  const unfiltered = logB.filter((e) => e.event === 'client-message' && e.data.text !== `**** ${e.data.n}`);
  assert.deepEqual(unfiltered, [], 'fail closed: no event passed the restarting filter unfiltered');
  const diff = f.seqDiff(publisher.published, f.logSeqs(logB));
  assert.ok(diff.ok, f.describeDiff('bob (HTTP publishes)', diff));
  assert.deepEqual(publisher.failures, []);
  assert.ok(sent.length > 20, `traffic flowed during the crashes (${sent.length} client events)`);

  await healthy();
  const m = await f.metrics(node);
  const restarts = m[metricKey('starling_logic_restarts_total', 'chat_filter', 'private-chat-*')];
  assert.ok(restarts - restartsBefore >= CRASHES, `restarts counted: ${restarts - restartsBefore}`);
  assert.equal(m[metricKey('starling_logic_failed', 'chat_filter', 'private-chat-*')], 0);
  const entry = logicEntry(await f.topology(node), 'chat_filter', 'private-chat-*');
  assert.equal(entry.status, 'running');
  // The restarted filter is at work again.
  const got2 = h.nextEvent(chB, 'client-message', 3000, (d) => d.n === 0);
  chA.trigger('client-message', { text: 'darn', n: 0 });
  assert.equal((await got2).data.text, '****');
});

test('a logic actor crashed past its restart limit is marked failed and the app serves on', async () => {
  const channel = unique('ticker-fail-');
  const c = await client();
  const ch = await h.subscribe(c, channel);
  const log = h.recordChannel(ch);
  await h.waitFor(() => log.some((e) => e.event === 'tick'), 3000, 'a tick');
  // max_restarts 2: the third crash is one too many.
  for (let i = 0; i < 3; ++i) {
    await f.poll(async () => (await f.crash(node, { kind: 'logic', name: `ticker/${channel}` })).status === 200,
      3000, `crash ${i + 1}`);
  }
  const entry = await f.poll(async () => {
    const e = logicEntry(await f.topology(node), 'ticker', 'ticker-*');
    return e.status === 'failed' && e.failed_on.includes(channel) ? e : null;
  }, 3000, 'ticker marked failed in /topology');
  assert.ok(entry.failed >= 1);
  const m = await f.metrics(node);
  assert.equal(m[metricKey('starling_logic_failed', 'ticker', 'ticker-*')], 1);
  // Nothing left to crash there.
  const r = await f.crash(node, { kind: 'logic', name: `ticker/${channel}` });
  assert.notEqual(r.status, 200);

  // No more ticks; the channel and the app serve on.
  await f.sleep(300);
  const ticks = log.filter((e) => e.event === 'tick').length;
  await f.sleep(500);
  assert.equal(log.filter((e) => e.event === 'tick').length, ticks, 'the failed ticker is gone');
  const sdk = h.serverSdk(node, app);
  const news = h.nextEvent(ch, 'news');
  await sdk.trigger(channel, 'news', { still: 'serving' });
  assert.deepEqual((await news).data, { still: 'serving' });
  const other = await client();
  const chat = unique('private-chat-');
  const chO = await h.subscribe(other, chat);
  const chC = await h.subscribe(c, chat);
  const got = h.nextEvent(chO, 'client-message');
  chC.trigger('client-message', { text: 'frak' });
  assert.deepEqual((await got).data, { text: '****' });
  await healthy();
});

test('a failed gate denies subscriptions (closed by default) unless its binding says pass', async () => {
  const vip = await client('vip-ann');
  const closed = unique('private-closed-');
  const open = unique('private-open-');
  await h.subscribe(vip, closed);
  await h.subscribe(vip, open);
  for (const channel of [closed, open])
    await f.poll(async () => (await f.crash(node, { kind: 'logic', name: `vip_gate/${channel}` })).status === 200,
      3000, `crash vip_gate/${channel}`);
  await f.poll(async () => {
    const topo = await f.topology(node);
    return logicEntry(topo, 'vip_gate', 'private-closed-*').failed_on.includes(closed)
      && logicEntry(topo, 'vip_gate', 'private-open-*').failed_on.includes(open);
  }, 3000, 'both gates marked failed');
  // Even a VIP: nobody can say yes.
  const other = await client('vip-bob');
  await assert.rejects(h.subscribe(other, closed), (err) => {
    assert.equal(err.data.status, 503);
    assert.match(err.data.error, /vip_gate is unavailable/);
    return true;
  });
  // on_unavailable "pass": anyone gets in.
  const anon = await client();
  await h.subscribe(anon, open);
  const entry = logicEntry(await f.topology(node), 'vip_gate', 'private-closed-*');
  assert.equal(entry.on_unavailable, 'closed');
  assert.equal(logicEntry(await f.topology(node), 'vip_gate', 'private-open-*').on_unavailable, 'pass');
  const m = await f.metrics(node);
  assert.ok(m[metricKey('starling_logic_unavailable_total', 'vip_gate', 'private-closed-*')] >= 1);
  assert.ok(m[metricKey('starling_logic_unavailable_total', 'vip_gate', 'private-open-*')] >= 1);
  assert.equal(m[metricKey('starling_logic_failed', 'vip_gate', 'private-closed-*')], 1);
  await healthy();
});
