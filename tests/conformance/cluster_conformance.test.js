// Single-node behaviours with the clients spread over two nodes of one
// cluster: presence counts and member events, cache channels, the
// subscription count, and webhooks sent once per occurrence although the
// subscribers live on both nodes.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const h = require('./support/node');
const { freePort, startNats, clusterConfig } = require('./support/cluster');

const TEST_TIMEOUT = { timeout: 45000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every HTTP API call is bounded: an unanswered request fails, never hangs.
const sdkOf = (node, app = node.app) => h.serverSdk(node, app, { timeout: 5000 });

async function viewWhere(node, pred, ms) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology`, { signal: AbortSignal.timeout(3000) });
    last = (await r.json()).cluster;
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`view of ${node.port} never matched: ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

/** nats-server plus two nodes serving `app`; everything stops after the test. */
async function twoNodes(t, app) {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const [a, b] = await Promise.all(['v-a', 'v-b'].map((id) =>
    res.node({ ...clusterConfig(natsPort, id), apps: [app] })));
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  return { res, a, b };
}

/** Resolves with the members object of pusher:subscription_succeeded. */
function presenceJoin(client, name, timeoutMs = 5000) {
  const ch = client.subscribe(name);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no subscription_succeeded on ${name}`)), timeoutMs);
    ch.bind('pusher:subscription_succeeded', (members) => { clearTimeout(timer); resolve({ ch, members }); });
    ch.bind('pusher:subscription_error', (e) => { clearTimeout(timer); reject(new Error(JSON.stringify(e))); });
  });
}

const ids = (members) => { const out = []; members.each((m) => out.push(m.id)); return out.sort(); };

test('presence over two nodes: counts, rosters, member_added/removed once per user', TEST_TIMEOUT, async (t) => {
  const app = h.makeApp();
  const { res, a, b } = await twoNodes(t, app);
  const user = (id) => ({ user: { user_id: id, user_info: { name: id.toUpperCase() } } });
  const room = 'presence-spread';
  const alice = res.client(a, app, user('alice'));
  const bob = res.client(b, app, user('bob'));
  const carol = res.client(a, app, user('carol'));

  const pa = await presenceJoin(alice, room);
  assert.equal(pa.members.count, 1);
  const log = { alice: h.recordChannel(pa.ch) };
  const bobAdded = h.nextEvent(pa.ch, 'pusher:member_added', 5000);
  const pb = await presenceJoin(bob, room);
  log.bob = h.recordChannel(pb.ch);
  assert.equal(pb.members.count, 2);
  assert.deepEqual(ids(pb.members), ['alice', 'bob']);
  assert.equal(pb.members.me.id, 'bob');
  assert.deepEqual(pb.members.get('alice').info, { name: 'ALICE' }, 'user_info of a member on the other node');
  assert.deepEqual((await bobAdded).data, { id: 'bob', info: { name: 'BOB' } });

  const carolAdded = [pa, pb].map((p) => h.nextEvent(p.ch, 'pusher:member_added', 5000));
  const pc = await presenceJoin(carol, room);
  assert.equal(pc.members.count, 3);
  assert.deepEqual(ids(pc.members), ['alice', 'bob', 'carol']);
  for (const got of await Promise.all(carolAdded)) assert.equal(got.data.id, 'carol');

  // bob opens a second connection, on the other node: no new member.
  const bob2 = res.client(a, app, user('bob'));
  const pb2 = await presenceJoin(bob2, room);
  assert.equal(pb2.members.count, 3, 'a user counts once whatever node its connections are on');
  for (const via of [a, b]) {
    const r = await sdkOf(via, app).get({ path: `/channels/${room}/users` });
    assert.deepEqual((await r.json()).users.map((u) => u.id).sort(), ['alice', 'bob', 'carol']);
    const info = await sdkOf(via, app).get({ path: `/channels/${room}`, params: { info: 'user_count' } });
    assert.equal((await info.json()).user_count, 3);
  }

  // bob's connection on B leaves: he is still there through A.
  await h.closeClient(bob);
  // carol leaves: everyone left sees member_removed for carol only.
  const carolGone = [pa, pb2].map((p) => h.nextEvent(p.ch, 'pusher:member_removed', 5000));
  await h.closeClient(carol);
  for (const got of await Promise.all(carolGone)) assert.equal(got.data.id, 'carol');
  // bob's last connection leaves: now he is removed.
  const bobGone = h.nextEvent(pa.ch, 'pusher:member_removed', 5000);
  await h.closeClient(bob2);
  assert.equal((await bobGone).data.id, 'bob');
  await sleep(300);
  const memberEvents = log.alice.filter((e) => e.event.startsWith('pusher:member_'))
    .map((e) => `${e.event.slice(14)}:${e.data.id}`);
  assert.deepEqual(memberEvents, ['added:bob', 'added:carol', 'removed:carol', 'removed:bob'],
    'alice saw each member event exactly once');
  assert.equal(pa.ch.members.count, 1);
});

test('cache channels over two nodes: the last event reaches a later subscriber on the other node', TEST_TIMEOUT, async (t) => {
  const app = h.makeApp();
  const { res, a, b } = await twoNodes(t, app);
  for (const [pub, sub, name] of [[a, b, 'cache-ab'], [b, a, 'cache-ba']]) {
    // Published with nobody subscribed anywhere: only the cache keeps it.
    await sdkOf(pub, app).trigger(name, 'snap', { from: pub.port, n: 1 });
    await sdkOf(pub, app).trigger(name, 'snap', { from: pub.port, n: 2 });
    const raw = res.raw(sub);
    await raw.established();
    const from = raw.frames.length;
    await raw.subscribe(name, '', undefined, 5000);
    const f = await raw.waitFrame((x) => x.channel === name && x.event !== 'pusher_internal:subscription_succeeded', 5000, { from });
    assert.equal(f.event, 'snap', `cached event on ${name}: ${JSON.stringify(f)}`);
    assert.deepEqual(f.parsed, { from: pub.port, n: 2 }, 'the last event is cached');
  }
  // Never published: cache_miss, wherever the subscriber is.
  const raw = res.raw(b);
  await raw.established();
  await raw.subscribe('cache-empty', '', undefined, 5000);
  const miss = await raw.waitFrame((x) => x.channel === 'cache-empty' && x.event !== 'pusher_internal:subscription_succeeded', 5000);
  assert.equal(miss.event, 'pusher:cache_miss');
  // A live subscriber on A and a new one on B see the same last event.
  const live = res.raw(a);
  await live.established();
  await live.subscribe('cache-empty', '', undefined, 5000);
  const got = live.waitFrame((x) => x.event === 'snap', 5000);
  await sdkOf(b, app).trigger('cache-empty', 'snap', { n: 3 });
  assert.deepEqual((await got).parsed, { n: 3 });
  const late = res.raw(b);
  await late.established();
  await late.subscribe('cache-empty', '', undefined, 5000);
  const cached = await late.waitFrame((x) => x.channel === 'cache-empty' && x.event !== 'pusher_internal:subscription_succeeded', 5000);
  assert.equal(cached.event, 'snap');
  assert.deepEqual(cached.parsed, { n: 3 });
});

// The node whose topology lists `name` among its app's owners.
async function ownerOf(nodes, name) {
  for (const n of nodes) {
    const r = await fetch(`http://127.0.0.1:${n.adminPort}/topology`, { signal: AbortSignal.timeout(3000) });
    if ((await r.json()).apps.some((x) => (x.owners || []).includes(name))) return n;
  }
  return null;
}

