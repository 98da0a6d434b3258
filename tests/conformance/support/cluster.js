// Cluster test support: a nats-server on a free loopback port, node configs
// for the nats bridge, and reading a node's membership view.
'use strict';
const assert = require('node:assert');
const net = require('node:net');
const { spawn } = require('node:child_process');

const { scaled } = require('./slowdown');

const NATS_BIN = process.env.STARLING_NATS_SERVER || 'nats-server';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function accepting(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

// True when a NATS server answers on `port`: it greets with INFO at once.
// A bare connect is not enough: between freePort() and nats-server's bind,
// another process (a node on port 0) can take the port, and nats-server
// then exits while that process accepts.
function natsGreets(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok) => { clearTimeout(timer); sock.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), 1000);
    sock.once('data', (d) => done(d.toString('latin1').startsWith('INFO')));
    sock.once('error', () => done(false));
  });
}

async function startNats(port) {
  const child = spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  let gone = false;
  const exited = new Promise((resolve) => child.once('exit', (...a) => { gone = true; resolve(...a); }));
  const deadline = Date.now() + 5000;
  while (!(await natsGreets(port))) {
    if (gone) throw new Error(`nats-server exited (port ${port} taken?)`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('nats-server did not start'); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { stop: async () => { child.kill('SIGKILL'); await exited; } };
}

function clusterConfig(natsPort, nodeId) {
  return {
    cluster: { bridge: 'nats', node_id: nodeId, heartbeat_ms: 200, node_timeout_ms: 1000 },
    nats: { servers: [`nats://127.0.0.1:${natsPort}`] },
  };
}

async function topology(node) {
  const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology`);
  return (await r.json()).cluster;
}

// Re-reads the topology until `pred` holds (membership has no push event
// over HTTP), bounded by `ms`.
async function viewWhere(node, pred, ms) {
  const deadline = Date.now() + scaled(ms);
  let last;
  for (;;) {
    last = await topology(node);
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`view never matched: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

module.exports = { freePort, startNats, clusterConfig, topology, viewWhere };
