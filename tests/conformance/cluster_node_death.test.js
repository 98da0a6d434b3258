// kill -9 of one of three nodes under load. Subscribers on the surviving
// nodes keep receiving (what is lost around the death is counted and
// reported, and bounded to the death window), presence members that lived
// on the dead node leave once (a user still connected elsewhere stays),
// counts and occupancy come out right, and no webhook goes out twice.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const h = require('./support/node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./support/cluster');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every HTTP API call is bounded: an unanswered request fails, never hangs.
const sdkOf = (node, app) => h.serverSdk(node, app, { timeout: 5000 });

const IDS = ['x-a', 'x-b', 'x-c'];
const APP_ID = 'death-app';
const PUBLIC_PER_NODE = 4; // 12 public channels
const ROUNDS_BEFORE_KILL = 40;
const PUBLISH_AFTER_CONVERGENCE_MS = 1000;
const MEMBER_REMOVED_MS = 6500; // client member_removed after the kill
const WEBHOOK_REMOVED_MS = 11000; // ... plus the 3 s webhook hold
const SETTLE_MS = 3500; // a duplicate webhook would arrive by then
const LOSS_WINDOW_AFTER_CONVERGENCE_MS = 2000;

// -- rendezvous ring (bridge/shard_ring.cpp), only to pick channel names
// that cover both owners that die and owners that survive; /topology
// reports the real owners and the test classifies channels by those.
const MASK = (1n << 64n) - 1n;
const FNV_BASIS = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
function fnvField(hash, text) {
  const bytes = Buffer.from(text, 'utf8');
  const len = BigInt(bytes.length);
  for (let i = 0n; i < 8n; i += 1n) hash = ((hash ^ ((len >> (8n * i)) & 0xffn)) * FNV_PRIME) & MASK;
  for (const b of bytes) hash = ((hash ^ BigInt(b)) * FNV_PRIME) & MASK;
  return hash;
}
function fmix64(k) {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK;
  k ^= k >> 33n;
  return k;
}
function ringOwner(nodes, appId, channel) {
  const key = fmix64(fnvField(fnvField(FNV_BASIS, appId), channel));
  let best = null;
  let bestWeight = -1n;
  for (const node of [...nodes].sort()) {
    const w = fmix64(fmix64(fnvField(FNV_BASIS, node)) ^ key);
    if (w > bestWeight) { best = node; bestWeight = w; }
  }
  return best;
}

function pickNames() {
  const publics = [];
  const per = Object.fromEntries(IDS.map((id) => [id, 0]));
  for (let k = 0; publics.length < PUBLIC_PER_NODE * IDS.length && k < 10000; k += 1) {
    const name = `death-${k}`;
    const owner = ringOwner(IDS, APP_ID, name);
    if (per[owner] < PUBLIC_PER_NODE) { per[owner] += 1; publics.push(name); }
  }
  let dead = null;
  let live = null;
  for (let k = 0; (!dead || !live) && k < 10000; k += 1) {
    const name = `presence-death-${k}`;
    const owner = ringOwner(IDS, APP_ID, name);
    if (owner === 'x-c' && !dead) dead = name;
    if (owner !== 'x-c' && !live) live = name;
  }
  return { publics, presences: [dead, live] };
}

// -- webhook receiver --------------------------------------------------------

