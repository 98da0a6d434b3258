// Owners moving between live nodes: a joining node takes its channels over
// with their state (sequence, cache, members), a node leaving on SIGTERM
// hands its channels over before it goes, and neither loses an event. When
// an owner's node dies instead, the members that lived there leave with
// member_removed on every other node.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const h = require('./support/node');
const { freePort, startNats, clusterConfig, viewWhere } = require('./support/cluster');

async function cluster(t, ids) {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const start = (id, extra = {}) =>
    res.node({ ...clusterConfig(natsPort, id), apps: [app], ...extra });
  const nodes = await Promise.all(ids.map((id) => start(id)));
  for (const n of nodes) await viewWhere(n, (v) => v.members.length === ids.length, 5000);
  return { res, nodes, start };
}

// Channels this node's app owns right now (from its topology).
async function ownedBy(node) {
  const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology`);
  return new Set((await r.json()).apps[0].owners);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Publishes one event (`ev`, {n}) to every channel of `names` per round,
// through `via` in turn, until stop() (which answers the rounds sent).
function publisher(names, via) {
  const p = { rounds: 0, stopped: false };
  const loop = (async () => {
    while (!p.stopped) {
      await h.serverSdk(via[p.rounds % via.length]).trigger(names, 'ev', { n: p.rounds });
      p.rounds += 1;
      await sleep(10);
    }
  })();
  p.publishFor = async (ms) => {
    const until = p.rounds + Math.max(5, Math.round(ms / 15));
    await h.waitFor(() => p.rounds >= until, ms * 10);
  };
  p.stop = async () => {
    p.stopped = true;
    await loop;
    return p.rounds;
  };
  return p;
}

// Polls an async predicate every 25 ms until it holds, bounded by `ms`.
async function until(pred, ms, label) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms: ${label}`);
    await sleep(25);
  }
}

test('a node joining and a node leaving lose no event of live owners', async (t) => {
  const { res, nodes: [a, b], start } = await cluster(t, ['h-a', 'h-b']);
  const names = Array.from({ length: 24 }, (_, i) => `hand-${i}`);
  const ca = res.client(a), cb = res.client(b);
  const logs = [];
  for (const name of names)
    for (const [client, label] of [[ca, 'a'], [cb, 'b']]) {
      const ch = await h.subscribe(client, name);
      const seen = [];
      ch.bind('ev', (d) => seen.push(d.n));
      logs.push({ name, label, seen });
    }

  // One event per channel per round, through a and b in turn, until told.
  const pub = publisher(names, [a, b]);
  const { publishFor } = pub;

  await publishFor(300);
  const joinedAt = pub.rounds;
  const c = await start('h-c');
  for (const n of [a, b, c]) await viewWhere(n, (v) => v.members.length === 3, 5000);
  await publishFor(500);
  const moved = await ownedBy(c);
  const leftAt = pub.rounds;
  const stopped = await c.stop();
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  await publishFor(300);
  const rounds = await pub.stop();

  assert.equal(stopped.code, 0, `h-c exit: ${JSON.stringify(stopped)}`);
  assert.ok(moved.size > 0, 'the joining node took over some channels');
  const last = rounds - 1;
  await h.waitFor(() => logs.every((l) => l.seen.length >= rounds), 8000).catch(() => {});
  for (const l of logs) {
    const missing = [];
    const got = new Set(l.seen);
    for (let n = 0; n <= last; n += 1) if (!got.has(n)) missing.push(n);
    assert.deepEqual(missing, [], `${l.name} on ${l.label}: lost ${missing.length}` +
      ` of ${rounds} (owner moved: ${moved.has(l.name)}): ${missing.join(",")}; joined at ${joinedAt}, left at ${leftAt}`);
    assert.equal(l.seen.length, rounds, `${l.name} on ${l.label}: duplicates`);
  }
  // Both nodes saw each channel's events in one order.
  for (const name of names) {
    const [la, lb] = logs.filter((l) => l.name === name);
    assert.deepEqual(la.seen, lb.seen, `${name}: order differs between nodes`);
  }
});

