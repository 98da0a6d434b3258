// The admin endpoint against real nodes: /topology as a paged tree of one
// node and of a 2-node cluster (owners, subscriber counts, unreachable
// nodes, membership history), /metrics read by a strict Prometheus parser
// and checked against known traffic, the token on every route, and the
// operator actions (disconnect, terminate, publish a test event).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const h = require('./support/node');
const prom = require('./support/prometheus');
const { freePort, startNats, clusterConfig } = require('./support/cluster');
const { scaled } = require('./support/slowdown');
const { makeCa } = require('./support/tls');

const TOKEN = 'adm-token-1';

async function admin(node, path, { method = 'GET', token = TOKEN, body } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, {
    method, headers, body, signal: AbortSignal.timeout(scaled(5000)),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch (_) { json = undefined; }
  return { status: r.status, text, json };
}

async function metrics(node) {
  const r = await admin(node, '/metrics');
  assert.equal(r.status, 200);
  return prom.parse(r.text);
}

// Re-reads `read()` until `pred` holds, bounded.
async function until(read, pred, ms, what) {
  const deadline = Date.now() + scaled(ms);
  let last;
  for (;;) {
    last = await read();
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the strict parser refuses what the text format does not allow', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n';
  assert.equal(prom.value(prom.parse(ok), 'a_total', { x: 'q"\\\n' }), 1);
  for (const bad of [
    'a_total 1\n',                                           // no TYPE
    '# TYPE a counter\na 1\n',                               // counter without _total
    '# TYPE a_total counter\na_total{x="\\t"} 1\n',          // bad escape
    '# TYPE a_total counter\na_total{x="1"} 1\na_total{x="1"} 2\n', // duplicate
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
  ]) assert.throws(() => prom.parse(bad), undefined, bad);
});

// Runs `starling top` with `args`; resolves {code, stdout, stderr}.
function top(args) {
  return new Promise((resolve) => {
    execFile(process.env.STARLING_BIN || 'starling', ['top', ...args],
      { timeout: scaled(10000) }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

// The page's reading of /topology/events: a snapshot, then merge patches
// (RFC 7386) of the keyed view, turned back into plain lists.
function mergePatch(target, p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return p;
  const out = (target && typeof target === 'object' && !Array.isArray(target)) ? target : {};
  for (const [k, v] of Object.entries(p)) { if (v === null) delete out[k]; else out[k] = mergePatch(out[k], v); }
  return out;
}
function unkey(v) {
  if (Array.isArray(v) || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v['@'])) return v['@'].map((k) => unkey(v[k]));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unkey(x)]));
}

// Opens /topology/events; next() resolves the next event {name, id, data,
// bytes}, bounded.
async function eventStream(node, query) {
  const ctl = new AbortController();
  const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology/events?${query}`,
    { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ctl.signal });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/event-stream/);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  return {
    async next(ms = 5000) {
      const deadline = Date.now() + scaled(ms);
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (chunk.startsWith(':')) continue; // keep-alive
          const ev = { name: 'message', id: null, data: '', bytes: Buffer.byteLength(chunk) };
          for (const line of chunk.split('\n')) {
            if (line.startsWith('event: ')) ev.name = line.slice(7);
            else if (line.startsWith('id: ')) ev.id = Number(line.slice(4));
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
          }
          ev.data = JSON.parse(ev.data);
          return ev;
        }
        if (Date.now() > deadline) assert.fail('no event in time');
        const { value, done } = await reader.read();
        if (done) assert.fail('the stream ended');
        buf += dec.decode(value, { stream: true });
      }
    },
    close() { ctl.abort(); },
  };
}

test('one node: tree, paging, metrics against known traffic, token, actions', async (t) => {
  const res = h.resources();
  t.after(() => res.cleanup());
  const app = h.makeApp({ enable_client_messages: true });
  // One I/O thread: the publish-to-flush histogram counts one observation
  // per event and thread holding subscribers.
  const node = await res.node({ apps: [app], admin: { token: TOKEN }, server: { io_threads: 1 } });

  // Every data route needs the token; the page itself holds no data.
  for (const [path, method] of [['/topology', 'GET'], ['/metrics', 'GET'], ['/topology/events', 'GET'],
    [`/actions/publish?app=${app.id}&channel=x`, 'POST'], ['/topology?scope=cluster', 'GET']]) {
    assert.equal((await admin(node, path, { method, token: null })).status, 401, path);
    assert.equal((await admin(node, path, { method, token: 'wrong' })).status, 401, path);
  }
  assert.equal((await admin(node, '/topology.html', { token: null })).status, 200);

  const c1 = res.client(node, app);
  const c2 = res.client(node, app);
  const c3 = res.client(node, app, { user: { user_id: 'ann', user_info: { n: 1 } } });
  await Promise.all([c1, c2, c3].map((c) => h.connected(c)));
  const a1 = await h.subscribe(c1, 'chat-a');
  await h.subscribe(c1, 'chat-b');
  await h.subscribe(c2, 'chat-a');
  await h.subscribe(c3, 'presence-room');
  c3.signin();
  await h.waitFor(c3.user, 'pusher:signin_success', scaled(5000)).catch(() => {});

  const t1 = (await admin(node, '/topology')).json;
  assert.equal(t1.kind, 'node');
  assert.equal(t1.bridge.kind, 'bridge');
  const a = t1.apps.find((x) => x.id === app.id);
  assert.equal(a.kind, 'app');
  assert.equal(a.connections, 3);
  assert.deepEqual(a.channels.filter((n) => !n.startsWith('#')), ['chat-a', 'chat-b', 'presence-room']);
  const sub = Object.fromEntries(a.channel_list.map((c) => [c.name, c.subscribers]));
  assert.equal(sub['chat-a'], 2);
  assert.equal(sub['chat-b'], 1);
  assert.equal(sub['presence-room'], 1);
  const owner = Object.fromEntries(a.owner_list.map((o) => [o.channel, o]));
  assert.equal(owner['chat-a'].subscribers, 2);
  assert.equal(owner['presence-room'].presence_members, 1);
  const sockets = a.connection_list.map((c) => c.socket_id).sort();
  assert.deepEqual(sockets, [c1, c2, c3].map((c) => c.connection.socket_id).sort());
  assert.equal(a.directory.kind, 'owner_directory');

  // Paging: one name per page, the cursor continues; search narrows.
  const p1 = (await admin(node, `/topology?app=${app.id}&limit=1&q=chat-`)).json.apps[0];
  assert.deepEqual(p1.channels, ['chat-a']);
  assert.equal(p1.channels_more, true);
  assert.equal(p1.channels_matched, 2);
  const p2 = (await admin(node, `/topology?app=${app.id}&limit=1&q=chat-&after=chat-a`)).json.apps[0];
  assert.deepEqual(p2.channels, ['chat-b']);
  assert.equal(p2.channels_more, false);

  // Known traffic: five HTTP API publishes to chat-a (two subscribers).
  const sdk = h.serverSdk(node, app);
  const got = [];
  a1.bind('n', (d) => got.push(d));
  for (let i = 0; i < 5; ++i) await sdk.trigger('chat-a', 'n', { i });
  await h.waitFor(() => got.length === 5, scaled(5000));
  let m = await metrics(node);
  const L = { app: app.id };
  assert.equal(prom.value(m, 'starling_app_publishes_total', L), 5);
  assert.equal(prom.value(m, 'starling_http_requests_by_route_total', { app: app.id, route: 'events', code: '200' }), 5);
  assert.equal(prom.value(m, 'starling_publish_duration_seconds_count', L), 5);
  assert.equal(prom.value(m, 'starling_subscriptions', L), 4);
  assert.equal(prom.value(m, 'starling_presence_members', L), 1);
  assert.ok(prom.value(m, 'starling_messages_out_total', L) >= 10, 'ten events out at least');
  assert.ok(prom.value(m, 'starling_messages_in_total', L) >= 4, 'four subscribes in at least');
  assert.ok(prom.value(m, 'starling_bytes_in_total', L) > 0);
  assert.ok(prom.value(m, 'starling_app_bytes_out_total', L) > 0);
  assert.equal(prom.value(m, 'starling_cluster_members'), 1);
  assert.ok(prom.value(m, 'process_resident_memory_bytes') > 1e6);
  assert.ok(prom.value(m, 'process_open_fds') > 3);
  assert.ok(prom.value(m, 'process_cpu_seconds_total') >= 0);
  assert.ok(Math.abs(prom.value(m, 'process_start_time_seconds') - Date.now() / 1000) < 600);
  const build = [...m.get('starling_build_info').samples];
  assert.equal(build.length, 1);
  assert.equal(build[0].value, 1);
  assert.match(build[0].labels.version, /^\d+\.\d+\.\d+/);
  assert.ok(m.get('starling_http_request_duration_seconds').samples.length > 0);

  // Publish to flush: one observation per event (one I/O thread), in sane
  // buckets (the parser checks they are cumulative and +Inf == _count).
  m = await until(() => metrics(node), (x) => prom.value(x, 'starling_publish_to_flush_seconds_count', L) === 5,
    5000, 'five publishes flushed');
  // Each one took more than nothing and less than the test waited for it.
  const flushSum = prom.value(m, 'starling_publish_to_flush_seconds_sum', L);
  assert.ok(flushSum > 0 && flushSum < 5 * scaled(5), `sum ${flushSum}`);
  assert.equal(prom.value(m, 'starling_publish_to_flush_seconds_bucket', { ...L, le: '+Inf' }), 5);
  // A client event counts too (from its receipt by the connection); a
  // member event does not.
  const pr1 = await h.subscribe(c1, 'private-room');
  const pr2 = await h.subscribe(c2, 'private-room');
  const typed = h.nextEvent(pr2, 'client-typing');
  assert.equal(pr1.trigger('client-typing', { n: 1 }), true);
  await typed;
  await until(() => metrics(node), (x) => prom.value(x, 'starling_publish_to_flush_seconds_count', L) === 6,
    5000, 'the client event flushed');

  // Per connection: its channels, queued bytes and age; per owner: the
  // cached event and the interest of each node.
  await sdk.trigger('cache-news', 'n', { i: 1 });
  const nodeId = t1.id;
  const t2 = await until(() => admin(node, `/topology?app=${app.id}`).then((r) => r.json.apps[0]),
    (x) => x.owner_list.some((o) => o.channel === 'cache-news' && o.cached === true), 5000, 'cache-news cached');
  const conn1 = t2.connection_list.find((c) => c.socket_id === c1.connection.socket_id);
  assert.equal(conn1.channel_count, 3);
  assert.deepEqual(conn1.channels, ['chat-a', 'chat-b', 'private-room']);
  assert.equal(conn1.channels_more, false);
  assert.equal(typeof conn1.queued_bytes, 'number');
  assert.ok(conn1.queued_bytes >= 0 && conn1.queued_bytes < 65536);
  assert.ok(conn1.age_s >= 0 && conn1.age_s < 600, `age ${conn1.age_s}`);
  const owners2 = Object.fromEntries(t2.owner_list.map((o) => [o.channel, o]));
  assert.deepEqual(owners2['chat-a'].interest, { [nodeId]: 2 });
  assert.deepEqual(owners2['private-room'].interest, { [nodeId]: 2 });
  assert.equal(owners2['chat-a'].cached, false);
  assert.deepEqual(owners2['cache-news'].interest, {});

  // The event stream: a snapshot, then only what changed (a delta on the
  // snapshot's version) which rebuilds the new view.
  const es = await eventStream(node, `app=${app.id}`);
  t.after(() => es.close());
  const snap = await es.next();
  assert.equal(snap.name, 'snapshot');
  assert.equal(snap.data.version, 1);
  assert.equal(snap.id, 1);
  let doc = structuredClone(snap.data.topology);
  let version = 1;
  await h.subscribe(c2, 'chat-new');
  let view;
  for (;;) {
    const ev = await es.next();
    assert.equal(ev.name, 'delta', JSON.stringify(ev.data).slice(0, 300));
    assert.equal(ev.data.base, version);
    assert.equal(ev.data.version, version + 1);
    assert.ok(ev.bytes < snap.bytes, `delta ${ev.bytes} B < snapshot ${snap.bytes} B`);
    doc = mergePatch(doc, ev.data.patch);
    version = ev.data.version;
    view = unkey(doc);
    if (view.apps[0].channels.includes('chat-new')) break;
  }
  const newc = view.apps[0].channel_list.find((c) => c.name === 'chat-new');
  assert.equal(newc.subscribers, 1);
  const before = unkey(snap.data.topology).apps[0];
  assert.ok(!before.channels.includes('chat-new'));
  assert.equal(view.apps[0].channel_count, before.channel_count + 1);
  assert.equal(view.apps[0].connection_list.find((c) => c.socket_id === c2.connection.socket_id).channel_count, 3);
  es.close();

  // Actions. Publish a test event: the subscriber gets it.
  const test1 = h.nextEvent(a1, 'starling:test');
  assert.equal((await admin(node, `/actions/publish?app=${app.id}&channel=chat-a`, { method: 'POST', body: '{"hi":1}' })).status, 200);
  assert.deepEqual((await test1).data, { hi: 1 });
  assert.equal((await admin(node, `/actions/publish?app=${app.id}&channel=bad%20name`, { method: 'POST', body: 'x' })).status, 400);
  assert.equal((await admin(node, `/actions/publish?app=nope&channel=a`, { method: 'POST', body: 'x' })).status, 404);
  assert.equal((await admin(node, `/actions/publish?app=${app.id}&channel=a`)).status, 405);

  // Disconnect one connection by socket id: it closes with 4009, and the
  // close is counted under its code.
  const closed = new Promise((resolve) => c2.connection.bind('error', (e) => resolve(e)));
  const d = await admin(node, `/actions/disconnect?app=${app.id}&socket_id=${c2.connection.socket_id}`, { method: 'POST' });
  assert.equal(d.status, 200);
  const err = await closed;
  assert.equal(err.data && err.data.code, 4009);
  assert.equal((await admin(node, `/actions/disconnect?app=${app.id}&socket_id=1.2`, { method: 'POST' })).status, 404);
  m = await until(() => metrics(node), (x) => prom.value(x, 'starling_disconnects_total', { app: app.id, code: '4009' }) === 1,
    5000, 'disconnect counted under 4009');

  // Terminate a signed-in user's connections.
  const gone = new Promise((resolve) => c3.connection.bind('error', (e) => resolve(e)));
  assert.equal((await admin(node, `/actions/terminate?app=${app.id}&user_id=ann`, { method: 'POST' })).status, 200);
  assert.equal((await gone).data.code, 4009);
  await until(() => admin(node, '/topology').then((r) => r.json.apps[0]), (x) => x.connections === 1, 5000, 'one connection left');
});

test('two nodes: scope=cluster shows both, owners of the channels, and a node that died', async (t) => {
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const cfg = (id) => ({ ...clusterConfig(natsPort, id), apps: [app], admin: { token: TOKEN } });
  const [a, b] = await Promise.all([res.node(cfg('n-a')), res.node(cfg('n-b'))]);
  await until(() => admin(a, '/topology').then((r) => r.json.cluster), (c) => c.members.length === 2, 5000, 'both members');

  const ca = res.client(a, app);
  const cb = res.client(b, app);
  await Promise.all([h.connected(ca), h.connected(cb)]);
  const names = ['room-1', 'room-2', 'room-3', 'room-4', 'room-5', 'room-6'];
  for (const n of names) await h.subscribe(ca, n);
  for (const n of names.slice(0, 3)) await h.subscribe(cb, n);

  const view = await until(() => admin(a, '/topology?scope=cluster').then((r) => r.json),
    (v) => v.nodes.length === 2 && v.nodes.every((n) => n.reachable)
      && names.every((n) => v.channels.some((c) => c.name === n && c.owner && c.subscribers === (n <= 'room-3' ? 2 : 1))),
    5000, 'both nodes, every channel with its owner and count');
  assert.equal(view.scope, 'cluster');
  const ownedBy = {};
  for (const n of view.nodes) for (const o of n.topology.apps[0].owners) ownedBy[o] = n.id;
  for (const c of view.channels.filter((x) => names.includes(x.name))) {
    assert.equal(c.owner, ownedBy[c.name], `owner of ${c.name}`);
    assert.equal(c.subscribers_by_node['n-a'], 1);
    assert.equal(c.subscribers_by_node['n-b'] || 0, c.name <= 'room-3' ? 1 : 0);
  }
  assert.ok(new Set(Object.values(ownedBy)).size >= 1);
  assert.ok(view.history.length >= 1);
  // Per-node interest as each channel's owner sees it.
  for (const c of view.channels.filter((x) => names.includes(x.name)))
    assert.deepEqual(c.interest, c.name <= 'room-3' ? { 'n-a': 1, 'n-b': 1 } : { 'n-a': 1 }, `interest in ${c.name}`);
  const onB = view.nodes.find((n) => n.id === 'n-b').topology.apps[0].connection_list;
  assert.equal(onB.length, 1);
  assert.equal(onB[0].socket_id, cb.connection.socket_id);
  assert.deepEqual(onB[0].channels, ['room-1', 'room-2', 'room-3']);

  // starling top --once prints both nodes and the busiest channels; a
  // wrong token is an error, not a frame.
  const topOf = (token) => top(['--admin', `http://127.0.0.1:${a.adminPort}`, '--token', token, '--once']);
  const frame = await topOf(TOKEN);
  assert.equal(frame.code, 0, frame.stderr);
  assert.match(frame.stdout, /nodes 2\/2 reachable/);
  for (const id of ['n-a', 'n-b', 'room-1', 'room-6', app.id]) assert.ok(frame.stdout.includes(id), `${id} in:\n${frame.stdout}`);
  assert.match(frame.stdout, /room-1\s+\S+\s+n-[ab]\s+2\b/, 'room-1: owner node and 2 subscribers');
  const refused = await topOf('wrong');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /401/);

  // Disconnect through node a a connection that lives on node b.
  const closed = new Promise((resolve) => cb.connection.bind('error', (e) => resolve(e)));
  assert.equal((await admin(a, `/actions/disconnect?app=${app.id}&socket_id=${cb.connection.socket_id}`, { method: 'POST' })).status, 200);
  assert.equal((await closed).data.code, 4009);

  // Kill node b: a's cluster view marks it, with why it left.
  process.kill(b.pid, 'SIGKILL');
  await b.exited;
  const after = await until(() => admin(a, '/topology?scope=cluster').then((r) => r.json),
    (v) => v.nodes.some((n) => n.id === 'n-b' && !n.reachable), 5000, 'n-b unreachable');
  const nb = after.nodes.find((n) => n.id === 'n-b');
  assert.equal(nb.reachable, false);
  const last = await until(() => admin(a, '/topology').then((r) => r.json.cluster),
    (c) => c.history.some((x) => x.left.includes('n-b')), 5000, 'n-b left in the history');
  assert.ok(last.history.find((x) => x.left.includes('n-b')).reason.length > 0);
});

