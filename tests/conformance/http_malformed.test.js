'use strict';
// Malformed and hostile HTTP on the public port, over raw TCP sockets:
// unknown methods, garbage request lines, binary bytes, oversized headers
// (431) and bodies (413), broken chunked encoding, requests that never
// finish (closed after server.http_timeout_s), a slowloris that must not
// starve a normal trigger, keep-alive and pipelining. After every case the
// node must still be alive and a normal `pusher` SDK trigger must return 200
// and be delivered to a pusher-js subscriber.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const h = require('./support/node');

const HTTP_TIMEOUT_S = 2; // server.http_timeout_s
const MAX_BODY = 4096; // server.max_http_body_bytes
const CLOSE_MARGIN_MS = 1500; // slack on top of the read timeout
const ANSWER_MS = 3000; // bound on any answer that needs no timeout

const res = h.resources();
let node;
let app;
let sdk;
let health; // pusher-js channel that receives the health-check triggers
let healthSeq = 0;
const sockets = new Set(); // every raw socket, destroyed at the end

let seq = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++seq}`;

before(async () => {
  app = h.makeApp();
  node = await res.node({
    server: { http_timeout_s: HTTP_TIMEOUT_S, max_http_body_bytes: MAX_BODY },
    apps: [app],
  });
  // A new connection per SDK request: each health check also proves the
  // node still accepts, and no pooled connection can meet the server's idle
  // keep-alive close (http_timeout_s, 2 s here) in the same instant.
  sdk = h.serverSdk(node, app, { timeout: ANSWER_MS, agent: new http.Agent({ keepAlive: false }) });
  const c = res.client(node, app);
  await h.connected(c);
  health = await h.subscribe(c, unique('health-'));
});

after(async () => {
  for (const s of sockets) s.destroy();
  await res.cleanup();
});

/** The node runs and a normal SDK trigger is answered 200 and delivered. */
async function assertHealthy(label = '') {
  assert.ok(node.alive(), `node alive ${label}\n${node.stderr()}`);
  const n = ++healthSeq;
  const got = h.nextEvent(health, 'health', ANSWER_MS, (d) => d && d.n === n);
  const t0 = Date.now();
  const r = await sdk.trigger(health.name, 'health', { n }).catch((err) => {
    throw new Error(`SDK trigger after ${label}: ${err.message} ${err.error ? err.error.message : ''}`);
  });
  assert.equal(r.status, 200, `SDK trigger after ${label}`);
  await got;
  return Date.now() - t0;
}

// -- raw HTTP over TCP ------------------------------------------------------------

/** Parses complete HTTP/1.x responses (all carry Content-Length) from `buf`. */
function parseResponses(buf) {
  const out = [];
  let rest = buf;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const headers = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] || 0);
    if (rest.length < end + 4 + length) break;
    const body = rest.subarray(end + 4, end + 4 + length).toString('utf8');
    let json;
    try { json = JSON.parse(body); } catch (_) { json = undefined; }
    out.push({ version: m[1], status: Number(m[2]), reason: m[3], headers, body, json });
    rest = rest.subarray(end + 4 + length);
  }
  return out;
}

/**
 * A raw TCP connection to the node. Records every byte received, when the
 * server ended the connection (FIN or reset) and parses responses.
 */
class Conn {
  static open(port = node.port, timeoutMs = ANSWER_MS) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      sockets.add(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connect to ${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
      socket.once('connect', () => { clearTimeout(timer); resolve(new Conn(socket)); });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.openedAt = Date.now();
    this.data = Buffer.alloc(0);
    this.endedAt = null; // server FIN, reset or close, whichever first
    this.how = null;
    this.listeners = new Set();
    socket.on('data', (d) => { this.data = Buffer.concat([this.data, d]); this.notify(); });
    const ended = (how) => {
      if (this.endedAt === null) { this.endedAt = Date.now(); this.how = how; }
      this.notify();
    };
    socket.on('end', () => ended('end'));
    socket.on('error', (err) => ended(`error ${err.code}`));
    socket.on('close', () => { ended('close'); sockets.delete(socket); });
  }

  get ended() { return this.endedAt !== null; }

  notify() { for (const fn of [...this.listeners]) fn(); }

  write(bytes) {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  responses() { return parseResponses(this.data); }

  /** Resolves once `pred()` is truthy; rejects on timeout. */
  until(pred, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = pred(); } catch (err) { done(); return reject(err); }
        if (v) { done(); resolve(v); }
      };
      const done = () => { clearTimeout(timer); this.listeners.delete(check); };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.data.toString('latin1').slice(0, 400))}, ended ${this.how}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** The first `n` responses; rejects if the server ends the connection first. */
  waitResponses(n, timeoutMs = ANSWER_MS) {
    return this.until(() => {
      const rs = this.responses();
      if (rs.length >= n) return rs;
      if (this.ended) throw new Error(`connection ended (${this.how}) after ${rs.length} of ${n} responses: ${JSON.stringify(this.data.toString('latin1').slice(0, 400))}`);
      return null;
    }, timeoutMs, `${n} responses`);
  }

  /** Resolves with ms from open to the server ending the connection. */
  async waitEnd(timeoutMs = ANSWER_MS) {
    await this.until(() => this.ended, timeoutMs, 'the server to close the connection');
    return this.endedAt - this.openedAt;
  }

  destroy() { this.socket.destroy(); }
}

/** Sends `bytes` on a fresh connection; resolves with the Conn. */
async function send(bytes) {
  const c = await Conn.open();
  c.write(bytes);
  return c;
}

/** A query string signed for `method path` with `body` (Pusher HTTP API auth). */
function signedTarget(method, path, body = '', a = app) {
  const params = {
    auth_key: a.key,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
  };
  if (body !== '') params.body_md5 = h.md5(body);
  const sorted = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const sig = h.hmac(a.secret, `${method}\n${path}\n${sorted}`);
  return `${path}?${new URLSearchParams({ ...params, auth_signature: sig })}`;
}

/** A complete signed trigger request (raw bytes). */
function triggerRequest(channel, event, data, { headers = '', version = '1.1', method = 'POST' } = {}) {
  const body = JSON.stringify({ name: event, channels: [channel], data: JSON.stringify(data) });
  const path = `/apps/${app.id}/events`;
  return `${method} ${signedTarget(method, path, body)} HTTP/${version}\r\n`
    + `Host: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}`
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A signed GET of a channel's info (raw bytes). */
function channelInfoRequest(channel) {
  const path = `/apps/${app.id}/channels/${channel}`;
  return `GET ${signedTarget('GET', path)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}

