'use strict';
// Abuse limits (issue "hostile internet"): each limit answers with the
// protocol's error, counts the hit in /metrics, and leaves other clients
// and apps served.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');

const res = h.resources();
let node;
let app; // tight limits
let other; // defaults

before(async () => {
  app = h.makeApp({ limits: { max_subscriptions_per_connection: 5, http_requests_per_second: 5 } });
  other = h.makeApp();
  node = await res.node({ apps: [app, other] });
});
after(() => res.cleanup());

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

/** A raw client of app `a` on node `n` (default: the shared one), subscribed to `name`. */
async function goodSubscriber(a, name, n = node) {
  const good = res.raw(n, { key: a.key });
  await good.established();
  await good.subscribe(name);
  return good;
}

test('subscriptions past the per-connection cap: subscription_error 4100, connection stays', async () => {
  const raw = res.raw(node, { key: app.key });
  await raw.established();
  for (let i = 0; i < 5; ++i) await raw.subscribe(unique('cap-'));
  const over = unique('cap-over-');
  const err = await raw.subscribe(over).then(() => null, (e) => e.frame);
  assert.ok(err, 'the sixth subscribe is refused');
  assert.equal(err.event, 'pusher:subscription_error');
  assert.equal(err.parsed.status, 4100);
  assert.equal(err.parsed.type, 'LimitReached');
  assert.ok(raw.isOpen, 'the connection stays open');
  await raw.roundTrip();
  // Unsubscribing frees a slot.
  raw.send({ event: 'pusher:unsubscribe', data: { channel: `cap-${process.pid}-1` } });
  await raw.subscribe(over);
  const m = await f.metrics(node);
  assert.equal(m[`starling_limit_hits_total{app="${app.id}",limit="subscriptions_per_connection"}`], 1);
  // Another connection of the app is not affected by this one's cap.
  const name = unique('cap-good-');
  const good = await goodSubscriber(app, name);
  const got = good.waitFrame((x) => x.event === 'ev' && x.channel === name);
  assert.equal((await h.signedRequest(node, { app: other, body: { name: 'x', channels: ['y'], data: '1' } })).status, 200);
  assert.equal((await h.signedRequest(node, { app, body: { name: 'ev', channels: [name], data: '1' } })).status, 200);
  await got;
});

test('HTTP API past requests per second: 429 with Retry-After and X-RateLimit headers; other apps served', async () => {
  // A fresh second's budget.
  await new Promise((r) => setTimeout(r, 1100));
  const body = { name: 'ev', channels: [unique('rate-')], data: '1' };
  const answers = [];
  for (let i = 0; i < 8; ++i) answers.push(await h.signedRequest(node, { app, body }));
  const ok = answers.filter((r) => r.status === 200);
  const limited = answers.filter((r) => r.status === 429);
  assert.ok(ok.length >= 5 && ok.length <= 6, `about 5 served, got ${ok.length}`);
  assert.equal(ok.length + limited.length, 8);
  assert.equal(ok[0].headers['x-ratelimit-limit'], '5');
  assert.ok(Number(ok[0].headers['x-ratelimit-remaining']) >= 3);
  const r = limited[0];
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.headers['x-ratelimit-remaining'], '0');
  assert.match(r.json.error, /Too many requests/);
  // The other app has no limit and is served meanwhile.
  for (let i = 0; i < 8; ++i)
    assert.equal((await h.signedRequest(node, { app: other, body })).status, 200);
  const m = await f.metrics(node);
  assert.equal(m[`starling_limit_hits_total{app="${app.id}",limit="http_requests_per_second"}`], limited.length);
  // After Retry-After the app is served again.
  await new Promise((res1) => setTimeout(res1, 1000 * Number(r.headers['retry-after'])));
  assert.equal((await h.signedRequest(node, { app, body })).status, 200);
});

// -- node limits -----------------------------------------------------------------

/** Opens a raw client and resolves with its first frame or its close. */
async function firstWord(n, a, wsOptions) {
  const raw = res.raw(n, { key: a.key, wsOptions });
  const f = await raw.waitFrame(() => true);
  if (f.event === 'pusher:connection_established') return { raw, ok: true };
  const close = await raw.waitClose();
  return { raw, ok: false, error: f, close };
}

test('node connection cap: the connection past server.max_connections gets 4100; a slot frees on close', async () => {
  const a = h.makeApp();
  const n = await res.node({ server: { max_connections: 3 }, apps: [a] });
  const open = [];
  for (let i = 0; i < 3; ++i) {
    const r = await firstWord(n, a);
    assert.ok(r.ok, `connection ${i} admitted`);
    open.push(r.raw);
  }
  const over = await firstWord(n, a);
  assert.equal(over.ok, false);
  assert.equal(over.error.parsed.code, 4100);
  assert.equal(over.close.code, 4100);
  // The admitted ones are still served.
  await open[0].roundTrip();
  await open[0].close(1000);
  await f.poll(async () => (await firstWord(n, a)).ok, 5000, 'a freed slot');
  const m = await f.metrics(n);
  assert.ok(m['starling_node_limit_hits_total{limit="connections"}'] >= 1);
});

