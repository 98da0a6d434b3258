'use strict';
// What a service manager sees of the binary: --version, --check-config,
// the documented exit codes, systemd's notify protocol (READY only once it
// listens, RELOADING/READY on SIGHUP, STOPPING on SIGTERM), and SIGHUP
// re-reading the config without ever ending the node.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const {
  BIN, NOTIFY_LISTENER, cleanEnv, runBin, schema, checkConfig, freePorts, waitForLine,
  spawnChild, startNode, get, tempDir,
} = require('./support');

// A notify socket: the helper binds it and prints each datagram as a line.
async function notifySocket(dir) {
  const socketPath = path.join(dir, 'notify.sock');
  const listener = spawnChild(NOTIFY_LISTENER, [socketPath]);
  const lines = [];
  const waiters = [];
  let buffer = '';
  listener.child.stdout.setEncoding('utf8');
  listener.child.stdout.on('data', (d) => {
    buffer += d;
    const parts = buffer.split('\n');
    buffer = parts.pop();
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    }
  });
  // Resolves with the next line not yet taken, bounded.
  let taken = 0;
  const next = (timeoutMs = 10000) => new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no notification within ${timeoutMs} ms; had ${JSON.stringify(lines)}`)), timeoutMs);
    const check = () => {
      if (taken < lines.length) { clearTimeout(deadline); resolve(lines[taken++]); } else waiters.push(check);
    };
    check();
  });
  assert.equal(await next(), 'LISTENING');
  return { socketPath, next, stop: () => listener.stop('SIGKILL') };
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

test('--version prints the version and the libraries, exit 0', () => {
  const r = runBin(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^starling \d+\.\d+\.\d+\n/);
  assert.match(r.stdout, /CAF 0\.17\.6, nats\.c \d/);
});

test('--check-config prints the effective config with secrets masked', () => {
  const r = checkConfig(['--port', '7010', '--middleman-port', '7011'], {
    STARLING_APP_ID: 'a', STARLING_APP_KEY: 'k', STARLING_APP_SECRET: 'top-secret',
    STARLING_NATS_PASSWORD: 'hunter2', STARLING_SHUTDOWN_GRACE_S: '7',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.config.server.port, 7010);
  assert.equal(r.config.server.shutdown_grace_s, 7);
  assert.equal(r.config.cluster.middleman_port, 7011);
  assert.equal(r.config.apps[0].secret, '********');
  assert.equal(r.config.nats.password, '********');
  const text = JSON.stringify(r.config);
  assert.ok(!text.includes('top-secret') && !text.includes('hunter2'));
  // Every key of the table is in the output.
  for (const k of schema().keys) {
    if (k.path.includes('webhooks[]') || k.path.includes('logic[]')) continue;
    const parts = k.path.replace('apps[]', 'apps.0').split('.');
    let v = r.config;
    for (const p of parts) v = v === undefined ? undefined : v[p];
    assert.notEqual(v, undefined, `--check-config lacks ${k.path}`);
  }
});

test('exit code 2 for a bad config, flag or variable; a warning for an unknown variable', () => {
  let r = checkConfig(['--worker-threads', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /config error: worker_threads: must be 1\.\.64/);
  r = runBin(['--no-such-flag']);
  assert.equal(r.code, 2);
  r = runBin(['--port', '1'], { STARLING_ADMIN_PORT: 'x' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /STARLING_ADMIN_PORT: must be 0\.\.65535/);
  r = checkConfig([], { STARLING_PROT: '6001' });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /STARLING_PROT is not a Starling setting/);
});

test('exit code 1 when the port is taken', async () => {
  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address();
  try {
    const r = runBin(['--port', String(port), '--admin-port', '0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
  } finally {
    blocker.close();
  }
});

test('--help names every variable and flag of the key table', () => {
  const help = runBin(['--help']).stdout;
  for (const k of schema().keys) {
    if (k.env) assert.ok(help.includes(k.env), `--help lacks ${k.env}`);
    if (k.flag) assert.ok(help.includes(k.flag), `--help lacks ${k.flag}`);
  }
});

test('Type=notify: READY once listening, RELOADING/READY on SIGHUP, STOPPING on SIGTERM', async () => {
  const dir = tempDir('starling-notify-');
  const notify = await notifySocket(dir);
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ logging: { level: 'info' } }));
  const [port, adminPort] = await freePorts(2);
  const node = spawnChild(BIN, ['--config', config, '--port', String(port), '--admin-port', String(adminPort)],
    { env: cleanEnv({ NOTIFY_SOCKET: notify.socketPath }) });
  try {
    const ready = await notify.next();
    assert.match(ready, /^READY=1\|STATUS=serving node \S+ on port \d+$/);
    // Readiness means listening: both ports accept at that moment.
    assert.ok(await accepts(port), 'public port accepts once READY=1 was sent');
    assert.ok(await accepts(adminPort), 'admin port accepts once READY=1 was sent');

    // A reload that changes the log level applies it and keeps serving.
    fs.writeFileSync(config, JSON.stringify({ logging: { level: 'debug' }, server: { shutdown_grace_s: 1 } }));
    node.child.kill('SIGHUP');
    assert.equal(await notify.next(), 'RELOADING=1');
    const after = await notify.next();
    assert.match(after, /^READY=1\|STATUS=reloaded; applied logging\.level/);
    assert.match(after, /needs a restart to take effect: server\.shutdown_grace_s/);

    // A reload of a broken file is refused; the node keeps running.
    fs.writeFileSync(config, '{"server": {"port": "six"}}');
    node.child.kill('SIGHUP');
    assert.equal(await notify.next(), 'RELOADING=1');
    assert.match(await notify.next(), /^READY=1\|STATUS=reload refused, still running the previous config: server\.port/);
    assert.equal(node.child.exitCode, null, 'SIGHUP must never end the node');
    assert.equal((await get(adminPort, '/ready')).status, 200);
    assert.match(node.output(), /reload refused/);

    node.child.kill('SIGTERM');
    assert.equal(await notify.next(), 'STOPPING=1|STATUS=draining');
    const exit = await node.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    await node.stop('SIGKILL');
    await notify.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGHUP without a service manager only logs', async () => {
  const node = await startNode();
  try {
    const logged = waitForLine(node.child.stderr, /reloaded: no change/, 5000);
    node.child.kill('SIGHUP');
    await logged;
    assert.equal((await get(node.adminPort, '/health')).status, 200);
  } finally {
    assert.deepEqual(await node.stop(), { code: 0, signal: null });
  }
});
