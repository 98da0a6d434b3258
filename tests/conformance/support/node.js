'use strict';
// Conformance harness: starts a real Starling node, and builds real pusher-js,
// `pusher` SDK and raw `ws` clients against it. Everything waits on events
// with bounded timeouts; nothing sleeps to synchronize.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventEmitter } = require('node:events');

const PusherClient = require('pusher-js');
const PusherServer = require('pusher');
const WebSocket = require('ws');

const STARLING_BIN = process.env.STARLING_BIN
  || path.resolve(__dirname, '../../../build/starling');

const { scaled } = require('./slowdown');
const { keepSanitizerReports } = require('./sanitizer_reports');

// Scaled by STARLING_TEST_SLOWDOWN (support/slowdown.js); as written when unset.
const READY_TIMEOUT_MS = scaled(10000);
const STOP_TIMEOUT_MS = scaled(5000);
const DEFAULT_TIMEOUT_MS = 3000; // scaled where each wait sets its timer

// Every child we started, by pid, so an aborted run still reaps them.
const children = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { process.kill(child.pid, 'SIGKILL'); } catch (_) { /* gone */ }
  }
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch (_) { /* best effort */ }
  }
});

let appCounter = 0;

/** A fresh app definition with unique credentials; `extra` overrides fields. */
function makeApp(extra = {}) {
  const n = ++appCounter;
  const app = {
    id: `app-${n}`,
    key: `key-${n}-${crypto.randomBytes(4).toString('hex')}`,
    secret: `secret-${n}-${crypto.randomBytes(8).toString('hex')}`,
    ...extra,
  };
  return app;
}

/**
 * Starts a node. `config` is the JSON config (server/admin/apps/...): host and
 * ports default to 127.0.0.1:0 and logging to warn. `bin`: another binary
 * built on the Starling library (e.g. starling_examples). Returns
 * {port, adminPort, tlsPort (0 without server.tls), pid, config, stderr(),
 * alive(), exited, stop()}.
 */
async function startNode(config = {}, { env = {}, args = [], bin = STARLING_BIN } = {}) {
  const full = {
    ...config,
    server: { host: '127.0.0.1', port: 0, ...(config.server || {}) },
    admin: { host: '127.0.0.1', port: 0, ...(config.admin || {}) },
    apps: config.apps || [makeApp()],
    logging: { level: 'warn', ...(config.logging || {}) },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starling-conf-'));
  tempDirs.add(dir);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(full, null, 2));

  // The node reads STARLING_* variables: do not let the caller's leak in.
  const childEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STARLING_')) childEnv[k] = v;
  Object.assign(childEnv, env);

  const child = spawn(bin, ['--config', file, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  keepSanitizerReports(child, () => stderr);
  child.stdout.setEncoding('utf8');

  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
      resolve({ code, signal });
    });
  });
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`starling did not print STARLING_READY within ${READY_TIMEOUT_MS} ms\n${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /STARLING_READY port=(\d+) admin_port=(\d+)(?: tls_port=(\d+))?\r?\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), adminPort: Number(m[2]), tlsPort: Number(m[3] || 0) });
      }
    });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`starling exited early (code ${code}, signal ${signal})\n${stderr}`));
    });
  }).catch(async (err) => {
    try { child.kill('SIGKILL'); } catch (_) { /* gone */ }
    // A binary that could not be spawned (ENOENT) never exits: no waiting.
    if (child.pid !== undefined) await exited;
    else children.delete(child);
    throw err;
  });

  let stopping = null;
  const node = {
    port: ready.port,
    adminPort: ready.adminPort,
    tlsPort: ready.tlsPort,
    pid: child.pid,
    config: full,
    apps: full.apps,
    app: full.apps[0],
    exited,
    stderr: () => stderr,
    /** True while the process runs. */
    alive: () => exitInfo === null && child.exitCode === null && child.signalCode === null,
    /** SIGTERM, await exit (SIGKILL after 5 s). Resolves {code, signal, killed}. */
    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        if (exitInfo) return { ...exitInfo, killed: false };
        child.kill('SIGTERM');
        let timer;
        const timedOut = new Promise((resolve) => {
          timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
        });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first !== 'timeout') return { ...first, killed: false };
        child.kill('SIGKILL');
        const info = await exited;
        return { ...info, killed: true };
      })();
      return stopping;
    },
  };
  return node;
}

// -- waiting ---------------------------------------------------------------------

/**
 * waitFor(predicate, timeoutMs): resolves with the first truthy value of
 * predicate(), re-checked every 10 ms.
 * waitFor(emitter, eventName, timeoutMs[, filter]): resolves with the first
 * emitted args (a single value when one arg) that pass `filter`.
 */
function waitFor(a, b, c, d) {
  if (typeof a === 'function') {
    const predicate = a;
    const timeoutMs = scaled(b ?? DEFAULT_TIMEOUT_MS);
    const label = c || predicate.toString().slice(0, 80);
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        let value;
        try { value = predicate(); } catch (err) { return reject(err); }
        if (value) return resolve(value);
        if (Date.now() >= deadline)
          return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
        setTimeout(check, 10);
      };
      check();
    });
  }
  const emitter = a;
  const event = b;
  const timeoutMs = scaled(c ?? DEFAULT_TIMEOUT_MS);
  const filter = d || (() => true);
  return new Promise((resolve, reject) => {
    const on = emitter.on ? emitter.on.bind(emitter) : emitter.bind.bind(emitter);
    const off = emitter.off ? emitter.off.bind(emitter)
      : emitter.removeListener ? emitter.removeListener.bind(emitter)
        : emitter.unbind.bind(emitter);
    const handler = (...args) => {
      const value = args.length === 1 ? args[0] : args;
      if (!filter(...args)) return;
      clearTimeout(timer);
      off(event, handler);
      resolve(value);
    };
    const timer = setTimeout(() => {
      off(event, handler);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event ${event}`));
    }, timeoutMs);
    on(event, handler);
  });
}

