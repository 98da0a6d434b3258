'use strict';
// TLS on the listeners: pusher-js over wss and the `pusher` SDK over https
// on server.tls.port (the plain port keeps working), the admin endpoint over
// https, start-up errors for bad files, and certificate reload on SIGHUP
// without dropping open connections. Certificates come from a test CA made
// with openssl (support/tls.js).

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const tls = require('node:tls');
const { fork } = require('node:child_process');
const h = require('./support/node');
const { makeCa } = require('./support/tls');

const ca = makeCa();
after(() => ca.remove());

const QUERY = 'protocol=7&client=js&version=8.4.0&flash=false';

function tlsServer(files, extra = {}) {
  return { port: 0, tls: { enabled: true, port: 0, cert_file: files.cert, key_file: files.key, ...extra } };
}

/** Resolves with the certificate a fresh TLS connection to `port` sees. */
function peerCertificate(port, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.ca, servername: 'localhost', ...options }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
    socket.setTimeout(3000, () => { socket.destroy(); reject(new Error('TLS connect timed out')); });
  });
}

function serialOf(file) {
  return new crypto.X509Certificate(fs.readFileSync(file)).serialNumber.toUpperCase();
}

function httpsGet(url, options = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: ca.ca, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error('https request timed out')));
  });
}

function wssClient(node) {
  return h.rawClient(node, {
    url: `wss://127.0.0.1:${node.tlsPort}/app/${node.app.key}?${QUERY}`,
    wsOptions: { ca: ca.ca },
  });
}

