'use strict';
// deploy/local/starling-local end to end: `up` starts 3 clustered NATS
// servers, 3 nodes and nginx on free loopback ports; everything it started
// listens on 127.0.0.1 only; pusher-js clients connect through nginx, land
// on all three nodes, and see each other's events, client events and
// presence; a wss:// client gets through nginx's TLS; `down` leaves no
// process and no state behind.

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');

const PusherClient = require('pusher-js');
const PusherServer = require('pusher');
const WebSocket = require('ws');

const { ROOT, BIN, cleanEnv, freePorts, get, tempDir, which } = require('./support');

const LAUNCHER = path.join(ROOT, 'deploy/local/starling-local');
const skip = (!which('nginx') && 'nginx is not installed')
  || (!which('nats-server') && 'nats-server is not installed');

function launcher(args, env, timeoutMs = 90000) {
  return new Promise((resolve) => {
    execFile(LAUNCHER, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
    });
  });
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (_) { return false; }
}

// Every process whose parent chain leads to one of `roots` (nginx workers).
function withDescendants(roots) {
  const parent = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch (_) { /* gone */ }
  }
  const out = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) if (out.has(ppid) && !out.has(pid)) { out.add(pid); grew = true; }
  }
  return [...out];
}

// Listening TCP sockets of `pids`: [{pid, address, port}] from /proc.
function listeningSockets(pids) {
  const listening = new Map(); // inode -> {address, port}
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      const [hexAddr, hexPort] = f[1].split(':');
      const address = hexAddr.length === 8
        ? hexAddr.match(/../g).reverse().map((b) => parseInt(b, 16)).join('.')
        : `[${hexAddr}]`;
      listening.set(f[9], { address, port: parseInt(hexPort, 16) });
    }
  }
  const out = [];
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (_) { continue; }
    for (const fd of fds) {
      let target;
      try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch (_) { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && listening.has(m[1])) out.push({ pid, ...listening.get(m[1]) });
    }
  }
  return out;
}

function client(port, app, user) {
  const sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port) });
  return new PusherClient(app.key, {
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    cluster: 'mt1',
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        callback(null, sdk.authorizeChannel(socketId, channelName, { user_id: user, user_info: { name: user } }));
      },
    },
  });
}

function once(bindable, event, timeoutMs, label) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label || event}`)), timeoutMs);
    const handler = (data) => { clearTimeout(timer); bindable.unbind(event, handler); resolve(data); };
    bindable.bind(event, handler);
  });
}

// Resolves once `predicate()` holds, re-checked when `channel` emits one of
// `events`; bounded.
function until(channel, events, predicate, timeoutMs, label) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      for (const e of events) channel.unbind(e, check);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof label === 'function' ? label() : label}`)), timeoutMs);
    for (const e of events) channel.bind(e, check);
    check();
  });
}

async function metric(adminPort, name) {
  const { body } = await get(adminPort, '/metrics');
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(body);
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
}

