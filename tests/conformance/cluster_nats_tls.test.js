// The nats bridge over TLS: a throwaway CA signs a nats-server certificate
// (and a client certificate for mutual TLS); two nodes that trust the CA see
// each other and carry events across, and a node that does not trust it
// never joins the cluster and says why.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const h = require('./support/node');
const { freePort, viewWhere } = require('./support/cluster');

const NATS_BIN = process.env.STARLING_NATS_SERVER || 'nats-server';
const TEST_TIMEOUT = { timeout: 20000 };

// -- certificates ------------------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starling-nats-tls-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name) => path.join(dir, name);

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// EC keys: quick to generate, accepted by nats-server and nats.c alike.
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function signed(name, cn, extensions) {
  openssl('req', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
  fs.writeFileSync(file(`${name}.ext`), extensions);
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-set_serial', String(Date.now()), '-days', '1', '-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`));
}

openssl('req', '-x509', ...EC, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1',
  '-subj', '/CN=starling-test-ca');
signed('server', 'localhost',
  'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
signed('client', 'starling-node',
  'extendedKeyUsage=clientAuth\n');

// -- a TLS nats-server -------------------------------------------------------------

function accepting(port) {
  return new Promise((resolve) => {
    const sock = require('node:net').connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

async function startTlsNats(t, { verifyClients = false } = {}) {
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port),
    '--tls', '--tlscert', file('server.pem'), '--tlskey', file('server.key')];
  if (verifyClients) args.push('--tlsverify', '--tlscacert', file('ca.pem'));
  const child = spawn(NATS_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => { child.kill('SIGKILL'); await exited; };
  const deadline = Date.now() + 5000;
  while (!(await accepting(port))) {
    if (Date.now() > deadline) { await stop(); throw new Error(`nats-server did not start\n${log}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop, log: () => log };
}

function tlsConfig(port, nodeId, app, nats = {}) {
  return {
    apps: [app],
    cluster: { bridge: 'nats', node_id: nodeId, heartbeat_ms: 200, node_timeout_ms: 1000 },
    nats: { servers: [`tls://127.0.0.1:${port}`], reconnect_wait_ms: 100, reconnect_max_wait_ms: 400, ...nats },
  };
}

async function twoNodesCarryEvents(t, nats, tlsA, tlsB) {
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const [a, b] = await Promise.all([
    res.node(tlsConfig(nats.port, 'tls-a', app, tlsA)),
    res.node(tlsConfig(nats.port, 'tls-b', app, tlsB)),
  ]);
  for (const n of [a, b]) await viewWhere(n, (v) => v.members.length === 2 && v.bridge === 'running', 5000);
  const cb = res.client(b);
  await h.connected(cb);
  const channel = await h.subscribe(cb, 'tls-news');
  const got = h.nextEvent(channel, 'ev');
  await h.serverSdk(a).trigger('tls-news', 'ev', { over: 'tls' });
  assert.deepEqual((await got).data, { over: 'tls' });
}

test('two nodes that trust the CA form a cluster over TLS', TEST_TIMEOUT, async (t) => {
  const nats = await startTlsNats(t);
  // b also checks the certificate's name explicitly.
  await twoNodesCarryEvents(t, nats,
    { tls_ca_file: file('ca.pem') },
    { tls: true, tls_ca_file: file('ca.pem'), tls_hostname: 'localhost' });
});

test('mutual TLS: nodes with a client certificate form a cluster', TEST_TIMEOUT, async (t) => {
  const nats = await startTlsNats(t, { verifyClients: true });
  const tls = { tls_ca_file: file('ca.pem'), tls_cert_file: file('client.pem'), tls_key_file: file('client.key') };
  await twoNodesCarryEvents(t, nats, tls, tls);
});

// What happens (observed): the node starts and serves alone; its bridge
// fails the TLS handshake, is restarted by the node's supervision and stays
// "down", and the log names the certificate problem.
test('a node that does not trust the server certificate serves alone and names the cause', TEST_TIMEOUT, async (t) => {
  const nats = await startTlsNats(t);
  const res = h.resources();
  t.after(async () => { await res.cleanup(); await nats.stop(); });
  const app = h.makeApp();
  const trusting = await res.node(tlsConfig(nats.port, 'tls-trusting', app, { tls_ca_file: file('ca.pem') }));
  // No tls_ca_file: the system CAs do not know the throwaway CA.
  const untrusting = await res.node(tlsConfig(nats.port, 'tls-untrusting', app));
  const view = await viewWhere(untrusting, (v) => v.bridge === 'down' && v.restarts >= 1, 5000);
  assert.deepEqual(view.members, []);
  assert.ok(untrusting.alive(), 'the node keeps running');
  const alone = await viewWhere(trusting, (v) => v.bridge === 'running' && v.members.length === 1, 3000);
  assert.deepEqual(alone.members, ['tls-trusting']);
  const log = untrusting.stderr();
  assert.match(log, /cannot join the cluster over NATS/);
  assert.match(log, /SSL Error.*(certificate|issuer)/);
  // It still serves its own clients.
  const c = res.client(untrusting);
  await h.connected(c);
  const channel = await h.subscribe(c, 'alone');
  const got = h.nextEvent(channel, 'ev');
  await h.serverSdk(untrusting).trigger('alone', 'ev', { alone: true });
  assert.deepEqual((await got).data, { alone: true });
});