// Every subscriber, wherever it is, gets the count after each change, its
// own subscribe included (Pusher protocol §2.9), as on a single node. Most
// joins happen on the node that does not own the channel.
test('subscription_count counts the connections of both nodes', TEST_TIMEOUT, async (t) => {
  const app = h.makeApp({ enable_subscription_count: true });
  const { res, a, b } = await twoNodes(t, app);
  const name = 'counted';
  const subs = [];
  const join = async (node, label) => {
    const c = res.client(node, app);
    const ch = c.subscribe(name);
    const counts = [];
    ch.bind('pusher:subscription_count', (d) => counts.push(d.subscription_count));
    await h.subscribed(ch, 5000);
    const s = { c, ch, counts, label };
    subs.push(s);
    return s;
  };
  const show = (xs) => xs.map((s) => `${s.label}=[${s.counts}]`).join(' ');
  const allSee = (xs, n, what) => h.waitFor(() => xs.every((s) => s.counts[s.counts.length - 1] === n), 3000)
    .catch((err) => { err.message = `${what}: every subscriber should see ${n}; seen ${show(subs)}`; throw err; });
  await join(a, 'A1');
  const owner = await ownerOf([a, b], name);
  assert.ok(owner, `an owner of ${name}`);
  const [near, far] = owner === a ? [a, b] : [b, a];
  const label = (n) => (n === a ? 'A' : 'B');
  t.diagnostic(`owner of ${name}: ${label(owner)}`);
  await allSee(subs, 1, 'A1 joined');
  // Background traffic between the nodes while the joins go on: triggers
  // through the far node to another channel the near node owns (subscribed
  // on the near node only, so its events stay off NATS).
  const busy = res.client(near, app);
  let other = null;
  for (let k = 0; k < 32 && !other; ++k) {
    await h.subscribe(busy, `busy-${k}`, 5000);
    if ((await ownerOf([a, b], `busy-${k}`)) === near) other = `busy-${k}`;
  }
  assert.ok(other, 'a second channel owned by the near node');
  let stop = false;
  const farSdk = sdkOf(far, app);
  const pump = Promise.all([...Array(8)].map(async () => {
    while (!stop) await farSdk.trigger(other, 'tick', {});
  }));
  try {
    const plan = [far, near, ...Array(30).fill(far)];
    for (let k = 0; k < plan.length; ++k) {
      const who = `${label(plan[k])}${k + 2}`;
      await join(plan[k], who);
      await allSee(subs, subs.length, `${who} joined (${plan[k] === far ? 'not ' : ''}on the owner's node)`);
    }
  } finally {
    stop = true;
    await pump;
  }
  const httpCount = async (via) => {
    const r = await sdkOf(via, app).get({ path: `/channels/${name}`, params: { info: 'subscription_count' } });
    return (await r.json()).subscription_count;
  };
  const n = subs.length;
  assert.deepEqual([await httpCount(a), await httpCount(b)], [n, n]);
  const leaver = subs.find((s) => s.label.startsWith(label(far)) && s !== subs[subs.length - 1]) || subs[1];
  await h.closeClient(leaver.c);
  const rest = subs.filter((s) => s !== leaver);
  await allSee(rest, n - 1, `${leaver.label} left`);
  assert.deepEqual([await httpCount(a), await httpCount(b)], [n - 1, n - 1]);
});

