'use strict';
// I/O threads: with server.io_threads = 2 the listener deals connections to
// both threads (the per-thread gauge of /metrics shows each holding some),
// and an event on a channel whose subscribers sit on both threads reaches
// every one of them, as does a client event from a socket of one thread to
// the sockets of the other. io_threads = 1 keeps the single-thread path.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');

const CLIENTS = 20;

const res = h.resources();
after(() => res.cleanup());

/** Opens `n` raw clients subscribed to `channel`. */
async function subscribers(node, n, channel) {
  return Promise.all(Array.from({ length: n }, async () => {
    const r = res.raw(node);
    await r.established();
    await r.subscribe(channel, '', undefined);
    return r;
  }));
}

/** The per-thread session gauge of /metrics: {thread index: count}. */
async function perThread(node) {
  const m = await f.metrics(node);
  const out = {};
  for (const [name, value] of Object.entries(m)) {
    const hit = /^starling_io_thread_connections\{thread="(\d+)"\}$/.exec(name);
    if (hit) out[hit[1]] = value;
  }
  return out;
}

test(`io_threads = 2: ${CLIENTS} connections land on both threads and every one gets the channel's events`, async () => {
  const node = await res.node({ server: { io_threads: 2 } });
  const channel = `spread-${process.pid}`;
  const raws = await subscribers(node, CLIENTS, channel);
  const threads = await perThread(node);
  assert.deepEqual(Object.keys(threads).sort(), ['0', '1']);
  assert.equal(threads['0'] + threads['1'], CLIENTS);
  assert.ok(threads['0'] > 0 && threads['1'] > 0, `both threads hold connections: ${JSON.stringify(threads)}`);

  for (let i = 0; i < 3; ++i) {
    const got = raws.map((r) => r.waitFrame((x) => x.event === 'tick' && x.channel === channel && x.data === String(i)));
    const reply = await h.signedRequest(node, { body: { name: 'tick', channels: [channel], data: String(i) } });
    assert.equal(reply.status, 200);
    await Promise.all(got);
  }
});

test('io_threads = 2: a client event crosses from one thread\'s socket to the other\'s', async () => {
  const app = h.makeApp({ enable_client_messages: true });
  const node = await res.node({ server: { io_threads: 2 }, apps: [app] });
  const channel = `private-cross-${process.pid}`;
  // Round-robin dealing: consecutive connections sit on different threads.
  const raws = [];
  for (let i = 0; i < 4; ++i) {
    const r = res.raw(node, { key: app.key });
    await r.established();
    await r.subscribe(channel, h.channelAuth(app, r.socketId, channel));
    raws.push(r);
  }
  const threads = await perThread(node);
  assert.ok(threads['0'] > 0 && threads['1'] > 0, `both threads hold connections: ${JSON.stringify(threads)}`);
  const got = raws.slice(1).map((r) => r.waitFrame((x) => x.event === 'client-hi' && x.channel === channel));
  raws[0].send({ event: 'client-hi', channel, data: { n: 1 } });
  await Promise.all(got);
});

test('io_threads = 1: one thread holds every connection and delivers', async () => {
  const node = await res.node({ server: { io_threads: 1 } });
  const channel = `one-${process.pid}`;
  const raws = await subscribers(node, 4, channel);
  assert.deepEqual(await perThread(node), { 0: 4 });
  const got = raws.map((r) => r.waitFrame((x) => x.event === 'tick' && x.channel === channel));
  assert.equal((await h.signedRequest(node, { body: { name: 'tick', channels: [channel], data: '1' } })).status, 200);
  await Promise.all(got);
});