// -- pusher SDK (server side) --------------------------------------------------

/** A `pusher` server SDK instance for `app` on `node`. */
function serverSdk(node, app = node.app, extra = {}) {
  return new PusherServer({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(node.port),
    useTLS: false,
    ...extra,
  });
}

// -- pusher-js (client side) ---------------------------------------------------

/**
 * A pusher-js client for `app` on `node`. Channel auth and user auth are
 * signed with the `pusher` SDK (opts.sdk, or one built from the app).
 * opts.user: {user_id, user_info} for presence channels.
 * opts.userData: object for signin (defaults to {id: user.user_id}).
 * opts.authorize(socketId, channel): override the auth response.
 * opts.pusher: extra pusher-js options.
 */
function pusherClient(node, app = node.app, opts = {}) {
  const sdk = opts.sdk || serverSdk(node, app);
  const client = new PusherClient(app.key, {
    wsHost: '127.0.0.1',
    wsPort: node.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    cluster: 'mt1',
    channelAuthorization: {
      customHandler: (params, callback) => {
        try {
          const { socketId, channelName } = params;
          if (opts.authorize) return callback(null, opts.authorize(socketId, channelName, sdk));
          const presence = channelName.startsWith('presence-');
          const auth = presence
            ? sdk.authorizeChannel(socketId, channelName, opts.user || { user_id: 'anon' })
            : sdk.authorizeChannel(socketId, channelName);
          callback(null, auth);
        } catch (err) {
          callback(err, null);
        }
      },
    },
    userAuthentication: {
      customHandler: (params, callback) => {
        try {
          const data = opts.userData || { id: String(opts.user ? opts.user.user_id : 'anon') };
          callback(null, sdk.authenticateUser(params.socketId, data));
        } catch (err) {
          callback(err, null);
        }
      },
    },
    ...(opts.pusher || {}),
  });
  return client;
}