async function subscribeRaw(client, channel) {
  await client.waitFrame('pusher:connection_established');
  client.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
  await client.waitFrame((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
}

test('pusher-js over wss receives an event the pusher SDK published over https; the plain port still serves ws', async (t) => {
  const node = await h.startNode({ server: tlsServer(ca.issue('wss')) });
  t.after(() => node.stop());
  assert.ok(node.tlsPort > 0 && node.tlsPort !== node.port);

  const child = fork(path.join(__dirname, 'support/pusher_tls_child.js'), [node.app.key, String(node.tlsPort), 'tls-room'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  t.after(() => child.kill());
  const messages = [];
  child.on('message', (m) => messages.push(m));
  await h.waitFor(() => messages.find((m) => m.subscribed || m.error), 8000, 'pusher-js subscribed over wss');
  assert.ok(!messages.find((m) => m.error), JSON.stringify(messages));

  const sdk = h.serverSdk(node, node.app, {
    port: String(node.tlsPort), useTLS: true, agent: new https.Agent({ ca: ca.ca }),
  });
  const res = await sdk.trigger('tls-room', 'greet', { hello: 'wss' });
  assert.equal(res.status, 200);
  const got = await h.waitFor(() => messages.find((m) => m.event), 5000, 'event over wss');
  assert.equal(got.event.event, 'greet');
  assert.deepEqual(got.event.data, { hello: 'wss' });

  const plain = h.rawClient(node);
  t.after(() => plain.ws.terminate());
  await plain.waitFrame('pusher:connection_established');
});

test('the HTTP API answers over https, and a client that does not trust the CA is refused', async (t) => {
  const node = await h.startNode({ server: tlsServer(ca.issue('api')) });
  t.after(() => node.stop());
  const sdk = h.serverSdk(node, node.app, {
    port: String(node.tlsPort), useTLS: true, agent: new https.Agent({ ca: ca.ca }),
  });
  const res = await sdk.get({ path: '/channels' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { channels: {} });
  await assert.rejects(peerCertificate(node.tlsPort, { ca: undefined }),
    /self.signed certificate in certificate chain|unable to (get local issuer|verify the first certificate)/i);
  // Plain HTTP on the TLS port is not answered as HTTP.
  const plainOnTls = await fetch(`http://127.0.0.1:${node.tlsPort}/apps/${node.app.id}/channels`).then(
    (r) => r.status, (err) => err.name);
  assert.notEqual(plainOnTls, 200);
});

test('with server.tls.ca_file, only clients with a certificate from that CA are served', async (t) => {
  const node = await h.startNode({ server: tlsServer(ca.issue('mtls'), { ca_file: ca.caFile }) });
  t.after(() => node.stop());
  const client = ca.issue('client', 'some-client');
  const url = `https://127.0.0.1:${node.tlsPort}/apps/${node.app.id}/channels`;
  // Unsigned: the signature check answers 401, which proves TLS let us in.
  const withCert = await httpsGet(url, { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });
  assert.equal(withCert.status, 401);
  await assert.rejects(httpsGet(url), /certificate required|alert|socket hang up|ECONNRESET/i);
});

test('the admin endpoint speaks https when admin.tls is on', async (t) => {
  const files = ca.issue('admin');
  const node = await h.startNode({
    admin: { port: 0, tls: { enabled: true, cert_file: files.cert, key_file: files.key, min_version: '1.3' } },
  });
  t.after(() => node.stop());
  const res = await httpsGet(`https://127.0.0.1:${node.adminPort}/health`);
  assert.equal(res.status, 200);
  await assert.rejects(peerCertificate(node.adminPort, { maxVersion: 'TLSv1.2' }), /protocol version|alert/i);
});

test('a certificate that does not load stops the start with a message naming it', async () => {
  const bad = path.join(ca.dir, 'garbage.pem');
  fs.writeFileSync(bad, 'not a certificate\n');
  const good = ca.issue('startup');
  await assert.rejects(h.startNode({ server: tlsServer({ cert: bad, key: good.key }) }),
    /server\.tls: cannot load the certificate ".*garbage\.pem"/);
  const other = ca.issue('other');
  await assert.rejects(h.startNode({ server: tlsServer({ cert: good.cert, key: other.key }) }),
    /does not match the certificate/);
  await assert.rejects(h.startNode({ server: { port: 0, tls: { enabled: true, port: 0 } } }),
    /server\.tls\.cert_file/);
  await assert.rejects(h.startNode({ server: { port: 0, tls: { cert_file: good.cert } } }),
    /server\.tls\.cert_file.*is set but server\.tls\.enabled is false/);
});

test('SIGHUP reloads the certificate: new handshakes see it, open wss connections keep receiving; a bad file keeps the old one', async (t) => {
  const live = ca.issue('live', 'localhost');
  const node = await h.startNode({ server: tlsServer(live) });
  t.after(() => node.stop());
  const first = serialOf(live.cert);
  assert.equal((await peerCertificate(node.tlsPort)).serialNumber.toUpperCase(), first);

  const open = wssClient(node);
  t.after(() => open.ws.terminate());
  await subscribeRaw(open, 'reload-room');
  assert.equal(open.ws._socket.getPeerCertificate().serialNumber.toUpperCase(), first);

  const next = ca.issue('next', 'starling-reloaded');
  fs.copyFileSync(next.cert, live.cert);
  fs.copyFileSync(next.key, live.key);
  process.kill(node.pid, 'SIGHUP');
  const second = serialOf(next.cert);
  let seen = null;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    seen = await peerCertificate(node.tlsPort);
    if (seen.serialNumber.toUpperCase() === second) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(seen.serialNumber.toUpperCase(), second);
  assert.equal(seen.subject.CN, 'starling-reloaded');

  const sdk = h.serverSdk(node);
  await sdk.trigger('reload-room', 'after-reload', { n: 1 });
  const frame = await open.waitFrame('after-reload');
  assert.deepEqual(frame.parsed, { n: 1 });
  assert.ok(open.isOpen);

  const fresh = wssClient(node);
  t.after(() => fresh.ws.terminate());
  await subscribeRaw(fresh, 'reload-room');

  fs.writeFileSync(live.cert, 'broken\n');
  process.kill(node.pid, 'SIGHUP');
  await h.waitFor(() => /reload failed, keeping the previous certificate/.test(node.stderr()), 5000);
  assert.equal((await peerCertificate(node.tlsPort)).serialNumber.toUpperCase(), second);
  await sdk.trigger('reload-room', 'after-bad-reload', { n: 2 });
  await open.waitFrame('after-bad-reload');
  await fresh.waitFrame('after-bad-reload');
  assert.ok(node.alive());
});