// A node alone: its channels host their owners (one actor each). A second
// node joins and takes some channels over: those owners hand off and
// forward from inside their channels, which then follow the new owners.
test('a node joining a lone node, whose channels host their owners, loses no event', async (t) => {
  const { res, nodes: [a], start } = await cluster(t, ['l-a']);
  const names = Array.from({ length: 16 }, (_, i) => `lone-${i}`);
  const ca = res.client(a);
  const logs = [];
  for (const name of names) {
    const ch = await h.subscribe(ca, name);
    const seen = [];
    ch.bind('ev', (d) => seen.push(d.n));
    logs.push({ name, seen });
  }
  const hosted = async (node) => {
    const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology`);
    const list = (await r.json()).apps[0].owner_list || [];
    return new Set(list.filter((o) => o.hosted).map((o) => o.channel));
  };
  await until(async () => (await hosted(a)).size === names.length, 5000,
    'every owner hosted by its channel on the lone node');

  const pub = publisher(names, [a]);
  await pub.publishFor(300);
  const b = await start('l-b');
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2, 5000);
  await pub.publishFor(800);
  const moved = await ownedBy(b);
  const rounds = await pub.stop();

  assert.ok(moved.size > 0, 'the joining node took over some channels');
  await h.waitFor(() => logs.every((l) => l.seen.length >= rounds), 8000).catch(() => {});
  for (const l of logs)
    assert.deepEqual(l.seen, Array.from({ length: rounds }, (_, n) => n),
      `${l.name} (moved: ${moved.has(l.name)}): every event once, in order`);
});

test('a joining node takes cached events and member lists over', async (t) => {
  const { res, nodes: [a, b], start } = await cluster(t, ['s-a', 's-b']);
  const names = Array.from({ length: 12 }, (_, i) => `presence-cache-s-${i}`);
  const user = (id) => ({ user: { user_id: id, user_info: { name: id } } });
  const ann = res.client(a, undefined, user('ann'));
  for (const name of names) await h.subscribe(ann, name);
  for (const name of names) await h.serverSdk(b).trigger(name, 'price', { name });
  const c = await start('s-c');
  for (const n of [a, b, c]) await viewWhere(n, (v) => v.members.length === 3, 5000);
  // Every node's ring now names c for some of them; the state went along.
  await until(async () => (await ownedBy(c)).size > 0, 3000, 's-c owns channels');
  const moved = await ownedBy(c);
  const bob = res.client(b, undefined, user('bob'));
  for (const name of names) {
    const ch = bob.subscribe(name);
    const cached = h.nextEvent(ch, 'price', 3000);
    await h.subscribed(ch);
    assert.deepEqual((await cached).data, { name }, `${name} (moved: ${moved.has(name)})`);
    assert.deepEqual(Object.keys(ch.members.members).sort(), ['ann', 'bob'], name);
  }
});

test('when an owner node dies, its members leave with member_removed', async (t) => {
  const { res, nodes: [a, b, c] } = await cluster(t, ['d-a', 'd-b', 'd-c']);
  const user = (id) => ({ user: { user_id: id, user_info: {} } });
  const carol = res.client(c, undefined, user('carol'));
  // A presence channel whose owner lives on d-c, with a member there.
  let name = null;
  for (let i = 0; i < 60 && !name; i += 1) {
    const candidate = `presence-dead-${i}`;
    await h.subscribe(carol, candidate);
    if ((await ownedBy(c)).has(candidate)) name = candidate;
  }
  assert.ok(name, 'some channel is owned by d-c');
  const alice = res.client(a, undefined, user('alice'));
  const bob = res.client(b, undefined, user('bob'));
  const pa = await h.subscribe(alice, name);
  const pb = await h.subscribe(bob, name);
  await h.waitFor(() => pa.members.count === 3 && pb.members.count === 3, 3000);
  const removedA = h.nextEvent(pa, 'pusher:member_removed', 8000, (m) => m.id === 'carol');
  const removedB = h.nextEvent(pb, 'pusher:member_removed', 8000, (m) => m.id === 'carol');
  process.kill(c.pid, 'SIGKILL');
  await c.exited;
  await Promise.all([removedA, removedB]);
  assert.deepEqual(Object.keys(pa.members.members).sort(), ['alice', 'bob']);
  assert.deepEqual(Object.keys(pb.members.members).sort(), ['alice', 'bob']);
  const r = await h.serverSdk(a).get({ path: `/channels/${name}/users` });
  assert.deepEqual((await r.json()).users.map((u) => u.id).sort(), ['alice', 'bob']);
  // The rebuilt owner delivers to both survivors.
  const got = [h.nextEvent(pa, 'after', 5000), h.nextEvent(pb, 'after', 5000)];
  await h.serverSdk(b).trigger(name, 'after', { ok: 1 });
  await Promise.all(got);
});

// A stand-in for a load balancer: forwards every TCP connection to the
// current backend port.
function balancer(port) {
  const state = { target: port, sockets: new Set() };
  const server = net.createServer((client) => {
    const upstream = net.connect(state.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      state.sockets.add(s);
      s.on('close', () => state.sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.port = server.address().port;
    state.close = () => new Promise((r) => {
      for (const s of state.sockets) s.destroy();
      server.close(() => r());
    });
    resolve(state);
  }));
}

test('SIGTERM: pusher-js clients reconnect to another node and resume', async (t) => {
  const { res, nodes: [a, b] } = await cluster(t, ['t-a', 't-b']);
  const lb = await balancer(a.port);
  t.after(() => lb.close());
  const viaLb = { ...a, port: lb.port };
  const clients = [];
  for (let i = 0; i < 5; i += 1) {
    const client = res.client(viaLb);
    const room = await h.subscribe(client, 'drain-room');
    const states = [];
    client.connection.bind('state_change', (s) => states.push(s.current));
    clients.push({ client, room, states });
  }
  // The balancer stops sending new connections to a once it drains.
  lb.target = b.port;
  const stopped = await a.stop();
  assert.equal(stopped.code, 0, JSON.stringify(stopped));
  await viewWhere(b, (v) => v.members.length === 1, 5000);
  // Each client reconnected (through the balancer, now to b) and its
  // subscription came back.
  await h.waitFor(() => clients.every((c) => c.states.includes('connecting')
    && c.client.connection.state === 'connected' && c.room.subscribed), 10000);
  const got = clients.map((c) => h.nextEvent(c.room, 'resumed', 5000));
  await h.serverSdk(b).trigger('drain-room', 'resumed', { ok: 1 });
  await Promise.all(got);
});