/** Resolves when `client` is connected; rejects on failure or timeout. */
function connected(client, timeoutMs = DEFAULT_TIMEOUT_MS) {
  timeoutMs = scaled(timeoutMs);
  if (client.connection.state === 'connected') return Promise.resolve(client);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.connection.unbind('state_change', onChange);
      reject(new Error(`pusher-js did not connect within ${timeoutMs} ms (state ${client.connection.state})`));
    }, timeoutMs);
    const onChange = ({ current }) => {
      if (current === 'connected') {
        clearTimeout(timer);
        client.connection.unbind('state_change', onChange);
        resolve(client);
      } else if (current === 'failed' || current === 'unavailable') {
        clearTimeout(timer);
        client.connection.unbind('state_change', onChange);
        reject(new Error(`pusher-js connection ${current}`));
      }
    };
    client.connection.bind('state_change', onChange);
  });
}

/**
 * Subscribes and resolves with the channel after pusher:subscription_succeeded;
 * rejects with the subscription_error payload (err.data) otherwise.
 */
function subscribe(client, name, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const channel = client.subscribe(name);
  return subscribed(channel, timeoutMs);
}

function subscribed(channel, timeoutMs = DEFAULT_TIMEOUT_MS) {
  timeoutMs = scaled(timeoutMs);
  if (channel.subscribed) return Promise.resolve(channel);
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      channel.unbind('pusher:subscription_succeeded', ok);
      channel.unbind('pusher:subscription_error', bad);
    };
    const ok = () => { cleanup(); resolve(channel); };
    const bad = (data) => {
      cleanup();
      const err = new Error(`subscription_error on ${channel.name}: ${JSON.stringify(data)}`);
      err.data = data;
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no subscription_succeeded on ${channel.name} within ${timeoutMs} ms`));
    }, timeoutMs);
    channel.bind('pusher:subscription_succeeded', ok);
    channel.bind('pusher:subscription_error', bad);
  });
}

/** Resolves with the data of the next `event` on `channel` (pusher-js). */
function nextEvent(channel, event, timeoutMs = DEFAULT_TIMEOUT_MS, filter = () => true) {
  timeoutMs = scaled(timeoutMs);
  return new Promise((resolve, reject) => {
    const handler = (data, metadata) => {
      if (!filter(data, metadata)) return;
      clearTimeout(timer);
      channel.unbind(event, handler);
      resolve({ data, metadata });
    };
    const timer = setTimeout(() => {
      channel.unbind(event, handler);
      reject(new Error(`no ${event} on ${channel.name} within ${timeoutMs} ms`));
    }, timeoutMs);
    channel.bind(event, handler);
  });
}

/** Records every event on a pusher-js channel: [{event, data, metadata}]. */
function recordChannel(channel) {
  const log = [];
  channel.bind_global((event, data, metadata) => log.push({ event, data, metadata }));
  return log;
}

/** Records every protocol message a pusher-js client receives. */
function recordMessages(client) {
  const log = [];
  client.connection.bind('message', (m) => log.push(m));
  return log;
}

/**
 * Round trip on a pusher-js connection: sends pusher:ping and awaits the
 * pusher:pong. The server answers frames of one connection in order, and
 * every frame queued for this socket before the ping arrives first.
 */
function clientRoundTrip(client, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const done = waitFor(client.connection, 'message', timeoutMs, (m) => m.event === 'pusher:pong');
  client.send_event('pusher:ping', {});
  return done;
}

/** Disconnects a pusher-js client and resolves once it is disconnected. */
async function closeClient(client, timeoutMs = DEFAULT_TIMEOUT_MS) {
  if (!client) return;
  const state = client.connection.state;
  if (state === 'disconnected' || state === 'initialized' || state === 'failed') {
    client.disconnect();
    return;
  }
  const done = waitFor(client.connection, 'state_change', timeoutMs,
    ({ current }) => current === 'disconnected').catch(() => {});
  client.disconnect();
  await done;
}

// -- raw ws --------------------------------------------------------------------

/**
 * A raw WebSocket client that records every frame. frames: parsed JSON when
 * possible ({raw} otherwise). Events: 'frame' (each), 'close' ({code, reason}).
 */
class RawClient extends EventEmitter {
  constructor(url, wsOptions = {}) {
    super();
    this.url = url;
    this.frames = [];
    this.closeInfo = null;
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...wsOptions });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => {});
    this.ws.on('error', (err) => { this.lastError = err; });
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      let frame;
      try {
        frame = JSON.parse(text);
        if (frame && typeof frame.data === 'string') {
          try { frame.parsed = JSON.parse(frame.data); } catch (_) { /* opaque */ }
        } else if (frame && frame.data !== undefined) {
          frame.parsed = frame.data;
        }
      } catch (_) {
        frame = { raw: text };
      }
      frame.binary = isBinary;
      this.frames.push(frame);
      this.emit('frame', frame);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.emit('close', this.closeInfo);
        resolve(this.closeInfo);
      });
    });
  }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  /** Resolves with the first recorded frame (past or future) matching `predicate`. */
  waitFrame(predicate, timeoutMs = DEFAULT_TIMEOUT_MS, { from = 0 } = {}) {
    timeoutMs = scaled(timeoutMs);
    const pred = typeof predicate === 'string' ? (f) => f.event === predicate : predicate;
    for (let i = from; i < this.frames.length; ++i)
      if (pred(this.frames[i])) return Promise.resolve(this.frames[i]);
    return new Promise((resolve, reject) => {
      const onFrame = (f) => {
        if (!pred(f)) return;
        cleanup();
        resolve(f);
      };
      const onClose = (info) => {
        cleanup();
        reject(new Error(`socket closed (${info.code} ${info.reason}) while waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off('frame', onFrame);
        this.off('close', onClose);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching frame within ${timeoutMs} ms; last frames ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      this.on('frame', onFrame);
      if (this.closeInfo) return onClose(this.closeInfo);
      this.on('close', onClose);
    });
  }

  /** Resolves with {code, reason} when the socket closes (bounded). */
  waitClose(timeoutMs = DEFAULT_TIMEOUT_MS) {
    timeoutMs = scaled(timeoutMs);
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    let timer;
    return Promise.race([
      this.closed.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms; last frames ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      }),
    ]);
  }

  /** Sends an object as JSON text, or a string/Buffer as is. */
  send(message, options = {}) {
    const payload = typeof message === 'string' || Buffer.isBuffer(message)
      ? message : JSON.stringify(message);
    this.ws.send(payload, options);
  }

  /** Resolves once connection_established arrived; sets socketId. */
  async established(timeoutMs = DEFAULT_TIMEOUT_MS) {
    const f = await this.waitFrame('pusher:connection_established', timeoutMs);
    this.socketId = f.parsed.socket_id;
    this.activityTimeout = f.parsed.activity_timeout;
    return f;
  }

  /** Round trip: sends pusher:ping and awaits the pusher:pong after it. */
  async roundTrip(timeoutMs = DEFAULT_TIMEOUT_MS) {
    const from = this.frames.length;
    this.send({ event: 'pusher:ping', data: {} });
    return this.waitFrame('pusher:pong', timeoutMs, { from });
  }

  /** Subscribes and awaits success; rejects with the error frame otherwise. */
  async subscribe(channel, auth = '', channelData, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const from = this.frames.length;
    const data = { auth, channel };
    if (channelData !== undefined) data.channel_data = channelData;
    this.send({ event: 'pusher:subscribe', data });
    const f = await this.waitFrame((x) => x.channel === channel
      && (x.event === 'pusher_internal:subscription_succeeded'
        || x.event === 'pusher:subscription_error' || x.event === 'pusher:error'), timeoutMs, { from });
    if (f.event !== 'pusher_internal:subscription_succeeded') {
      const err = new Error(`subscribe ${channel} failed: ${JSON.stringify(f)}`);
      err.frame = f;
      throw err;
    }
    return f;
  }

  /** Closes and awaits the close (terminates after the timeout). */
  async close(timeoutMs = DEFAULT_TIMEOUT_MS) {
    if (this.closeInfo) return this.closeInfo;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    } else {
      try { this.ws.close(1000); } catch (_) { this.ws.terminate(); }
    }
    try {
      return await this.waitClose(timeoutMs);
    } catch (_) {
      this.ws.terminate();
      return this.closed;
    }
  }
}