// -- webhooks ----------------------------------------------------------------------

async function startReceiver() {
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        for (const ev of JSON.parse(Buffer.concat(chunks).toString('utf8')).events || [])
          events.push({ ...ev, at: Date.now() });
      } catch (_) { /* counted as nothing */ }
      res.writeHead(200);
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    events,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

test('webhooks go out once per occurrence although subscribers are on both nodes', TEST_TIMEOUT, async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const app = h.makeApp({ webhooks: [{ url: receiver.url }] });
  const { res, a, b } = await twoNodes(t, app);
  const user = (id) => ({ user: { user_id: id, user_info: {} } });
  const room = 'presence-hooked';
  const pub = 'public-hooked';
  const clients = [
    res.client(a, app, user('alice')),
    res.client(b, app, user('bob')),
    res.client(b, app, user('alice')), // alice again, on the other node
    res.client(a, app, user('bob')), // bob again, on the other node
  ];
  for (const c of clients) {
    await h.subscribe(c, room, 5000);
    await h.subscribe(c, pub, 5000);
  }
  const key = (e) => [e.name, e.channel, e.user_id].filter(Boolean).join(' ');
  const count = () => {
    const m = {};
    for (const e of receiver.events) m[key(e)] = (m[key(e)] || 0) + 1;
    return m;
  };
  const joined = {
    [`channel_occupied ${room}`]: 1,
    [`channel_occupied ${pub}`]: 1,
    [`member_added ${room} alice`]: 1,
    [`member_added ${room} bob`]: 1,
  };
  await h.waitFor(() => Object.keys(joined).every((k) => count()[k] >= 1), 5000, 'the join webhooks')
    .catch((err) => { err.message += ` (got ${JSON.stringify(count())})`; throw err; });
  await sleep(500); // a duplicate would come from the other node about now
  assert.deepEqual(count(), joined, 'each join webhook exactly once');

  for (const c of clients) await h.closeClient(c);
  const left = {
    ...joined,
    [`channel_vacated ${room}`]: 1,
    [`channel_vacated ${pub}`]: 1,
    [`member_removed ${room} alice`]: 1,
    [`member_removed ${room} bob`]: 1,
  };
  // member_removed and channel_vacated are held ~3 s (Pusher protocol §7.3).
  await h.waitFor(() => Object.keys(left).every((k) => count()[k] >= 1), 8000, 'the leave webhooks')
    .catch((err) => { err.message += ` (got ${JSON.stringify(count())})`; throw err; });
  await sleep(500);
  assert.deepEqual(count(), left, 'each leave webhook exactly once');
});
