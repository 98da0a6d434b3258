'use strict';
// Webhooks (Pusher protocol §7) received by a local HTTP server and checked
// with the official `pusher` SDK (pusher.webhook(...).isValid()/getEvents()).
// Every scenario runs on its own node and receiver, all in parallel: the
// slow ones (3 s grace, 1 s + 2 s retry back-off) overlap.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { EventEmitter } = require('node:events');
const h = require('./support/node');

const GRACE_MS = 3000; // Pusher protocol §7.3: vacated / member_removed hold.
const EARLY_MS = 2500; // Nothing may arrive before this after the leave.
const LATE_MS = 6000; // Bounded wait for a held webhook.

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

/**
 * A webhook receiver on 127.0.0.1:0. `respond(hook)` picks the status of
 * each request (200 by default). hooks: every request, in arrival order:
 * {at, method, url, headers, rawBody, status, events}.
 */
async function startReceiver(respond = () => 200) {
  const emitter = new EventEmitter();
  const hooks = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const hook = {
        at: Date.now(), method: req.method, url: req.url, headers: req.headers, rawBody,
      };
      try { hook.events = JSON.parse(rawBody).events; } catch (_) { hook.events = []; }
      hook.status = respond(hook, hooks);
      hooks.push(hook);
      res.writeHead(hook.status, { 'Content-Type': 'text/plain' });
      res.end(hook.status < 300 ? 'ok' : 'fail');
      emitter.emit('hook', hook);
    });
  });
  // Idle keep-alive connections are dropped after 1 s, so the held and
  // retried webhooks (1-3 s later) meet a pooled connection the receiver
  // already closed.
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const events = () => hooks.flatMap((hk) => (hk.events || []).map((ev) => ({ ...ev, hook: hk })));
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    hooks,
    events,
    /** Resolves with the first webhook event (past or future) matching pred. */
    waitEvent(pred, timeoutMs = 3000) {
      const past = events().find(pred);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const onHook = (hk) => {
          const ev = (hk.events || []).map((e) => ({ ...e, hook: hk })).find(pred);
          if (!ev) return;
          clearTimeout(timer);
          emitter.off('hook', onHook);
          resolve(ev);
        };
        const timer = setTimeout(() => {
          emitter.off('hook', onHook);
          reject(new Error(`no matching webhook within ${timeoutMs} ms; got ${JSON.stringify(events().map(({ hook, ...e }) => e))}`));
        }, timeoutMs);
        emitter.on('hook', onHook);
      });
    },
    /** Resolves with the first request (past or future) matching pred. */
    waitHook(pred, timeoutMs = 3000) {
      const past = hooks.find(pred);
      if (past) return Promise.resolve(past);
      return h.waitFor(emitter, 'hook', timeoutMs, pred);
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Every request must pass the official SDK check and carry the exact headers. */
function assertValidHooks(receiver, app, sdk) {
  assert.ok(receiver.hooks.length > 0, 'at least one webhook arrived');
  for (const hk of receiver.hooks) {
    assert.equal(hk.method, 'POST');
    assert.equal(hk.url, '/webhooks');
    assert.equal(hk.headers['content-type'], 'application/json', 'Content-Type is exactly application/json');
    assert.equal(hk.headers['x-pusher-key'], app.key);
    assert.equal(hk.headers['x-pusher-signature'], h.hmac(app.secret, hk.rawBody));
    const wh = sdk.webhook({ headers: hk.headers, rawBody: hk.rawBody });
    assert.equal(wh.isValid(), true, `SDK accepts ${hk.rawBody}`);
    const body = JSON.parse(hk.rawBody);
    assert.equal(typeof body.time_ms, 'number');
    assert.ok(Math.abs(body.time_ms - hk.at) < 60000, 'time_ms is a Unix time in ms');
    assert.deepEqual(wh.getEvents(), body.events);
    assert.ok(Array.isArray(body.events) && body.events.length > 0);
  }
}

/**
 * A node whose first app posts webhooks to fresh receivers. hooks: one
 * {respond, event_types} per receiver. Returns {node, app, sdk, receivers,
 * client(opts), cleanup()}.
 */
async function setup({ app: appExtra = {}, hooks = [{}] } = {}) {
  const receivers = [];
  const clients = [];
  let node;
  try {
    for (const hk of hooks) receivers.push(await startReceiver(hk.respond));
    const app = h.makeApp({
      ...appExtra,
      webhooks: receivers.map((r, i) => ({
        url: r.url,
        ...(hooks[i].event_types ? { event_types: hooks[i].event_types } : {}),
      })),
    });
    node = await h.startNode({ apps: [app] });
    const sdk = h.serverSdk(node, app);
    return {
      node,
      app,
      sdk,
      receivers,
      receiver: receivers[0],
      async client(opts) {
        const c = h.pusherClient(node, app, { sdk, ...opts });
        clients.push(c);
        await h.connected(c);
        return c;
      },
      async cleanup() {
        await h.cleanupAll(clients.map((c) => () => h.closeClient(c)));
        await h.cleanupAll([() => node.stop(), ...receivers.map((r) => () => r.close())]);
      },
    };
  } catch (err) {
    await h.cleanupAll([...(node ? [() => node.stop()] : []), ...receivers.map((r) => () => r.close())]);
    throw err;
  }
}

/** Runs `body(env)` on a fresh setup and always cleans up. */
async function withSetup(options, body) {
  const env = await setup(options);
  try {
    await body(env);
  } finally {
    await env.cleanup();
  }
}

/** Bounded wait used only to assert that something did NOT happen. */
const quiet = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('webhooks', { concurrency: true }, () => {
  test('channel_occupied on the first subscribe, signed and verifiable with the SDK', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('public-occ-');
      const c = await client();
      const before = Date.now();
      await h.subscribe(c, name);
      const ev = await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === name);
      const { hook, ...fields } = ev;
      assert.deepEqual(fields, { name: 'channel_occupied', channel: name });
      assert.equal(hook.events.length, 1, 'unbatched: one event per request');
      const body = JSON.parse(hook.rawBody);
      assert.ok(body.time_ms >= before - 1000 && body.time_ms <= hook.at + 1000,
        `time_ms ${body.time_ms} is when the event was created`);
      // A second subscriber does not occupy it again; a later event on
      // another channel comes through after it.
      const c2 = await client();
      await h.subscribe(c2, name);
      const other = unique('public-occ-other-');
      await h.subscribe(c2, other);
      await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === other);
      assertValidHooks(receiver, app, sdk);
      const occupied = receiver.events().filter((e) => e.name === 'channel_occupied' && e.channel === name);
      assert.equal(occupied.length, 1, 'one channel_occupied per 0 -> 1');
      assert.equal(receiver.events().filter((e) => e.name === 'channel_vacated').length, 0);
    }));

  test('channel_vacated ~3 s after the last unsubscribe, never before 2.5 s', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('public-vac-');
      const a = await client();
      const b = await client();
      await h.subscribe(a, name);
      await h.subscribe(b, name);
      await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === name);
      a.unsubscribe(name); // b still there: no vacated for this one
      await h.clientRoundTrip(a);
      const left = Date.now();
      b.unsubscribe(name);
      const isVacated = (e) => e.name === 'channel_vacated' && e.channel === name;
      const early = await receiver.waitEvent(isVacated, EARLY_MS).catch(() => null);
      assert.equal(early, null, `channel_vacated arrived ${early && early.hook.at - left} ms after the last leave (grace is 3 s)`);
      const ev = await receiver.waitEvent(isVacated, LATE_MS - EARLY_MS);
      const delay = ev.hook.at - left;
      assert.ok(delay >= EARLY_MS && delay < GRACE_MS + 2000, `vacated after ${delay} ms`);
      const { hook, ...fields } = ev;
      assert.deepEqual(fields, { name: 'channel_vacated', channel: name });
      assertValidHooks(receiver, app, sdk);
      assert.equal(receiver.events().filter(isVacated).length, 1, 'one vacated: the first leave did not empty it');
      // time_ms is when the leave happened, not when it was sent.
      const created = JSON.parse(hook.rawBody).time_ms;
      assert.ok(created < hook.at - 2000, `time_ms ${created} is the leave time, ${hook.at - created} ms before the post`);
    }));

  test('unsubscribe and resubscribe within 3 s: neither vacated nor a second occupied', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('public-flap-');
      const c = await client();
      await h.subscribe(c, name);
      await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === name);
      c.unsubscribe(name);
      await h.clientRoundTrip(c);
      const left = Date.now();
      await h.subscribe(c, name);
      // Past the grace period: the held vacated was cancelled, not sent.
      await quiet(GRACE_MS + 600 - (Date.now() - left));
      const forChannel = () => receiver.events().filter((e) => e.channel === name).map((e) => e.name);
      assert.deepEqual(forChannel(), ['channel_occupied'], 'the quick return sent nothing');
      // The final leave is reported as usual (the path works).
      c.unsubscribe(name);
      await receiver.waitEvent((e) => e.name === 'channel_vacated' && e.channel === name, LATE_MS);
      assert.deepEqual(forChannel(), ['channel_occupied', 'channel_vacated']);
      assertValidHooks(receiver, app, sdk);
    }));

  test('member_added / member_removed on presence, with user_id', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('presence-mem-');
      const alice = await client({ user: { user_id: 'alice', user_info: { n: 1 } } });
      const bob = await client({ user: { user_id: 'bob' } });
      const bob2 = await client({ user: { user_id: 'bob' } });
      await h.subscribe(alice, name);
      await h.subscribe(bob, name);
      await h.subscribe(bob2, name); // second connection of bob: no new member
      const added = (id) => (e) => e.name === 'member_added' && e.channel === name && e.user_id === id;
      const a = await receiver.waitEvent(added('alice'));
      const { hook, ...fields } = a;
      assert.deepEqual(fields, { name: 'member_added', channel: name, user_id: 'alice' });
      await receiver.waitEvent(added('bob'));
      await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === name);
      // bob's first connection leaves: bob is still a member.
      bob.unsubscribe(name);
      await h.clientRoundTrip(bob);
      const left = Date.now();
      await h.closeClient(alice); // leaves by disconnecting
      const removedAlice = (e) => e.name === 'member_removed' && e.channel === name && e.user_id === 'alice';
      const early = await receiver.waitEvent(removedAlice, EARLY_MS).catch(() => null);
      assert.equal(early, null, 'member_removed is held for the grace period');
      const r = await receiver.waitEvent(removedAlice, LATE_MS - EARLY_MS);
      assert.ok(r.hook.at - left >= EARLY_MS, `member_removed after ${r.hook.at - left} ms`);
      const { hook: _h, ...rf } = r;
      assert.deepEqual(rf, { name: 'member_removed', channel: name, user_id: 'alice' });
      assertValidHooks(receiver, app, sdk);
      const forChannel = receiver.events().filter((e) => e.channel === name);
      assert.equal(forChannel.filter((e) => e.name === 'member_added' && e.user_id === 'bob').length, 1,
        'one member_added per user, however many connections');
      assert.equal(forChannel.filter((e) => e.name === 'member_removed' && e.user_id === 'bob').length, 0,
        'bob still has a connection: no member_removed');
      assert.equal(forChannel.filter((e) => e.name === 'channel_vacated').length, 0);
    }));

  test('presence leave and re-join within 3 s: neither member_removed nor a second member_added', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('presence-flap-');
      const first = await client({ user: { user_id: 'flapper' } });
      await h.subscribe(first, name);
      await receiver.waitEvent((e) => e.name === 'member_added' && e.channel === name);
      // Page reload: the old connection goes, a new one joins as the same user.
      await h.closeClient(first);
      const left = Date.now();
      const second = await client({ user: { user_id: 'flapper' } });
      await h.subscribe(second, name);
      await quiet(GRACE_MS + 600 - (Date.now() - left));
      const forChannel = () => receiver.events().filter((e) => e.channel === name).map((e) => [e.name, e.user_id]);
      assert.deepEqual(forChannel(), [['channel_occupied', undefined], ['member_added', 'flapper']],
        'the quick return sent nothing');
      assertValidHooks(receiver, app, sdk);
    }));

  test('client_event: channel, event, data, socket_id; user_id on presence only', () =>
    withSetup({ app: { enable_client_messages: true } }, async ({ receiver, app, sdk, client }) => {
      const priv = unique('private-ce-');
      const pres = unique('presence-ce-');
      const a = await client({ user: { user_id: 'carol' } });
      const b = await client({ user: { user_id: 'dave' } });
      const aPriv = await h.subscribe(a, priv);
      await h.subscribe(b, priv);
      const aPres = await h.subscribe(a, pres);
      await h.subscribe(b, pres);

      const gotB = h.nextEvent(b.channel(priv), 'client-note');
      aPriv.trigger('client-note', { text: 'hi', n: 1 });
      await gotB;
      const ev = await receiver.waitEvent((e) => e.name === 'client_event' && e.channel === priv);
      const { hook, ...fields } = ev;
      assert.equal(typeof fields.data, 'string', 'data is the event data as a JSON string');
      assert.deepEqual(JSON.parse(fields.data), { text: 'hi', n: 1 });
      assert.deepEqual({ ...fields, data: undefined }, {
        name: 'client_event', channel: priv, event: 'client-note', data: undefined,
        socket_id: a.connection.socket_id,
      });
      assert.equal('user_id' in fields, false, 'no user_id outside presence');

      const gotPres = h.nextEvent(b.channel(pres), 'client-move');
      aPres.trigger('client-move', { x: 3 });
      await gotPres;
      const pe = await receiver.waitEvent((e) => e.name === 'client_event' && e.channel === pres);
      assert.equal(pe.event, 'client-move');
      assert.deepEqual(JSON.parse(pe.data), { x: 3 });
      assert.equal(pe.socket_id, a.connection.socket_id);
      assert.equal(pe.user_id, 'carol');
      assertValidHooks(receiver, app, sdk);
    }));

  test('cache_miss on subscribing to an empty cache channel, once until it is filled', () =>
    withSetup({}, async ({ receiver, app, sdk, client }) => {
      const name = unique('cache-miss-');
      const c = await client();
      const ch = c.subscribe(name);
      const miss = h.nextEvent(ch, 'pusher:cache_miss');
      await h.subscribed(ch);
      await miss;
      const ev = await receiver.waitEvent((e) => e.name === 'cache_miss' && e.channel === name);
      const { hook, ...fields } = ev;
      assert.deepEqual(fields, { name: 'cache_miss', channel: name });
      // A second miss before anything is published is de-duplicated; an
      // occupied webhook for a later channel arrives after it would have.
      const c2 = await client();
      await h.subscribe(c2, name);
      const later = unique('cache-later-');
      await h.subscribe(c2, later);
      await receiver.waitEvent((e) => e.name === 'cache_miss' && e.channel === later);
      assert.equal(receiver.events().filter((e) => e.name === 'cache_miss' && e.channel === name).length, 1);
      // A filled cache is a hit: no cache_miss.
      const filled = unique('cache-filled-');
      await sdk.trigger(filled, 'ev', { v: 1 });
      const c3 = await client();
      const hit = h.nextEvent(c3.subscribe(filled), 'ev');
      await hit;
      await receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === filled);
      assert.equal(receiver.events().filter((e) => e.name === 'cache_miss' && e.channel === filled).length, 0);
      assertValidHooks(receiver, app, sdk);
    }));

  test('subscription_count webhook when enable_subscription_count', () =>
    withSetup({ app: { enable_subscription_count: true } }, async ({ receiver, app, sdk, client }) => {
      const name = unique('public-count-');
      const a = await client();
      const b = await client();
      await h.subscribe(a, name);
      await receiver.waitEvent((e) => e.name === 'subscription_count' && e.channel === name && e.subscription_count === 1);
      await h.subscribe(b, name);
      const ev = await receiver.waitEvent((e) => e.name === 'subscription_count' && e.channel === name && e.subscription_count === 2);
      const { hook, ...fields } = ev;
      assert.deepEqual(fields, { name: 'subscription_count', channel: name, subscription_count: 2 });
      b.unsubscribe(name);
      const counts = () => receiver.events().filter((e) => e.name === 'subscription_count' && e.channel === name)
        .map((e) => e.subscription_count);
      await h.waitFor(() => counts().length >= 3, 3000, 'subscription_count after the leave');
      assert.deepEqual(counts(), [1, 2, 1]);
      assertValidHooks(receiver, app, sdk);
    }));

  test('event_types: a second URL with ["member_added"] only gets member_added', () =>
    withSetup({ hooks: [{}, { event_types: ['member_added'] }] }, async ({ receivers, app, sdk, client }) => {
      const [all, onlyAdded] = receivers;
      const name = unique('presence-filter-');
      const u1 = await client({ user: { user_id: 'u1' } });
      await h.subscribe(u1, name);
      await all.waitEvent((e) => e.name === 'channel_occupied' && e.channel === name);
      await all.waitEvent((e) => e.name === 'member_added' && e.user_id === 'u1');
      await onlyAdded.waitEvent((e) => e.name === 'member_added' && e.user_id === 'u1');
      const u2 = await client({ user: { user_id: 'u2' } });
      await h.subscribe(u2, name);
      await all.waitEvent((e) => e.name === 'member_added' && e.user_id === 'u2');
      await onlyAdded.waitEvent((e) => e.name === 'member_added' && e.user_id === 'u2');
      assertValidHooks(all, app, sdk);
      assertValidHooks(onlyAdded, app, sdk);
      assert.deepEqual(onlyAdded.events().map((e) => [e.name, e.user_id]),
        [['member_added', 'u1'], ['member_added', 'u2']]);
      assert.ok(all.events().some((e) => e.name === 'channel_occupied'), 'the unfiltered URL gets everything');
    }));

  test('webhook_batching: several events in one request', () =>
    withSetup({ app: { webhook_batching: true }, hooks: [{}, { event_types: ['member_added'] }] }, async ({ receivers, app, sdk, client }) => {
      const [receiver, filtered] = receivers;
      const pres = unique('presence-batch-');
      const pubs = [unique('public-batch-'), unique('public-batch-')];
      const c = await client({ user: { user_id: 'batcher' } });
      const chans = [c.subscribe(pres), ...pubs.map((p) => c.subscribe(p))];
      await Promise.all(chans.map((ch) => h.subscribed(ch)));
      await receiver.waitEvent((e) => e.name === 'member_added' && e.channel === pres);
      await Promise.all([pres, ...pubs].map((n) => receiver.waitEvent((e) => e.name === 'channel_occupied' && e.channel === n)));
      assertValidHooks(receiver, app, sdk);
      const total = receiver.events().length;
      assert.equal(total, 4, JSON.stringify(receiver.hooks.map((hk) => hk.events)));
      assert.ok(receiver.hooks.length < total,
        `batched: ${total} events in ${receiver.hooks.length} requests`);
      const added = receiver.events().find((e) => e.name === 'member_added');
      assert.ok(added.hook.events.length > 1, 'member_added shares its request with other events');
      assert.ok(added.hook.events.some((e) => e.name === 'channel_occupied' && e.channel === pres),
        'occupied and member_added of one join travel together');
      // A filtered URL gets its own batch with only its event types.
      await filtered.waitEvent((e) => e.name === 'member_added' && e.channel === pres);
      assertValidHooks(filtered, app, sdk);
      assert.deepEqual(filtered.events().map(({ hook, ...e }) => e),
        [{ name: 'member_added', channel: pres, user_id: 'batcher' }]);
    }));

  test('retries: 500, 500, then 200 delivers the same request three times with 1 s, 2 s back-off', () => {
    // The first two attempts of every distinct body fail.
    const respond = (hook, hooks) => (hooks.filter((x) => x.rawBody === hook.rawBody).length < 2 ? 500 : 200);
    return withSetup({ hooks: [{ respond }] }, async ({ receiver, app, sdk, client }) => {
      const name = unique('public-retry-');
      const c = await client();
      await h.subscribe(c, name);
      const ok = await receiver.waitHook((hk) => hk.status === 200, 1000 + 2000 + 3000);
      const attempts = receiver.hooks.filter((hk) => hk.rawBody === ok.rawBody);
      assert.deepEqual(attempts.map((hk) => hk.status), [500, 500, 200]);
      assert.deepEqual(ok.events, [{ name: 'channel_occupied', channel: name }]);
      for (const hk of attempts)
        assert.equal(hk.headers['x-pusher-signature'], ok.headers['x-pusher-signature']);
      const gap1 = attempts[1].at - attempts[0].at;
      const gap2 = attempts[2].at - attempts[1].at;
      assert.ok(gap1 >= 900 && gap1 < 1800, `first retry after ${gap1} ms (1 s back-off)`);
      assert.ok(gap2 >= 1900 && gap2 < 2800, `second retry after ${gap2} ms (2 s back-off)`);
      assertValidHooks(receiver, app, sdk);
      // Delivered: no fourth attempt (the next would be due 4 s later).
      await quiet(4500);
      assert.equal(receiver.hooks.filter((hk) => hk.rawBody === ok.rawBody).length, 3, 'no retry after a 200');
    });
  });
});