/** The WebSocket URL of `app` on `node`. */
function wsUrl(node, key = node.app.key, query = 'protocol=7&client=js&version=8.4.0&flash=false') {
  return `ws://127.0.0.1:${node.port}/app/${key}${query ? `?${query}` : ''}`;
}

/** A raw client; await `established()` for a normal connection. */
function rawClient(node, { key, query, url, wsOptions } = {}) {
  return new RawClient(url || wsUrl(node, key || node.app.key, query), wsOptions);
}

// -- hand-signed HTTP API requests ---------------------------------------------

function md5(text) {
  return crypto.createHash('md5').update(text).digest('hex');
}

function hmac(secret, text) {
  return crypto.createHmac('sha256', secret).update(text).digest('hex');
}

/** "<key>:<hex>" channel auth, signed by hand (protocol §3). */
function channelAuth(app, socketId, channel, channelData) {
  const msg = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${app.key}:${hmac(app.secret, msg)}`;
}

/**
 * Signs and sends an HTTP API request by hand.
 * opts: {method, path, body (string|object), app, query (extra params),
 *        timestamp, key, secret, bodyMd5, signature, omit: [param names]}.
 * Resolves {status, body, json}.
 */
async function signedRequest(node, opts) {
  const app = opts.app || node.app;
  const method = (opts.method || 'POST').toUpperCase();
  const reqPath = opts.path || `/apps/${app.id}/events`;
  const body = opts.body === undefined ? ''
    : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const params = {
    auth_key: opts.key ?? app.key,
    auth_timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...(opts.query || {}),
  };
  if (body !== '' || opts.bodyMd5 !== undefined) params.body_md5 = opts.bodyMd5 ?? md5(body);
  for (const name of opts.omit || []) delete params[name];
  const sorted = Object.keys(params).sort()
    .map((k) => `${k.toLowerCase()}=${params[k]}`).join('&');
  const signature = opts.signature
    ?? hmac(opts.secret ?? app.secret, `${method}\n${reqPath}\n${sorted}`);
  const query = new URLSearchParams({ ...params, auth_signature: signature });
  if ((opts.omit || []).includes('auth_signature')) query.delete('auth_signature');
  const res = await fetch(`http://127.0.0.1:${node.port}${reqPath}?${query}`, {
    method,
    headers: body !== '' ? { 'Content-Type': 'application/json' } : {},
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    signal: AbortSignal.timeout(scaled(opts.timeoutMs || DEFAULT_TIMEOUT_MS)),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch (_) { json = undefined; }
  return { status: res.status, body: text, json, headers: Object.fromEntries(res.headers) };
}