test('the local topology: up, clients across three nodes through nginx, down', { skip, timeout: 150000 }, async () => {
  const ports = await freePorts(17, { belowEphemeral: true });
  const take = (n) => ports.splice(0, n);
  const [httpPort, httpsPort] = take(2);
  const nodePorts = take(3);
  const adminPorts = take(3);
  const middlemanPorts = take(3);
  const natsPorts = take(3);
  const routePorts = take(3);
  const dir = path.join(tempDir('starling-local-test-'), 'state');
  const app = {
    id: 'deploy-app',
    key: `key-${crypto.randomBytes(4).toString('hex')}`,
    secret: crypto.randomBytes(12).toString('hex'),
  };
  const env = cleanEnv({
    STARLING_LOCAL_DIR: dir,
    STARLING_LOCAL_BIN: BIN,
    STARLING_LOCAL_HTTP_PORT: String(httpPort),
    STARLING_LOCAL_HTTPS_PORT: String(httpsPort),
    STARLING_LOCAL_NODE_PORTS: nodePorts.join(' '),
    STARLING_LOCAL_ADMIN_PORTS: adminPorts.join(' '),
    STARLING_LOCAL_MIDDLEMAN_PORTS: middlemanPorts.join(' '),
    STARLING_LOCAL_NATS_PORTS: natsPorts.join(' '),
    STARLING_LOCAL_ROUTE_PORTS: routePorts.join(' '),
    STARLING_LOCAL_APP_ID: app.id,
    STARLING_LOCAL_APP_KEY: app.key,
    STARLING_LOCAL_APP_SECRET: app.secret,
  });
  const clients = [];
  let pids = [];
  let downDone = false;
  try {
    const up = await launcher(['up'], env);
    assert.equal(up.code, 0, `up failed:\n${up.stdout}\n${up.stderr}`);
    assert.equal(up.stderr, '', 'up is quiet on stderr');
    assert.match(up.stdout, /cluster formed/);

    const names = ['nats-1', 'nats-2', 'nats-3', 'starling-1', 'starling-2', 'starling-3', 'nginx'];
    pids = names.map((n) => Number(fs.readFileSync(path.join(dir, `${n}.pid`), 'utf8')));
    // The recorded pids are the servers themselves (what `down` signals).
    for (const [i, pid] of pids.entries()) {
      const exe = path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
      assert.equal(exe, names[i].replace(/-\d$/, '').replace('nats', 'nats-server'), `${names[i]} (pid ${pid})`);
    }

    // Everything listens on loopback, on exactly the ports it was given.
    const sockets = listeningSockets(withDescendants(pids));
    const outside = sockets.filter((s) => s.address !== '127.0.0.1');
    assert.deepEqual(outside, [], 'nothing binds beyond 127.0.0.1');
    const expected = [httpPort, httpsPort, ...nodePorts, ...adminPorts, ...middlemanPorts, ...natsPorts, ...routePorts];
    assert.deepEqual([...new Set(sockets.map((s) => s.port))].sort(), expected.sort());

    const status = await launcher(['status'], env, 20000);
    assert.equal(status.code, 0, status.stdout);
    assert.equal((status.stdout.match(/ready=200 members=3/g) || []).length, 3, status.stdout);

    // Six pusher-js clients through nginx, each in the presence channel.
    const channelName = 'presence-deploy';
    for (let i = 0; i < 6; i += 1) {
      const c = client(httpPort, app, `user-${i}`);
      clients.push(c);
      await once(c.connection, 'connected', 10000, `client ${i} connected`);
    }
    // least_conn spreads them: every node holds some, by each node's own
    // gauge (socket ids are random since 9ce2203: no node prefix to read).
    const open = await Promise.all(adminPorts.map((p) => metric(p, 'starling_connections_open')));
    assert.ok(open.every((n) => n >= 1), `connections per node: ${open}`);
    assert.equal(open.reduce((a, b) => a + b, 0), 6);

    // One at a time: each joins once the members before it see each other.
    const channels = [];
    for (const [i, c] of clients.entries()) {
      const ch = c.subscribe(channelName);
      channels.push(ch);
      await once(ch, 'pusher:subscription_succeeded', 10000, `client ${i} subscribed`);
      await Promise.all(channels.map((x, j) => until(x, ['pusher:member_added'],
        () => x.members.count === i + 1, 10000, () => `client ${j} sees ${i + 1} members (has ${x.members.count}: ${Object.keys(x.members.members)})`)));
    }

    // An HTTP API publish through nginx reaches every client, wherever it is.
    const sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(httpPort) });
    const got = channels.map((ch, i) => once(ch, 'deploy-event', 10000, `client ${i} event`));
    const res = await sdk.trigger(channelName, 'deploy-event', { n: 1 });
    assert.equal(res.status, 200);
    for (const data of await Promise.all(got)) assert.deepEqual(data, { n: 1 });

    // A client event from one node reaches the other five, not the sender.
    const echoes = channels.slice(1).map((ch, i) => once(ch, 'client-ping', 10000, `client ${i + 1} client event`));
    let senderGot = false;
    channels[0].bind('client-ping', () => { senderGot = true; });
    assert.ok(channels[0].trigger('client-ping', { from: 0 }));
    for (const data of await Promise.all(echoes)) assert.deepEqual(data, { from: 0 });
    assert.equal(senderGot, false);

    // A member leaving is seen by every other client.
    const removed = channels.slice(0, 5).map((ch, i) => once(ch, 'pusher:member_removed', 10000, `client ${i} member_removed`));
    clients[5].disconnect();
    for (const member of await Promise.all(removed)) assert.equal(member.id, 'user-5');

    // TLS at the proxy: wss:// with the launcher's certificate.
    const ca = fs.readFileSync(path.join(dir, 'tls/starling.crt'));
    const wss = new WebSocket(`wss://127.0.0.1:${httpsPort}/app/${app.key}?protocol=7`, { ca });
    const first = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame over wss')), 10000);
      wss.once('message', (d) => { clearTimeout(timer); resolve(JSON.parse(String(d))); });
      wss.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    assert.equal(first.event, 'pusher:connection_established');
    wss.close();

    const logs = await launcher(['logs', 'starling-2'], env, 20000);
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /listening node=local-2/);

    for (const c of clients) c.disconnect();
    const down = await launcher(['down'], env, 60000);
    downDone = true;
    assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
    const left = withDescendants(pids).filter(alive);
    assert.deepEqual(left, [], 'down leaves no process behind');
    // Nor any process that names the state directory (all of them did).
    const strays = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
      try { return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir); } catch (_) { return false; }
    });
    assert.deepEqual(strays, [], 'no process of the topology is left');
    assert.ok(!fs.existsSync(dir), 'down removes the state directory');
    const after = await launcher(['status'], env, 20000);
    assert.notEqual(after.code, 0);
  } finally {
    for (const c of clients) c.disconnect();
    if (!downDone) await launcher(['down'], env, 60000);
    for (const pid of withDescendants(pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