test('new connections per address: past the rate 4100, later admitted again', async () => {
  const a = h.makeApp();
  const n = await res.node({ server: { max_new_connections_per_ip_per_s: 3 }, apps: [a] });
  const results = [];
  for (let i = 0; i < 5; ++i) results.push(await firstWord(n, a));
  const refused = results.filter((r) => !r.ok);
  assert.ok(refused.length >= 1, 'some were refused');
  assert.equal(refused[0].close.code, 4100);
  assert.ok(results.filter((r) => r.ok).length >= 3);
  await new Promise((r) => setTimeout(r, 1100));
  assert.ok((await firstWord(n, a)).ok, 'admitted after a second');
  const m = await f.metrics(n);
  assert.equal(m['starling_node_limit_hits_total{limit="new_connections_per_ip"}'], refused.length);
});

test('a fragmented message left unfinished is closed with 1008 after fragment_timeout_s', async () => {
  const a = h.makeApp();
  const n = await res.node({ server: { fragment_timeout_s: 1 }, apps: [a] });
  const good = await goodSubscriber(a, 'frag-good', n);
  const raw = res.raw(n, { key: a.key });
  await raw.established();
  raw.ws.send('{"event":"pusher:ping",', { fin: false });
  const t0 = Date.now();
  const close = await raw.waitClose(5000);
  assert.equal(close.code, 1008);
  assert.ok(Date.now() - t0 < 4000, 'closed within the timeout and a sweep');
  // A finished fragmented message is fine.
  const ok = res.raw(n, { key: a.key });
  await ok.established();
  ok.ws.send('{"event":"pusher:ping",', { fin: false });
  ok.ws.send('"data":{}}', { fin: true });
  await ok.waitFrame('pusher:pong');
  assert.ok(good.isOpen);
});

test('Origin allow-list per app: other origins get 4009, allowed ones and other apps connect', async () => {
  const guarded = h.makeApp({ allowed_origins: ['https://good.example.com', 'https://*.example.org'] });
  const open = h.makeApp();
  const n = await res.node({ apps: [guarded, open] });
  assert.ok((await firstWord(n, guarded, { origin: 'https://good.example.com' })).ok);
  assert.ok((await firstWord(n, guarded, { origin: 'https://x.example.org' })).ok);
  const bad = await firstWord(n, guarded, { origin: 'https://evil.example.net' });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.parsed.code, 4009);
  assert.equal(bad.close.code, 4009);
  const none = await firstWord(n, guarded);
  assert.equal(none.ok, false, 'no Origin header is not an allowed origin');
  assert.ok((await firstWord(n, open, { origin: 'https://evil.example.net' })).ok, 'apps without a list take any');
  const m = await f.metrics(n);
  assert.equal(m['starling_node_limit_hits_total{limit="origin"}'], 2);
});

test('CORS on the HTTP API for configured origins; preflight answered', async () => {
  const a = h.makeApp();
  const n = await res.node({ server: { cors_origins: ['https://dash.example.com'] }, apps: [a] });
  const url = `http://127.0.0.1:${n.port}/apps/${a.id}/events`;
  const pre = await fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: 'https://dash.example.com', 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://dash.example.com');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
  const denied = await fetch(url, { method: 'OPTIONS', headers: { Origin: 'https://evil.example.net' } });
  assert.equal(denied.status, 403);
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
  // The real request carries the header for the allowed origin only.
  const body = { name: 'ev', channels: ['c'], data: '1' };
  const r1 = await h.signedRequest({ ...n, app: a }, { app: a, body });
  assert.equal(r1.headers['access-control-allow-origin'], undefined, 'no Origin: no CORS header');
});

// -- lingering close ----------------------------------------------------------------

test('a body over the limit: 413 reaches a client that is still writing (fetch and a raw socket)', async () => {
  const a = h.makeApp();
  const n = await res.node({ apps: [a] });
  const big = 'x'.repeat(1100 * 1024);
  const r = await fetch(`http://127.0.0.1:${n.port}/apps/${a.id}/events`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: big,
    signal: AbortSignal.timeout(10000),
  });
  assert.equal(r.status, 413);
  // A client that writes all 1.1 MB, and only then reads.
  const net = require('node:net');
  const answer = await new Promise((resolve, reject) => {
    const sock = net.connect(n.port, '127.0.0.1');
    let text = '';
    sock.setTimeout(10000, () => reject(new Error('timeout')));
    sock.on('error', (e) => reject(e));
    sock.on('data', (d) => { text += d.toString('latin1'); });
    sock.on('end', () => resolve(text));
    sock.on('connect', () => {
      sock.write(`POST /apps/${a.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`
        + `Content-Length: ${big.length}\r\n\r\n`);
      sock.write(big, () => sock.end());
    });
  });
  assert.match(answer, /^HTTP\/1\.1 413 /);
  // The node still serves.
  assert.equal((await h.signedRequest({ ...n, app: a }, { app: a, body: { name: 'e', channels: ['c'], data: '1' } })).status, 200);
});