/** Awaits every stop/close given (functions returning promises), never throws. */
async function cleanupAll(fns) {
  await Promise.all(fns.map(async (fn) => {
    try { await fn(); } catch (_) { /* best effort */ }
  }));
}

/**
 * Per-file resource tracker: t.after(() => res.cleanup()) stops every client
 * and node it created.
 */
function resources() {
  const nodes = [];
  const clients = [];
  const raws = [];
  return {
    async node(config, options) {
      const n = await startNode(config, options);
      nodes.push(n);
      return n;
    },
    client(node, app, opts) {
      const c = pusherClient(node, app, opts);
      clients.push(c);
      return c;
    },
    raw(node, opts) {
      const r = rawClient(node, opts);
      raws.push(r);
      return r;
    },
    async cleanup() {
      await cleanupAll([
        ...clients.map((c) => () => closeClient(c)),
        ...raws.map((r) => () => r.close(1000)),
      ]);
      await cleanupAll(nodes.map((n) => () => n.stop()));
    },
  };
}

module.exports = {
  scaled,
  STARLING_BIN,
  DEFAULT_TIMEOUT_MS,
  PusherClient,
  PusherServer,
  WebSocket,
  RawClient,
  makeApp,
  startNode,
  waitFor,
  serverSdk,
  pusherClient,
  connected,
  subscribe,
  subscribed,
  nextEvent,
  recordChannel,
  recordMessages,
  clientRoundTrip,
  closeClient,
  rawClient,
  wsUrl,
  signedRequest,
  md5,
  hmac,
  channelAuth,
  cleanupAll,
  resources,
};
