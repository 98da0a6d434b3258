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

/** A raw client of `a` that is subscribed to `name` and receives `ev`. */
async function goodSubscriber(a, name) {
  const good = res.raw(node, { key: a.key });
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