async function startReceiver() {
  const hooks = [];
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const hook = { at, headers: req.headers, rawBody, events: [] };
      try { hook.events = JSON.parse(rawBody).events || []; } catch (_) { /* counted as nothing */ }
      hooks.push(hook);
      for (const ev of hook.events) events.push({ ...ev, at });
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
    hooks,
    events,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const hookKey = (e) => [e.name, e.channel, e.user_id ?? '', e.subscription_count ?? ''].join('|');

function countBy(list, key) {
  const m = {};
  for (const x of list) m[key(x)] = (m[key(x)] || 0) + 1;
  return m;
}

async function topologyOf(node) {
  const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology`, { signal: AbortSignal.timeout(3000) });
  return r.json();
}

test('kill -9 of one of three nodes under load', { timeout: 60000 }, async (t) => {
  const started = Date.now();
  const receiver = await startReceiver();
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => {
    await res.cleanup();
    await nats.stop();
    await receiver.close();
  });

  const { publics, presences } = pickNames();
  const all = [...publics, ...presences];
  const app = h.makeApp({
    id: APP_ID,
    enable_subscription_count: true,
    webhooks: [{ url: receiver.url }],
  });
  const [a, b, c] = await Promise.all(IDS.map((id) =>
    res.node({ ...clusterConfig(natsPort, id), apps: [app] })));
  await Promise.all([a, b, c].map((n) => viewWhere(n, (v) => v.members.length === 3, 5000)));

  // -- subscribers: ua on a, ub on b, uc on c (each on every channel), and a
  // second connection of ub on c (presence only).
  const user = (id) => ({ user: { user_id: id, user_info: { name: id } } });
  const clients = {
    a: res.client(a, app, user('ua')),
    b: res.client(b, app, user('ub')),
    c: res.client(c, app, user('uc')),
    c2: res.client(c, app, user('ub')),
  };
  const logs = []; // survivors' public channels
  const presence = []; // survivors' presence channels
  for (const label of ['a', 'b', 'c']) {
    const client = clients[label];
    const chans = await Promise.all(all.map((name) => h.subscribe(client, name, 5000)));
    if (label === 'c') continue;
    chans.forEach((ch, i) => {
      const name = all[i];
      if (name.startsWith('presence-')) {
        const log = [];
        ch.bind('pusher:member_added', (m) => log.push(`added:${m.id}`));
        ch.bind('pusher:member_removed', (m) => log.push(`removed:${m.id}`));
        presence.push({ name, label, ch, log });
      } else {
        const l = { name, label, seen: [], max: -1, counts: [] };
        ch.bind('ev', (d) => { l.seen.push(d.n); l.max = Math.max(l.max, d.n); });
        ch.bind('pusher:subscription_count', (d) => l.counts.push(d.subscription_count));
        logs.push(l);
      }
    });
  }
  await Promise.all(presences.map((name) => h.subscribe(clients.c2, name, 5000)));
  await h.waitFor(() => presence.every((p) => p.ch.members.count === 3), 5000, 'every survivor sees ua, ub, uc');

  // Baseline webhooks: every channel occupied once, every member added once,
  // every public channel counted up to 3.
  const baseline = [
    ...all.map((ch) => `channel_occupied|${ch}||`),
    ...presences.flatMap((ch) => ['ua', 'ub', 'uc'].map((u) => `member_added|${ch}|${u}|`)),
    ...publics.map((ch) => `subscription_count|${ch}||3`),
  ];
  await h.waitFor(() => {
    const m = countBy(receiver.events, hookKey);
    return baseline.every((k) => m[k] >= 1);
  }, 5000, 'the join webhooks').catch((err) => {
    err.message += ` (got ${JSON.stringify(countBy(receiver.events, hookKey))})`;
    throw err;
  });

  // Owners as the nodes report them, before the kill.
  const owner = {};
  for (const n of [a, b, c]) {
    const topo = await topologyOf(n);
    for (const name of topo.apps[0].owners || []) if (all.includes(name)) owner[name] = topo.node;
  }
  const ownedByC = all.filter((n) => owner[n] === 'x-c');
  t.diagnostic(`owners before the kill: ${all.map((n) => `${n}@${owner[n]}`).join(' ')}`);
  const predicted = all.filter((n) => ringOwner(IDS, APP_ID, n) !== owner[n]);
  if (predicted.length) t.diagnostic(`ring prediction differs from /topology for ${predicted.join(',')}`);
  assert.ok(publics.some((n) => owner[n] === 'x-c'), 'x-c owns some public channels');
  assert.ok(publics.some((n) => owner[n] && owner[n] !== 'x-c'), 'survivors own some public channels');

  // -- publisher: one HTTP call per round for all 12 channels, through a and
  // b in turn, sequential.
  const rounds = []; // {n, via, start, end, ok, error}
  let stop = false;
  const sdks = [sdkOf(a, app), sdkOf(b, app)];
  const publisher = (async () => {
    for (let n = 0; !stop; n += 1) {
      const r = { n, via: n % 2 ? 'b' : 'a', start: Date.now() };
      rounds.push(r);
      try {
        await sdks[n % 2].trigger(publics, 'ev', { n });
        r.ok = true;
      } catch (err) {
        r.ok = false;
        r.error = String(err && (err.message || err));
      }
      r.end = Date.now();
      await sleep(15);
    }
  })();
  try {
    await h.waitFor(() => rounds.length > ROUNDS_BEFORE_KILL, 10000, `${ROUNDS_BEFORE_KILL} rounds`);

    // Everything up to this round had reached every survivor when c died.
    const prefix = (l) => { let k = 0; const s = new Set(l.seen); while (s.has(k)) k += 1; return k - 1; };
    const deliveredBeforeKill = Math.min(...logs.map(prefix));
    for (const p of presence) p.mark = p.log.length;
    const killAt = Date.now();
    const removed = presence.map((p) => h.nextEvent(p.ch, 'pusher:member_removed', MEMBER_REMOVED_MS, (m) => m.id === 'uc')
      .then(() => Date.now() - killAt));
    for (const p of removed) p.catch(() => {}); // awaited below
    const killRound = rounds.length - 1; // in flight at the kill
    process.kill(c.pid, 'SIGKILL');
    const exit = await Promise.race([c.exited, sleep(5000).then(() => null)]);
    assert.ok(exit && exit.signal === 'SIGKILL', `x-c died of SIGKILL: ${JSON.stringify(exit)}`);
    await Promise.all([a, b].map((n) => viewWhere(n, (v) => v.members.length === 2 && !v.members.includes('x-c'), 6000)));
    const convergedAt = Date.now();
    const convergedRound = rounds.length; // first round started after convergence
    await h.waitFor(() => Date.now() - convergedAt >= PUBLISH_AFTER_CONVERGENCE_MS
      && rounds.length >= convergedRound + 20, 15000, 'publishing after convergence');
    stop = true;
    await publisher;

    const published = rounds.filter((r) => r.ok);
    const lastRound = published[published.length - 1].n;
    const failed = rounds.filter((r) => !r.ok);
    t.diagnostic(`rounds: ${rounds.length} (${failed.length} triggers failed${failed.length ? `: ${failed.map((r) => `${r.n} ${r.error}`).join('; ')}` : ''});`
      + ` kill at round ${killRound} (all delivered up to ${deliveredBeforeKill}),`
      + ` views converged ${convergedAt - killAt} ms after the kill at round ${convergedRound}`);
    // The last round reaches every survivor (bounded; a miss is reported below).
    await h.waitFor(() => logs.every((l) => l.max >= lastRound), 5000, 'the last round everywhere').catch(() => {});

    // -- presence: uc leaves once on every survivor, ub stays.
    const latencies = await Promise.all(removed);
    t.diagnostic(`member_removed uc on the survivors after ${latencies.join(', ')} ms`);
    for (const p of presence)
      assert.deepEqual(Object.keys(p.ch.members.members).sort(), ['ua', 'ub'], `${p.name} on ${p.label}: roster`);
    for (const name of presences)
      for (const via of [a, b]) {
        const sdk = sdkOf(via, app);
        const users = await (await sdk.get({ path: `/channels/${name}/users` })).json();
        assert.deepEqual(users.users.map((u) => u.id).sort(), ['ua', 'ub'], `${name} users via ${via.port}`);
        const info = await (await sdk.get({ path: `/channels/${name}`, params: { info: 'user_count' } })).json();
        assert.equal(info.user_count, 2, `${name} user_count via ${via.port}`);
        assert.equal(info.occupied, true, `${name} occupied via ${via.port}`);
      }

    // -- counts and occupancy (bounded poll: HTTP has no push).
    const countsOf = async () => {
      const out = {};
      for (const via of [a, b])
        await Promise.all(publics.map(async (name) => {
          const r = await sdkOf(via, app).get({ path: `/channels/${name}`, params: { info: 'subscription_count' } });
          out[`${name} via ${via === a ? 'a' : 'b'}`] = (await r.json()).subscription_count;
        }));
      return out;
    };
    let counts;
    const countDeadline = Date.now() + 3000;
    for (;;) {
      counts = await countsOf();
      if (Object.values(counts).every((v) => v === 2) || Date.now() > countDeadline) break;
      await sleep(100);
    }
    assert.deepEqual(Object.entries(counts).filter(([, v]) => v !== 2), [],
      'subscription_count is 2 for every public channel via a and b');
    for (const via of [a, b]) {
      const r = await sdkOf(via, app).get({ path: '/channels' });
      const listed = Object.keys((await r.json()).channels).sort();
      assert.deepEqual(listed, [...all].sort(), `GET /channels via ${via === a ? 'a' : 'b'}: every channel occupied, nothing else`);
    }
    // Survivors are told the lower count too.
    await h.waitFor(() => logs.every((l) => l.counts.at(-1) === 2), 3000,
      'every survivor got pusher:subscription_count 2').catch(() => {});
    const lastCounts = countBy(logs, (l) => String(l.counts[l.counts.length - 1]));
    assert.deepEqual(lastCounts, { 2: logs.length },
      `last pusher:subscription_count seen by survivors: ${JSON.stringify(lastCounts)}`);

    // -- webhooks: uc removed once per presence channel, then a settle so a
    // duplicate from the other survivor would have arrived.
    const removedKeys = presences.map((ch) => `member_removed|${ch}|uc|`);
    await h.waitFor(() => {
      const m = countBy(receiver.events, hookKey);
      return removedKeys.every((k) => m[k] >= 1);
    }, Math.max(1000, killAt + WEBHOOK_REMOVED_MS - Date.now()), 'member_removed webhooks for uc').catch((err) => {
      err.message += ` (after the kill: ${JSON.stringify(receiver.events.filter((e) => e.at >= killAt))})`;
      throw err;
    });
    const firstRemoved = Math.max(...removedKeys.map((k) => receiver.events.find((e) => hookKey(e) === k).at));
    t.diagnostic(`member_removed webhooks ${firstRemoved - killAt} ms after the kill`);
    await sleep(Math.max(0, firstRemoved + SETTLE_MS - Date.now())); // asserting an absence

    const sdk = sdkOf(a, app);
    for (const hk of receiver.hooks)
      assert.equal(sdk.webhook({ headers: hk.headers, rawBody: hk.rawBody }).isValid(), true, `valid webhook ${hk.rawBody}`);
    const after = receiver.events.filter((e) => e.at >= killAt);
    t.diagnostic(`webhooks after the kill: ${JSON.stringify(after.map(({ at, ...e }) => ({ ...e, ms: at - killAt })))}`);
    // A count may legitimately come back to a value it had before the kill
    // (3 -> 2 after 1 -> 2 -> 3 while subscribing): compare within the window.
    const counted = countBy(receiver.events, hookKey);
    const dupsAfterKill = Object.entries(countBy(after, hookKey)).filter(([, n]) => n > 1);
    assert.deepEqual(dupsAfterKill, [], 'no webhook event duplicated in the death window');
    const dups = Object.entries(countBy(receiver.events.filter((e) => e.name !== 'subscription_count'), hookKey))
      .filter(([, n]) => n > 1);
    assert.deepEqual(dups, [], 'no webhook event but counts duplicated at all');
    for (const k of removedKeys) assert.equal(counted[k], 1, `${k} exactly once`);
    for (const ch of presences)
      for (const u of ['ua', 'ub'])
        assert.equal(counted[`member_removed|${ch}|${u}|`] || 0, 0, `no member_removed for ${u} on ${ch}`);
    assert.deepEqual(receiver.events.filter((e) => e.name === 'channel_vacated'), [], 'no channel_vacated: every channel still has subscribers');
    assert.deepEqual(after.filter((e) => e.name === 'channel_occupied' || e.name === 'member_added'), [],
      'no channel_occupied or member_added after the kill');
    for (const p of presence)
      assert.deepEqual(p.log.slice(p.mark), ['removed:uc'], `${p.name} on ${p.label}: member events since the kill`);

    // -- deliveries, checked last (stragglers had the settle to arrive).
    const startOf = new Map(rounds.map((r) => [r.n, r.start]));
    const windowEnd = convergedAt + LOSS_WINDOW_AFTER_CONVERGENCE_MS;
    let lost = 0;
    const lostPerChannel = [];
    const problems = [];
    const lostRounds = new Set();
    for (const l of logs) {
      const got = new Set(l.seen);
      const missing = published.filter((r) => !got.has(r.n)).map((r) => r.n);
      lost += missing.length;
      missing.forEach((n) => lostRounds.add(n));
      if (missing.length) lostPerChannel.push(`${l.name}@${owner[l.name]} on ${l.label}: ${missing.length} (${missing.join(',')})`);
      if (got.size !== l.seen.length) problems.push(`${l.name} on ${l.label}: duplicates`);
      const afterConv = missing.filter((n) => startOf.get(n) >= convergedAt);
      if (afterConv.length) problems.push(`${l.name} on ${l.label}: lost ${afterConv.join(',')} published after the views converged`);
      const outside = missing.filter((n) => n <= deliveredBeforeKill || startOf.get(n) > windowEnd);
      if (outside.length) problems.push(`${l.name} on ${l.label}: lost ${outside.join(',')} outside the death window`);
      if (missing.length && owner[l.name] !== 'x-c') problems.push(`${l.name} on ${l.label}: lost ${missing.length} although its owner ${owner[l.name]} lived`);
      // Increasing order outside the death window; the same order on a and b.
      const steady = l.seen.filter((n) => n <= deliveredBeforeKill || startOf.get(n) >= convergedAt);
      if (steady.some((n, i) => i > 0 && n <= steady[i - 1])) problems.push(`${l.name} on ${l.label}: out of order: ${l.seen.join(',')}`);
      const inWindow = l.seen.filter((n) => n > deliveredBeforeKill && startOf.get(n) < convergedAt);
      if (inWindow.some((n, i) => i > 0 && n <= inWindow[i - 1]))
        t.diagnostic(`${l.name} on ${l.label}: reordered in the death window: ${inWindow.join(',')}`);
    }
    for (const name of publics) {
      const [la, lb] = logs.filter((l) => l.name === name);
      const inB = new Set(lb.seen);
      const inA = new Set(la.seen);
      if (JSON.stringify(la.seen.filter((n) => inB.has(n))) !== JSON.stringify(lb.seen.filter((n) => inA.has(n))))
        problems.push(`${name}: order differs between a and b`);
    }
    const expected = published.length * logs.length;
    const sorted = [...lostRounds].sort((x, y) => x - y);
    t.diagnostic(`lost ${lost} deliveries of ${expected} (${published.length} rounds x ${logs.length} survivor subscriptions);`
      + ` ${ownedByC.filter((n) => publics.includes(n)).length} of ${publics.length} public channels were owned by x-c;`
      + ` lost rounds ${sorted.length ? `${sorted[0]}..${sorted[sorted.length - 1]}` : 'none'}`
      + ` (${sorted.length ? `${startOf.get(sorted[0]) - killAt}..${startOf.get(sorted[sorted.length - 1]) - killAt} ms after the kill` : '-'},`
      + ` views converged at ${convergedAt - killAt} ms)`);
    for (const line of lostPerChannel) t.diagnostic(`  ${line}`);
    assert.deepEqual(problems, [], 'deliveries to the survivors');
    t.diagnostic(`runtime ${Date.now() - started} ms`);
  } finally {
    stop = true;
    await publisher;
  }
});