/** A pusher-js subscriber on a fresh channel; log gets every event. */
async function subscriber() {
  const c = res.client(node, app);
  await h.connected(c);
  const ch = await h.subscribe(c, unique('raw-'));
  return { ch, log: h.recordChannel(ch) };
}

/** Asserts a 4xx JSON answer with `status`, then that the server closes. */
async function assertRejectedAndClosed(c, status, label) {
  const [r] = await c.waitResponses(1);
  assert.equal(r.status, status, `${label}: ${r.status} ${r.body}`);
  assert.equal(r.json && r.json.code, status, `${label}: JSON error body ${r.body}`);
  assert.equal(typeof r.json.error, 'string');
  assert.match(r.headers.connection || '', /close/i, `${label}: Connection: close`);
  await c.waitEnd();
  assert.equal(c.responses().length, 1, `${label}: exactly one response`);
}

// -- cases ------------------------------------------------------------------------

test('unknown method (BREW): a 4xx answer, never a hang; the connection stays usable', async () => {
  const path = `/apps/${app.id}/events`;
  // Unsigned: 401. Signed for BREW: passes auth, then the method is wrong.
  const unsigned = await send(`BREW ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
  const body = '{"name":"ev","channels":["x"],"data":"{}"}';
  const signed = await send(`BREW ${signedTarget('BREW', path, body)} HTTP/1.1\r\nHost: x\r\n`
    + `Content-Length: ${body.length}\r\n\r\n${body}`);
  const [a] = await unsigned.waitResponses(1);
  const [b] = await signed.waitResponses(1);
  assert.ok(a.status >= 400 && a.status < 500, `unsigned BREW: ${a.status} ${a.body}`);
  assert.ok(b.status >= 400 && b.status < 500, `signed BREW: ${b.status} ${b.body}`);
  assert.equal(b.status, 405, `signed BREW to /events: 405, got ${b.status} ${b.body}`);
  // The request was complete and well framed: keep-alive goes on (or the
  // server closed cleanly). A trigger on the same socket then works.
  const { ch, log } = await subscriber();
  for (const c of [unsigned, signed]) {
    if (c.ended) continue;
    c.write(triggerRequest(ch.name, 'after-brew', { ok: 1 }));
    const rs = await c.waitResponses(2);
    assert.equal(rs[1].status, 200, `trigger after BREW on the same socket: ${rs[1].body}`);
  }
  await h.waitFor(() => log.filter((e) => e.event === 'after-brew').length
    === [unsigned, signed].filter((c) => !c.ended).length, ANSWER_MS);
  unsigned.destroy();
  signed.destroy();
  await assertHealthy('BREW');
});

test('garbage request lines and binary bytes: 400 JSON and close', async () => {
  const cases = {
    'bare word': 'GARBAGE\r\n\r\n',
    'binary, terminated': Buffer.concat([Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x07, 0x1b]), Buffer.from('\r\n\r\n')]),
    'binary, no terminator': Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x09, 0x09]),
    'TLS ClientHello': Buffer.from('16030100a5010000a10303' + '00'.repeat(32), 'hex'),
    'HTTP/2 preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'bad version': 'GET / FOO/1.1\r\n\r\n',
    'HTTP/0.9 style': 'GET /\r\n\r\n',
    'no spaces': `POST/apps/${app.id}/eventsHTTP/1.1\r\n\r\n`,
    'header without colon': 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    'NUL in header value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
    'non-numeric Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    'negative Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello',
    'conflicting Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
    'Content-Length with chunked': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  };
  const conns = await Promise.all(Object.values(cases).map((bytes) => send(bytes)));
  const labels = Object.keys(cases);
  await Promise.all(conns.map((c, i) => assertRejectedAndClosed(c, 400, labels[i])));
  // The admin listener runs the same session code.
  const admin = await Conn.open(node.adminPort);
  admin.write('GARBAGE\r\n\r\n');
  await assertRejectedAndClosed(admin, 400, 'admin port');
  await assertHealthy('garbage');
});

test('64 KB of headers, a 20 KB target, a huge header value: 431 and close', async () => {
  const pad = ('X-Pad: ' + 'a'.repeat(1000) + '\r\n').repeat(64);
  const conns = await Promise.all([
    send(`POST /apps/${app.id}/events HTTP/1.1\r\nHost: x\r\n${pad}\r\n`),
    send(`GET /${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`),
    // Never terminated: the limit fires without waiting for the timeout.
    send(`GET / HTTP/1.1\r\nHost: x\r\n${pad}`),
  ]);
  const t0 = Date.now();
  await Promise.all(conns.map((c, i) => assertRejectedAndClosed(c, 431, `431 case ${i}`)));
  assert.ok(Date.now() - t0 < HTTP_TIMEOUT_S * 1000, 'answered at once, not after the read timeout');
  await assertHealthy('431');
});

test(`a body over max_http_body_bytes (${MAX_BODY}): 413 and close; exactly the limit: 200`, async () => {
  const path = `/apps/${app.id}/events`;
  const chunked = ('400\r\n' + 'a'.repeat(1024) + '\r\n').repeat(5) + '0\r\n\r\n';
  const conns = await Promise.all([
    send(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY * 3}\r\n\r\n${'x'.repeat(MAX_BODY * 3)}`),
    // Refused on the header alone: no need to wait for the body.
    send(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`),
    send(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`),
  ]);
  await Promise.all(conns.map((c, i) => assertRejectedAndClosed(c, 413, `413 case ${i}`)));

  // Boundary: a signed trigger whose body is exactly MAX_BODY bytes passes,
  // one byte more is 413.
  const { ch, log } = await subscriber();
  const bodyOf = (len) => {
    const base = JSON.stringify({ name: 'edge', channels: [ch.name], data: '' });
    return JSON.stringify({ name: 'edge', channels: [ch.name], data: 'p'.repeat(len - base.length) });
  };
  const raw = (body) => `POST ${signedTarget('POST', path, body)} HTTP/1.1\r\nHost: x\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const exact = bodyOf(MAX_BODY);
  const over = bodyOf(MAX_BODY + 1);
  assert.equal(exact.length, MAX_BODY);
  assert.equal(over.length, MAX_BODY + 1);
  const ok = await send(raw(exact));
  const [r] = await ok.waitResponses(1);
  assert.equal(r.status, 200, `body of exactly ${MAX_BODY} bytes: ${r.body}`);
  await h.waitFor(() => log.some((e) => e.event === 'edge'), ANSWER_MS);
  ok.destroy();
  await assertRejectedAndClosed(await send(raw(over)), 413, `body of ${MAX_BODY + 1} bytes`);
  await assertHealthy('413');
});

test('broken chunked bodies: 400 and close; a valid chunked trigger: 200', async () => {
  const head = `POST /apps/${app.id}/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const conns = await Promise.all([
    send(`${head}ZZ\r\nhello\r\n0\r\n\r\n`), // not hex
    send(`${head}5\r\nhelloEXTRA\r\n0\r\n\r\n`), // more data than the size
    send(`${head}FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n`), // size overflows
    send(`${head}-1\r\nhello\r\n0\r\n\r\n`), // negative
    send(`${head}5 5\r\nhello\r\n0\r\n\r\n`), // junk after the size
  ]);
  await Promise.all(conns.map((c, i) => assertRejectedAndClosed(c, 400, `chunked case ${i}`)));

  // Positive control: the same framing, well formed and signed.
  const { ch, log } = await subscriber();
  const path = `/apps/${app.id}/events`;
  const body = JSON.stringify({ name: 'chunked', channels: [ch.name], data: '{"c":1}' });
  const mid = Math.floor(body.length / 2);
  const chunks = [body.slice(0, mid), body.slice(mid)]
    .map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`).join('');
  const ok = await send(`POST ${signedTarget('POST', path, body)} HTTP/1.1\r\nHost: x\r\n`
    + `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
  const [r] = await ok.waitResponses(1);
  assert.equal(r.status, 200, `valid chunked trigger: ${r.body}`);
  await h.waitFor(() => log.some((e) => e.event === 'chunked'), ANSWER_MS);
  ok.destroy();
  await assertHealthy('broken chunked');
});

