'use strict';
// Liveness with activity_timeout_s = 1 and pong_timeout_s = 1: the server
// pings after silence, keeps clients that answer, closes silent ones with
// 4201, answers pusher:ping and WebSocket pings; SIGTERM drains with 4200.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');

const res = h.resources();
let node;

before(async () => {
  node = await res.node({ server: { activity_timeout_s: 1, pong_timeout_s: 1 } });
});
after(() => res.cleanup());

// The timed cases wait for real seconds: run them side by side.
describe('liveness', { concurrency: true }, () => {
  test('connection_established announces activity_timeout 1', async () => {
    const r = res.raw(node);
    await r.established();
    assert.equal(r.activityTimeout, 1);
  });

  test('pusher:ping from the client gets pusher:pong', async () => {
    const r = res.raw(node);
    await r.established();
    const pong = await r.roundTrip(1000);
    assert.equal(pong.event, 'pusher:pong');
    // The string-data form is answered too.
    const from = r.frames.length;
    r.send('{"event":"pusher:ping","data":"{}"}');
    await r.waitFrame('pusher:pong', 1000, { from });
  });

  test('a WebSocket ping frame gets a pong frame', async () => {
    const r = res.raw(node);
    await r.established();
    const pong = h.waitFor(r.ws, 'pong', 2000);
    r.ws.ping(Buffer.from('are-you-there'));
    assert.equal((await pong).toString(), 'are-you-there');
  });

  test('a silent client gets pusher:ping, then pusher:error 4201 and close 4201', async () => {
    const r = res.raw(node);
    await r.established();
    const ping = await r.waitFrame('pusher:ping', 4000);
    const pingAt = Date.now();
    assert.ok(ping.data !== undefined);
    const info = await r.waitClose(4000);
    assert.equal(info.code, 4201);
    assert.ok(Date.now() - pingAt >= 500, 'the pong timeout runs after the ping');
    const err = r.frames.find((f) => f.event === 'pusher:error');
    assert.ok(err, 'a pusher:error precedes the close');
    assert.equal(err.parsed.code, 4201);
  });

  test('clients that answer stay open across several ping cycles (raw and pusher-js)', async () => {
    const r = res.raw(node);
    await r.established();
    let pings = 0;
    r.on('frame', (f) => {
      if (f.event === 'pusher:ping') {
        ++pings;
        r.send({ event: 'pusher:pong', data: {} });
      }
    });

    const c = res.client(node);
    await h.connected(c);
    const socketId = c.connection.socket_id;
    const changes = [];
    c.connection.bind('state_change', (s) => changes.push(s));
    const channel = await h.subscribe(c, `liveness-${process.pid}`);

    // Three server pings answered: well past activity + pong timeout.
    await h.waitFor(() => pings >= 3, 9000, 'three server pings');
    assert.ok(r.isOpen, 'a client that answers pings stays open');
    assert.equal(r.frames.filter((f) => f.event === 'pusher:error').length, 0);

    assert.deepEqual(changes, [], 'pusher-js stayed connected');
    assert.equal(c.connection.state, 'connected');
    assert.equal(c.connection.socket_id, socketId, 'no reconnect happened');
    const got = h.nextEvent(channel, 'still-here');
    await h.serverSdk(node).trigger(channel.name, 'still-here', {});
    await got;
  });

  test('any client frame counts as activity', async () => {
    const r = res.raw(node);
    await r.established();
    // A client that keeps talking (every 300 ms) never hits the pong timeout.
    const timer = setInterval(() => r.send({ event: 'pusher:ping', data: {} }), 300);
    try {
      await h.waitFor(() => r.frames.filter((f) => f.event === 'pusher:pong').length >= 10, 6000, 'ten pongs');
      assert.ok(r.isOpen);
    } finally {
      clearInterval(timer);
    }
  });
});

test('SIGTERM drains: clients get pusher:error 4200 and close 4200, the process exits 0', async () => {
  const own = await h.startNode({});
  const r = h.rawClient(own);
  const c = h.pusherClient(own);
  try {
    await r.established();
    await h.connected(c);
    const closed = r.waitClose(6000);
    const stopped = own.stop();
    const info = await closed;
    assert.equal(info.code, 4200);
    const err = r.frames.find((f) => f.event === 'pusher:error');
    assert.equal(err && err.parsed.code, 4200);
    const exit = await stopped;
    assert.deepEqual(exit, { code: 0, signal: null, killed: false });
  } finally {
    c.disconnect();
    await r.close();
    await own.stop();
  }
});