test('starling top speaks https to an admin port with admin.tls (self-signed: --ca or --insecure)', async (t) => {
  const ca = makeCa();
  const res = h.resources();
  t.after(async () => { await res.cleanup(); ca.remove(); });
  const self = ca.selfSigned('admin-self');
  const node = await res.node({
    admin: { token: TOKEN, tls: { enabled: true, cert_file: self.cert, key_file: self.key } },
  });
  const url = `https://127.0.0.1:${node.adminPort}`;
  const trusted = await top(['--admin', url, '--token', TOKEN, '--ca', self.cert, '--once']);
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, /nodes 1\/1 reachable/);
  const insecure = await top(['--admin', url, '--token', TOKEN, '--insecure', '--once']);
  assert.equal(insecure.code, 0, insecure.stderr);
  assert.match(insecure.stdout, /nodes 1\/1 reachable/);
  // Not trusted: the handshake fails, said on stderr.
  const untrusted = await top(['--admin', url, '--token', TOKEN, '--once']);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /certificate verify failed|unreachable/);
  // A CA that did not sign it fails too.
  const wrongCa = await top(['--admin', url, '--token', TOKEN, '--ca', ca.caFile, '--once']);
  assert.equal(wrongCa.code, 1);
  assert.match(wrongCa.stderr, /certificate verify failed/);
  // Plain http against the TLS port is an error, not a frame.
  const plain = await top(['--admin', `http://127.0.0.1:${node.adminPort}`, '--token', TOKEN, '--once']);
  assert.equal(plain.code, 1);
});