test(`requests that never finish are closed within http_timeout_s (${HTTP_TIMEOUT_S} s) + margin`, async () => {
  const path = `/apps/${app.id}/events`;
  const limit = HTTP_TIMEOUT_S * 1000 + CLOSE_MARGIN_MS;
  const trickle = (c, bytes, everyMs) => {
    let i = 0;
    const timer = setInterval(() => {
      if (c.ended || i >= bytes.length) return clearInterval(timer);
      c.write(bytes.slice(i, i + 1));
      i += 1;
    }, everyMs);
    return () => clearInterval(timer);
  };
  const cases = {};
  cases.silent = await Conn.open(); // connects, sends nothing
  cases['headers never end'] = await send(`POST ${path} HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n`);
  cases['body shorter than Content-Length'] = await send(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789`);
  cases['chunked body never ends'] = await send(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
  // One byte every 200 ms: the deadline covers the whole request, it is
  // not re-armed by each byte.
  cases['trickled headers'] = await Conn.open();
  const stopA = trickle(cases['trickled headers'], `POST ${path} HTTP/1.1\r\nHost: x\r\n${'X-Slow: 1\r\n'.repeat(100)}`, 200);
  cases['trickled body'] = await send(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
  const stopB = trickle(cases['trickled body'], 'x'.repeat(1000), 200);
  // Idle keep-alive after one answered request: the next read times out.
  cases['idle keep-alive'] = await send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await cases['idle keep-alive'].waitResponses(1);
  cases['idle keep-alive'].openedAt = Date.now();

  const labels = Object.keys(cases);
  try {
    const times = await Promise.all(labels.map((k) => cases[k].waitEnd(limit + 500)
      .catch((err) => { throw new Error(`${k}: ${err.message}`); })));
    labels.forEach((k, i) => {
      assert.ok(times[i] <= limit, `${k}: closed after ${times[i]} ms, limit ${limit} ms`);
      // It was the read timeout, not an early refusal.
      assert.ok(times[i] >= HTTP_TIMEOUT_S * 1000 - 500, `${k}: closed already after ${times[i]} ms`);
      // Nothing but (at most) a 408 before the close.
      const rs = cases[k].responses();
      const expected = k === 'idle keep-alive' ? 1 : 0;
      assert.ok(rs.length === expected || (rs.length === expected + 1 && rs[expected].status === 408),
        `${k}: unexpected answer ${cases[k].data.toString('latin1').slice(0, 300)}`);
    });
  } finally {
    stopA();
    stopB();
    for (const c of Object.values(cases)) c.destroy();
  }
  await assertHealthy('timeouts');
});

test('slowloris: 100 unfinished requests do not stop normal triggers, and are all closed', async () => {
  const path = `/apps/${app.id}/events`;
  const { ch, log } = await subscriber();
  const slow = [];
  // 50 whose headers never finish, 50 whose bodies never finish; every one
  // keeps dribbling a byte so none looks idle.
  const opened = await Promise.all(Array.from({ length: 100 }, (_, i) => Conn.open()));
  opened.forEach((c, i) => {
    c.write(i < 50
      ? `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `
      : `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY}\r\n\r\n`);
    slow.push(c);
  });
  const dribble = setInterval(() => {
    for (const c of slow) if (!c.ended) c.write('a');
  }, 100);
  try {
    // Meanwhile: SDK triggers, a new WebSocket connection and a raw request.
    const latencies = [];
    for (let i = 0; i < 10; ++i) {
      const t0 = Date.now();
      const r = await sdk.trigger(ch.name, 'during-slowloris', { i });
      assert.equal(r.status, 200);
      latencies.push(Date.now() - t0);
    }
    const fresh = res.client(node, app);
    await h.connected(fresh, ANSWER_MS);
    const raw = await send(triggerRequest(ch.name, 'during-slowloris', { i: 10 }));
    assert.equal((await raw.waitResponses(1))[0].status, 200);
    raw.destroy();
    await h.waitFor(() => log.filter((e) => e.event === 'during-slowloris').length === 11, ANSWER_MS,
      '11 events delivered during the slowloris');
    assert.deepEqual(log.filter((e) => e.event === 'during-slowloris').map((e) => e.data.i),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The slow connections were all still held while this ran.
    assert.equal(slow.filter((c) => c.ended).length, 0, 'slowloris connections still open during the triggers');
    assert.ok(Math.max(...latencies) < 1000, `trigger latencies ${latencies}`);
    // And the server drops every one of them at the read timeout.
    const limit = HTTP_TIMEOUT_S * 1000 + CLOSE_MARGIN_MS;
    const times = await Promise.all(slow.map((c) => c.waitEnd(limit + 1000)));
    assert.ok(Math.max(...times) <= limit, `slowloris closed after at most ${Math.max(...times)} ms, limit ${limit}`);
  } finally {
    clearInterval(dribble);
    for (const c of slow) c.destroy();
  }
  await assertHealthy('slowloris');
});

test('keep-alive: two signed requests on one socket are both answered', async () => {
  const { ch, log } = await subscriber();
  const c = await Conn.open();
  c.write(triggerRequest(ch.name, 'ka', { n: 1 }));
  const [first] = await c.waitResponses(1);
  assert.equal(first.status, 200, first.body);
  assert.equal(first.body, '{}');
  assert.ok(!/close/i.test(first.headers.connection || ''), 'HTTP/1.1 response keeps the connection');
  assert.equal(c.ended, false);
  c.write(triggerRequest(ch.name, 'ka', { n: 2 }));
  const rs = await c.waitResponses(2);
  assert.equal(rs[1].status, 200, rs[1].body);
  await h.waitFor(() => log.filter((e) => e.event === 'ka').length === 2, ANSWER_MS);
  assert.deepEqual(log.filter((e) => e.event === 'ka').map((e) => e.data.n), [1, 2]);
  // A third request asks to close: answered, then closed.
  c.write(triggerRequest(ch.name, 'ka', { n: 3 }, { headers: 'Connection: close\r\n' }));
  const third = (await c.waitResponses(3))[2];
  assert.equal(third.status, 200);
  assert.match(third.headers.connection || '', /close/i);
  await c.waitEnd();

  // HTTP/1.0 without keep-alive: answered and closed.
  const old = await send(triggerRequest(ch.name, 'ka', { n: 4 }, { version: '1.0' }));
  const [r10] = await old.waitResponses(1);
  assert.equal(r10.status, 200, r10.body);
  await old.waitEnd();
  await h.waitFor(() => log.filter((e) => e.event === 'ka').length === 4, ANSWER_MS);
  await assertHealthy('keep-alive');
});

test('pipelining: requests written back to back are answered in order', async () => {
  const { ch, log } = await subscriber();
  const c = await Conn.open();
  c.write(triggerRequest(ch.name, 'pipe', { n: 1 })
    + triggerRequest(ch.name, 'pipe', { n: 2 })
    + channelInfoRequest(ch.name)
    + triggerRequest(ch.name, 'pipe', { n: 3 }));
  const rs = await c.waitResponses(4);
  assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200], rs.map((r) => r.body).join(' | '));
  assert.equal(rs[0].body, '{}');
  assert.equal(rs[2].json && rs[2].json.occupied, true, `channel info in third place: ${rs[2].body}`);
  await h.waitFor(() => log.filter((e) => e.event === 'pipe').length === 3, ANSWER_MS);
  assert.deepEqual(log.filter((e) => e.event === 'pipe').map((e) => e.data.n), [1, 2, 3]);
  c.destroy();

  // A good request followed by garbage: the first is answered, then 400 and close.
  const mixed = await send(triggerRequest(ch.name, 'pipe', { n: 4 }) + 'GARBAGE\r\n\r\n');
  const two = await mixed.waitResponses(2);
  assert.equal(two[0].status, 200);
  assert.equal(two[1].status, 400);
  await mixed.waitEnd();
  await h.waitFor(() => log.filter((e) => e.event === 'pipe').length === 4, ANSWER_MS);

  // 50 pipelined triggers in one write, split at odd byte boundaries.
  const many = await Conn.open();
  const bytes = Buffer.from(Array.from({ length: 50 }, (_, i) => triggerRequest(ch.name, 'bulk', { i })).join(''));
  for (let off = 0; off < bytes.length; off += 777) many.write(bytes.subarray(off, off + 777));
  const all = await many.waitResponses(50);
  assert.ok(all.every((r) => r.status === 200), 'all 50 pipelined triggers 200');
  await h.waitFor(() => log.filter((e) => e.event === 'bulk').length === 50, ANSWER_MS);
  assert.deepEqual(log.filter((e) => e.event === 'bulk').map((e) => e.data.i), Array.from({ length: 50 }, (_, i) => i));
  many.destroy();
  await assertHealthy('pipelining');
});

test('clients that vanish mid-request (half-close, reset) do not hurt the node', async () => {
  const path = `/apps/${app.id}/events`;
  // Half-close after part of the headers: the server may answer 400, then closes.
  const half = await send(`POST ${path} HTTP/1.1\r\nHost: x\r\n`);
  half.socket.end();
  await half.waitEnd();
  const rs = half.responses();
  assert.ok(rs.length === 0 || rs[0].status === 400, `half-close: ${half.data.toString('latin1').slice(0, 200)}`);
  // Half-close after part of a body.
  const halfBody = await send(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc`);
  halfBody.socket.end();
  await halfBody.waitEnd();
  // Resets at every stage, many at once.
  const stages = [
    '',
    'POST ',
    `POST ${path} HTTP/1.1\r\nHost: x\r\n`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nxx`,
    triggerRequest('reset-ch', 'ev', {}), // complete: reset before the answer is read
  ];
  const conns = await Promise.all(Array.from({ length: 50 }, (_, i) => send(stages[i % stages.length])));
  for (const c of conns) c.socket.resetAndDestroy();
  await assertHealthy('vanishing clients');
});
