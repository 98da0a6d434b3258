'use strict';
// Webhooks over https (peer verified against a given CA or the system CAs,
// or explicitly not at all), custom headers per webhook, and IPv6 literal
// URLs. Receivers are Node http/https servers with test certificates
// (support/tls.js).

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const fs = require('node:fs');
const { EventEmitter } = require('node:events');
const h = require('./support/node');
const { makeCa } = require('./support/tls');

const ca = makeCa();
after(() => ca.remove());

/**
 * A receiver on `host`:0, https when `files` ({cert, key}) is given. hooks:
 * every request {url, headers, rawBody, servername}; tlsErrors: failed
 * handshakes.
 */
async function startReceiver({ files, host = '127.0.0.1' } = {}) {
  const emitter = new EventEmitter();
  const hooks = [];
  const tlsErrors = [];
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const hook = {
        url: req.url, headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8'),
        servername: req.socket.servername,
      };
      hooks.push(hook);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      emitter.emit('hook', hook);
    });
  };
  const server = files
    ? https.createServer({ cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) }, handler)
    : http.createServer(handler);
  server.on('tlsClientError', (err) => { tlsErrors.push(err.message); emitter.emit('tlsError', err); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  return {
    port,
    hooks,
    tlsErrors,
    emitter,
    waitHook(timeoutMs = 5000) {
      if (hooks.length) return Promise.resolve(hooks[0]);
      return h.waitFor(emitter, 'hook', timeoutMs);
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Starts a node whose app posts to `webhooks`, then occupies a channel. */
async function occupy(t, webhooks) {
  const app = h.makeApp({ webhooks });
  const node = await h.startNode({ apps: [app] });
  t.after(() => node.stop());
  const client = h.rawClient(node);
  t.after(() => client.ws.terminate());
  await client.waitFrame('pusher:connection_established');
  client.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'hooked' } }));
  await client.waitFrame('pusher_internal:subscription_succeeded');
  return { node, app };
}

function assertSigned(hook, app) {
  assert.equal(hook.headers['x-pusher-key'], app.key);
  assert.equal(hook.headers['x-pusher-signature'], h.hmac(app.secret, hook.rawBody));
  assert.equal(JSON.parse(hook.rawBody).events[0].name, 'channel_occupied');
}

test('an https receiver signed by the configured CA gets the webhook with its custom headers and SNI', async (t) => {
  const receiver = await startReceiver({ files: ca.issue('receiver') });
  t.after(() => receiver.close());
  const { app } = await occupy(t, [{
    url: `https://localhost:${receiver.port}/hook`,
    tls_ca_file: ca.caFile,
    headers: { 'X-Auth-Token': 's3cret', 'X-Tenant': 'blue', 'X-Pusher-Key': 'forged' },
  }]);
  const hook = await receiver.waitHook();
  assert.equal(hook.url, '/hook');
  assert.equal(hook.servername, 'localhost');
  assert.equal(hook.headers['x-auth-token'], 's3cret');
  assert.equal(hook.headers['x-tenant'], 'blue');
  assert.equal(hook.headers.host, `localhost:${receiver.port}`);
  assertSigned(hook, app); // The configured X-Pusher-Key does not win.
});

test('an https receiver with an untrusted certificate gets nothing, the failure is logged; tls_skip_verify delivers', async (t) => {
  const receiver = await startReceiver({ files: ca.selfSigned('untrusted') });
  t.after(() => receiver.close());
  const { node } = await occupy(t, [{ url: `https://127.0.0.1:${receiver.port}/hook` }]);
  await h.waitFor(() => /webhook TLS handshake failed url=https:\/\/127\.0\.0\.1:\d+\/hook: certificate verify failed/
    .test(node.stderr()), 5000, 'the TLS failure in the log');
  assert.ok(receiver.tlsErrors.length > 0);
  assert.equal(receiver.hooks.length, 0);

  const skipping = await startReceiver({ files: ca.selfSigned('untrusted-2') });
  t.after(() => skipping.close());
  const { app } = await occupy(t, [{ url: `https://127.0.0.1:${skipping.port}/hook`, tls_skip_verify: true }]);
  assertSigned(await skipping.waitHook(), app);
  assert.equal(receiver.hooks.length, 0);
});

function ipv6Loopback() {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

test('an IPv6 literal URL http://[::1]:port/path is delivered with a bracketed Host header', async (t) => {
  if (!(await ipv6Loopback())) {
    t.skip('no IPv6 loopback (::1) on this machine');
    return;
  }
  const receiver = await startReceiver({ host: '::1' });
  t.after(() => receiver.close());
  const { app } = await occupy(t, [{ url: `http://[::1]:${receiver.port}/v6/hook` }]);
  const hook = await receiver.waitHook();
  assert.equal(hook.url, '/v6/hook');
  assert.equal(hook.headers.host, `[::1]:${receiver.port}`);
  assertSigned(hook, app);
});

test('webhook URLs and headers are checked at start', async () => {
  const bad = async (webhooks, pattern) => assert.rejects(
    h.startNode({ apps: [h.makeApp({ webhooks })] }), pattern);
  await bad([{ url: 'ftp://127.0.0.1/hook' }], /webhooks\[0\]\.url.*http\[s\]:\/\/host/);
  await bad([{ url: 'http://[::1/hook' }], /webhooks\[0\]\.url/);
  await bad([{ url: 'http://127.0.0.1/hook', tls_skip_verify: true }], /tls_skip_verify.*only applies to https/);
  await bad([{ url: 'https://127.0.0.1/hook', headers: { 'Bad Name': 'x' } }], /not a valid header name/);
  await bad([{ url: 'https://127.0.0.1/hook', headers: { 'X-A': 'a\r\nX-B: b' } }], /must not contain line breaks/);
  await bad([{ url: 'https://127.0.0.1/hook', headers: { 'X-A': 1 } }], /headers\.X-A.*must be a string/);
});
