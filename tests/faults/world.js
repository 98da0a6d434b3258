'use strict';
// A small Starling cluster under traffic, for fault tests and the soak: a
// real nats-server, N nodes, raw WebSocket subscribers spread over the
// nodes (public channels and presence channels with one user per client),
// a publisher that numbers its events and alternates between nodes, and a
// webhook receiver that records everything. Measurements compare what the
// HTTP API accepted (200) with what every surviving subscriber received,
// presence rosters with the connected members, and webhooks with the true
// transitions. Loopback only; every wait is bounded.

const http = require('node:http');
const { spawn } = require('node:child_process');
const h = require('../conformance/support/node');
const f = require('../conformance/support/faults');
const { freePort, startNats } = require('../conformance/support/cluster');

const sleep = f.sleep;

/** One subscriber: a raw client on one node, on one channel. */
class Subscriber {
  constructor(world, node, channel, userId) {
    this.world = world;
    this.node = node;
    this.channel = channel;
    this.userId = userId; // presence channels only
    this.seqs = [];
    this.members = new Map(); // presence: user id -> count of adds-removes
    this.closedAt = null;
    this.reconnectHint = null; // a pusher:error asking to resubscribe
  }

  async connect() {
    this.raw = this.world.res.raw(this.node.handle);
    this.raw.on('frame', (fr) => this.onFrame(fr));
    this.raw.on('close', () => { if (!this.closedAt) this.closedAt = Date.now(); });
    await this.raw.established();
    if (this.userId) {
      const data = JSON.stringify({ user_id: this.userId, user_info: { n: this.userId } });
      const auth = h.channelAuth(this.world.app, this.raw.socketId, this.channel, data);
      await this.raw.subscribe(this.channel, auth, data);
    } else {
      await this.raw.subscribe(this.channel);
    }
    this.joinedAt = Date.now();
    // The raw client keeps every frame; this one keeps what it measures.
    this.raw.frames.length = 0;
  }

  onFrame(fr) {
    if (fr.event === 'pusher_internal:subscription_succeeded' && fr.channel === this.channel
        && fr.parsed && fr.parsed.presence) {
      this.members = new Set(fr.parsed.presence.ids);
    } else if (fr.event === 'pusher_internal:member_added' && fr.channel === this.channel) {
      this.members.add(fr.parsed.user_id);
    } else if (fr.event === 'pusher_internal:member_removed' && fr.channel === this.channel) {
      this.members.delete(fr.parsed.user_id);
    } else if (fr.event === 'ev' && fr.channel === this.channel && fr.parsed) {
      this.seqs.push(fr.parsed.seq);
    } else if (fr.event === 'pusher:error') {
      this.reconnectHint = fr.parsed;
    }
    if (this.raw && this.raw.frames.length > 1000) this.raw.frames.length = 0;
  }

  get alive() { return this.raw && this.raw.isOpen && !this.closedAt; }
}

/** Records every webhook request's events, in arrival order. */
class WebhookReceiver {
  constructor() {
    this.events = [];
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        try {
          for (const ev of JSON.parse(body).events) this.events.push({ ...ev, at: Date.now() });
        } catch (_) { /* counted as nothing */ }
        res.writeHead(200);
        res.end('{}');
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  stop() {
    return new Promise((resolve) => this.server.close(resolve));
  }

  count(name, channel, userId) {
    return this.events.filter((e) => e.name === name && e.channel === channel
      && (userId === undefined || e.user_id === userId)).length;
  }
}

/** One Starling node of the world, restartable. */
class NodeSlot {
  constructor(world, id) {
    this.world = world;
    this.id = id;
    this.handle = null;
  }

  async start() {
    const w = this.world;
    this.handle = await w.res.node({
      cluster: { bridge: 'nats', node_id: this.id, heartbeat_ms: w.opts.heartbeatMs,
        node_timeout_ms: w.opts.nodeTimeoutMs },
      nats: { servers: [`nats://127.0.0.1:${w.natsPort}`] },
      admin: { fault_injection: true },
      apps: [w.app],
      server: { shutdown_grace_s: 1 },
      logging: { level: process.env.STARLING_FAULT_LOG_LEVEL || 'warn' },
    }, { bin: w.opts.bin });
    this.alive = true;
    return this;
  }

  get pid() { return this.handle.pid; }
}

class World {
  constructor(opts = {}) {
    this.opts = {
      nodes: 3,
      channels: 6, // public
      presence: 3, // presence channels
      perNode: 2, // subscribers per channel per node
      solo: 1, // presence channels per node with members on that node only
      rateMs: 25, // one publish request per rateMs
      heartbeatMs: 200,
      nodeTimeoutMs: 1000,
      bin: undefined,
      logic: undefined, // apps[].logic of the app
      ...opts,
    };
    this.res = h.resources();
    this.subs = [];
    this.accepted = new Map(); // channel -> [seq] answered 200
    this.refused = new Map(); // channel -> [{seq, status}]
    this.seq = 0;
  }

  channelNames() {
    const out = [];
    for (let i = 0; i < this.opts.channels; ++i) out.push(`pub-${i}`);
    for (let i = 0; i < this.opts.presence; ++i) out.push(`presence-room-${i}`);
    // Presence channels per node whose members all live on that node: after
    // the node dies, only its owner (elsewhere) or, if the node owned it,
    // the standby's copy can tell who left.
    for (let i = 0; i < this.opts.nodes; ++i)
      for (let k = 0; k < this.opts.solo; ++k)
        out.push(k === 0 ? `presence-solo-n${i + 1}` : `presence-solo-n${i + 1}-${k}`);
    return out;
  }

  /** The node id whose members alone a solo channel has, else undefined. */
  static soloNode(name) {
    return name.startsWith('presence-solo-') ? name.split('-')[2] : undefined;
  }

  async start() {
    this.natsPort = await freePort();
    this.nats = await startNats(this.natsPort);
    this.hooks = await new WebhookReceiver().start();
    this.app = h.makeApp({
      enable_client_messages: true,
      webhooks: [{ url: `http://127.0.0.1:${this.hooks.port}/hook` }],
      ...(this.opts.logic ? { logic: this.opts.logic } : {}),
    });
    this.nodes = [];
    for (let i = 0; i < this.opts.nodes; ++i) this.nodes.push(new NodeSlot(this, `n${i + 1}`));
    await Promise.all(this.nodes.map((n) => n.start()));
    await this.waitView(this.nodes.length);
    let user = 0;
    for (const name of this.channelNames())
      for (const node of this.nodes) {
        const solo = World.soloNode(name);
        if (solo !== undefined && solo !== node.id) continue;
        for (let k = 0; k < this.opts.perNode; ++k) {
          const s = new Subscriber(this, node, name,
            name.startsWith('presence-') ? `u${++user}` : undefined);
          await s.connect();
          this.subs.push(s);
        }
      }
    return this;
  }

  /** Waits until every live node's view lists `n` members. */
  async waitView(n, timeoutMs = 8000) {
    await f.poll(async () => {
      for (const node of this.nodes.filter((x) => x.alive)) {
        const t = await f.topology(node.handle);
        if (t.cluster.members.length !== n) return false;
      }
      return true;
    }, timeoutMs, `a view of ${n} members`);
  }

  /** channel -> node id of its owner now (from /topology). */
  async owners() {
    const out = {};
    for (const node of this.nodes.filter((x) => x.alive)) {
      const t = await f.topology(node.handle);
      for (const name of (t.apps[0] && t.apps[0].owners) || []) out[name] = node.id;
    }
    return out;
  }

  liveNodes() { return this.nodes.filter((n) => n.alive); }

  /**
   * Publishes one numbered event on `channel` through `node` and records
   * the answer. Numbers grow in the order requests are sent; a request is
   * awaited before the caller sends the next.
   */
  async publishOne(channel, node) {
    const seq = ++this.seq;
    try {
      const r = await h.signedRequest(node.handle, {
        app: this.app,
        path: `/apps/${this.app.id}/events`,
        body: { name: 'ev', channels: [channel], data: JSON.stringify({ seq }) },
      });
      const map = r.status === 200 ? this.accepted : this.refused;
      if (!map.has(channel)) map.set(channel, []);
      map.get(channel).push(r.status === 200 ? seq : { seq, status: r.status });
    } catch (err) {
      if (!this.refused.has(channel)) this.refused.set(channel, []);
      this.refused.get(channel).push({ seq, status: 0, error: String(err) });
    }
  }

  /** Publishes numbered events, alternating nodes, until stopPublishing(). */
  startPublishing() {
    this.publishing = true;
    const names = this.channelNames();
    let turn = 0;
    this.publisher = (async () => {
      while (this.publishing) {
        const channel = names[(this.seq + 1) % names.length];
        const live = this.liveNodes();
        await this.publishOne(channel, live[turn++ % live.length]);
        await sleep(this.opts.rateMs);
      }
    })();
  }

  async stopPublishing() {
    this.publishing = false;
    await this.publisher;
  }

  /**
   * Delivery per channel for subscribers still connected: accepted events
   * they did not get (lost), got twice (dupes), or got out of order.
   * `since`: only events accepted after this seq count.
   */
  delivery({ since = 0 } = {}) {
    const out = {};
    for (const [channel, seqs] of this.accepted) {
      const want = seqs.filter((s) => s > since);
      const rows = { lost: 0, dupes: 0, reordered: 0, subscribers: 0, expected: want.length, missing: [] };
      for (const s of this.subs) {
        if (s.channel !== channel || !s.alive) continue;
        ++rows.subscribers;
        const got = s.seqs.filter((x) => x > since);
        const d = f.seqDiff(want, got);
        rows.lost += d.missing.length;
        // For a post-mortem: which events, on which node's subscriber.
        if (d.missing.length) rows.missing.push({ node: s.node.id ?? s.node, seqs: d.missing.slice(0, 10) });
        rows.dupes += d.dupes;
        rows.reordered += d.outOfOrder;
        // The same for order: which node's subscriber, and what it got.
        if (d.outOfOrder && !rows.order) rows.order = { node: s.node.id ?? s.node, got: got.slice(-40) };
      }
      out[channel] = rows;
    }
    return out;
  }

  /** HTTP answers that were not 200 since `since`. */
  refusedSince(since = 0) {
    let n = 0;
    for (const list of this.refused.values()) n += list.filter((x) => x.seq > since).length;
    return n;
  }

  /** The users connected to each presence channel (by live subscribers). */
  connectedMembers() {
    const out = {};
    for (const s of this.subs) {
      if (!s.userId) continue;
      if (!out[s.channel]) out[s.channel] = new Set();
      if (s.alive) out[s.channel].add(s.userId);
    }
    return out;
  }

  /**
   * Presence differences now: for each presence channel, REST /users on
   * each live node and each live subscriber's member list against the
   * connected members. Returns a list of mismatches (empty when exact).
   */
  async presenceMismatches() {
    const truth = this.connectedMembers();
    const out = [];
    for (const [channel, members] of Object.entries(truth)) {
      const want = [...members].sort();
      for (const node of this.liveNodes()) {
        let got;
        try {
          const r = await h.signedRequest(node.handle, {
            app: this.app, method: 'GET', path: `/apps/${this.app.id}/channels/${channel}/users`,
          });
          got = r.status === 200 ? r.json.users.map((u) => u.id).sort() : [`HTTP ${r.status}`];
        } catch (err) {
          got = [`no answer: ${err.name}`];
        }
        if (JSON.stringify(got) !== JSON.stringify(want))
          out.push({ channel, where: `REST@${node.id}`, want, got });
      }
      for (const s of this.subs) {
        if (s.channel !== channel || !s.alive) continue;
        const got = [...s.members].sort();
        if (JSON.stringify(got) !== JSON.stringify(want))
          out.push({ channel, where: `client ${s.userId}@${s.node.id}`, want, got });
      }
    }
    return out;
  }

  /** Waits (bounded) until presence is exact; returns ms taken or throws. */
  async presenceSettles(timeoutMs = 6000) {
    const t0 = Date.now();
    let last = [];
    await f.poll(async () => {
      last = await this.presenceMismatches();
      return last.length === 0;
    }, timeoutMs, 'exact presence').catch((err) => {
      err.message += `: ${JSON.stringify(last.slice(0, 5))}`;
      throw err;
    });
    return Date.now() - t0;
  }

  /**
   * Webhook balance per channel and user once nothing is subscribed:
   * member_added == member_removed and occupied == vacated. Returns the
   * unbalanced pairs.
   */
  webhookImbalance() {
    const pairs = new Map();
    const bump = (key, d) => pairs.set(key, (pairs.get(key) || 0) + d);
    for (const e of this.hooks.events) {
      if (e.name === 'member_added') bump(`member ${e.channel} ${e.user_id}`, +1);
      else if (e.name === 'member_removed') bump(`member ${e.channel} ${e.user_id}`, -1);
      else if (e.name === 'channel_occupied') bump(`channel ${e.channel}`, +1);
      else if (e.name === 'channel_vacated') bump(`channel ${e.channel}`, -1);
    }
    return [...pairs.entries()].filter(([, n]) => n !== 0);
  }

  /** Closes every subscriber (then webhooks can be balanced). */
  async closeAll() {
    await Promise.all(this.subs.map((s) => (s.raw ? s.raw.close() : null)));
  }

  async stop() {
    this.publishing = false;
    await this.publisher;
    // STARLING_FAULT_LOGS=<dir>: keep every node's log for a post-mortem.
    const dir = process.env.STARLING_FAULT_LOGS;
    if (dir) {
      const fs = require('node:fs');
      fs.mkdirSync(dir, { recursive: true });
      const tag = (this.opts.name || 'world').replace(/[^a-z0-9]+/gi, '-');
      for (const n of this.nodes)
        if (n.handle) fs.writeFileSync(`${dir}/${tag}-${n.id}.log`, n.handle.stderr());
    }
    await this.res.cleanup();
    if (this.nats) await this.nats.stop();
    if (this.hooks) await this.hooks.stop();
  }

  // -- faults ----------------------------------------------------------------

  kill9(node) {
    node.alive = false;
    process.kill(node.pid, 'SIGKILL');
    return node.handle.exited;
  }

  async sigterm(node) {
    node.alive = false;
    process.kill(node.pid, 'SIGTERM');
    return node.handle.exited;
  }

  pause(node) { process.kill(node.pid, 'SIGSTOP'); }

  resume(node) { process.kill(node.pid, 'SIGCONT'); }

  /** Stops nats-server, waits `outageMs`, starts it again on the same port. */
  /**
   * Stops nats-server for `outageMs`, restarts it, and waits (bounded)
   * until every live node's NATS connection came back (its /metrics).
   */
  async restartNats(outageMs, timeoutMs = 15000) {
    await this.nats.stop();
    await sleep(outageMs);
    this.nats = await startNats(this.natsPort);
    await f.poll(async () => {
      for (const n of this.liveNodes()) {
        const m = await f.metrics(n.handle);
        const down = m.starling_bus_disconnects_total;
        if (!(down > 0) || m.starling_bus_reconnects_total < down) return false;
      }
      return true;
    }, timeoutMs, 'every node back on NATS');
  }

  async addNode(id) {
    const node = new NodeSlot(this, id);
    this.nodes.push(node);
    await node.start();
    return node;
  }
}

module.exports = { World, Subscriber, WebhookReceiver, sleep, spawn };
