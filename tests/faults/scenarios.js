'use strict';
// The faults, each as one scenario on a fresh world under traffic: what
// happens, and what is measured afterwards. Shared by the CTest suite
// (faults.test.js, small and bounded) and the soak command (soak.js).

const { spawn } = require('node:child_process');
const path = require('node:path');
const f = require('../conformance/support/faults');
const { World, sleep } = require('./world');
const { scaled } = require('../conformance/support/slowdown');

// The binary with the example logic actors registered (chat_filter).
const EXAMPLES_BIN = process.env.STARLING_EXAMPLES_BIN
  || path.resolve(__dirname, '../../build/examples/starling_examples');

/**
 * Runs `fault(world, ctx)` on a fresh world under traffic and returns the
 * measurements: deliveries lost/duplicated/reordered on subscribers that
 * stayed connected, split by whether the channel's owner node survived;
 * HTTP answers that were not 200; presence exactness (and how long it took
 * to become exact); webhook pairs once every client left.
 */
async function runScenario(name, fault, opts = {}) {
  const w = new World({ name, ...fault.world, ...opts.world });
  const out = { name };
  try {
    await w.start();
    w.startPublishing();
    await sleep(opts.warmMs ?? fault.warmMs ?? 800);
    const ownersBefore = await w.owners();
    const ctx = { ownersBefore, t0: Date.now() };
    await fault(w, ctx);
    // Time budgets, scaled by STARLING_TEST_SLOWDOWN (as written when unset).
    await sleep(scaled(opts.settleMs ?? 1500));
    await w.stopPublishing();
    // Deliveries in flight reach their subscribers: await them (bounded;
    // a loaded machine may need longer than an idle one). What is still
    // missing after drainMs counts as lost.
    const missing = () => Object.values(w.delivery()).reduce((n, r) => n + r.lost, 0);
    await f.poll(() => missing() === 0, scaled(opts.drainMs ?? 5000), 'deliveries to arrive')
      .catch(() => {});
    const deadNodes = new Set(w.nodes.filter((n) => !n.alive).map((n) => n.id));
    const delivery = w.delivery();
    out.channels = Object.keys(delivery).length;
    out.lostOwnerSurvived = 0;
    out.lostOwnerDied = 0;
    out.dupes = 0;
    out.reordered = 0;
    out.expected = 0;
    for (const [channel, row] of Object.entries(delivery)) {
      const ownerDied = deadNodes.has(ownersBefore[channel]);
      if (ownerDied) out.lostOwnerDied += row.lost;
      else out.lostOwnerSurvived += row.lost;
      if (row.missing.length && (out.lostDetail || []).length < 5)
        (out.lostDetail = out.lostDetail || []).push({ channel, owner: ownersBefore[channel], missing: row.missing });
      out.dupes += row.dupes;
      out.reordered += row.reordered;
      if (row.order && !out.orderDetail)
        out.orderDetail = { channel, owner: ownersBefore[channel], ...row.order };
      out.expected += row.expected * row.subscribers;
    }
    out.notAccepted = w.refusedSince(0);
    out.accepted = [...w.accepted.values()].reduce((n, xs) => n + xs.length, 0);
    out.reconnectHints = w.subs.filter((s) => s.alive && s.reconnectHint).length;
    try {
      out.presenceSettledMs = await w.presenceSettles(opts.presenceMs ?? 5000);
      out.presenceExact = true;
    } catch (err) {
      out.presenceExact = false;
      out.presenceError = err.message.slice(0, 300);
    }
    if (ctx.ghostMs !== undefined) out.ghostMs = ctx.ghostMs;
    if (ctx.extra) Object.assign(out, ctx.extra);
    if (opts.webhooks !== false) {
      await w.closeAll();
      // vacated and member_removed wait 3 s at the webhook actor.
      await f.poll(() => w.webhookImbalance().length === 0, 8000, 'balanced webhooks')
        .catch(() => {});
      out.webhookImbalance = w.webhookImbalance();
    }
  } finally {
    await w.stop();
  }
  return out;
}

/** View changes by reason, summed over the live nodes (their /metrics). */
async function viewChanges(w) {
  const out = {};
  for (const n of w.liveNodes()) {
    const m = await f.metrics(n.handle);
    for (const [k, v] of Object.entries(m)) {
      const r = /^starling_cluster_view_changes_total\{reason="([^"]*)"\}$/.exec(k);
      if (r) out[r[1]] = (out[r[1]] || 0) + v;
    }
  }
  return out;
}

/** Polls until no presence roster lists a member of `deadNode`. */
async function ghostLifetime(w, deadNode, t0, timeoutMs = 8000) {
  const ghosts = new Set(w.subs.filter((s) => s.node === deadNode && s.userId)
    .map((s) => s.userId));
  await f.poll(async () => {
    const bad = await w.presenceMismatches();
    return !bad.some((m) => m.got.some((id) => ghosts.has(id)));
  }, timeoutMs, 'ghosts to leave');
  return Date.now() - t0;
}

const scenarios = {
  /** The owner actor of a channel crashes, `times` times (crash injection). */
  'owner crash': async (w, ctx, times = 5) => {
    // Each crash is followed at once by a burst on that channel from every
    // node: what the HTTP API accepts while the owner is rebuilt.
    const names = w.channelNames();
    for (let i = 0; i < times; ++i) {
      const channel = names[i % names.length];
      const owners = await w.owners();
      const node = w.nodes.find((n) => n.id === owners[channel]);
      if (!node) continue;
      await f.crash(node.handle, { kind: 'owner', name: channel });
      for (let k = 0; k < 10; ++k)
        await w.publishOne(channel, w.liveNodes()[k % w.liveNodes().length]);
      await sleep(150);
    }
  },

  /** A local channel actor crashes on every node. */
  'channel crash': async (w) => {
    for (const channel of w.channelNames().slice(0, 3))
      for (const node of w.liveNodes())
        await f.crash(node.handle, { kind: 'channel', name: channel });
  },

  /**
   * Every public channel's local actor crashes on every node while its
   * first events are being numbered (no warm-up; a young cluster's owners
   * hold events for up to 1 s): one that had delivered nothing yet resumes
   * its subscribers from their join, not after what its owner numbered
   * meanwhile.
   */
  'channel crash at first events': Object.assign(async (w) => {
    // A crash every ~50 ms for the first 1.2 s: each channel's first event
    // is numbered inside the 50 ms its subscribers take to rejoin.
    const names = w.channelNames().filter((n) => n.startsWith('pub-'));
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      await Promise.all(w.liveNodes().flatMap((node) => names.map((channel) =>
        f.crash(node.handle, { kind: 'channel', name: channel }).catch(() => {}))));
      await sleep(40);
    }
  }, { warmMs: 0 }),

  /** The app of one node crashes past its restart limit: answers 503, retried later. */
  'app crash to failure': async (w, ctx) => {
    const node = w.nodes[0];
    // Crash it whenever it runs until it is marked failed (bounded).
    await f.poll(async () => {
      const app = await f.appTopology(node.handle).catch(() => null);
      if (app && app.status === 'failed') return true;
      await f.crash(node.handle, { kind: 'app' }).catch(() => {});
      return false;
    }, 5000, 'the app to fail');
    // While failed, its node answers 503 (not 200) for the app's events.
    await w.publishOne('pub-0', node);
    const refused = (w.refused.get('pub-0') || []).slice(-1)[0];
    ctx.extra = { failedAnswer: refused ? refused.status : 200 };
    // The node retries a failed app after 10 s; presence and webhooks are
    // checked once it runs again.
    await f.poll(async () => {
      const app = await f.appTopology(node.handle).catch(() => null);
      return app && app.status === 'running';
    }, 15000, 'the app to run again');
  },

  /**
   * The logic instance beside each channel's owner (chat_filter, bound to
   * every channel) crashes under traffic, twice per channel: HTTP publishes,
   * presence and webhooks do not notice.
   */
  'logic crash': Object.assign(async (w) => {
    for (let round = 0; round < 2; ++round) {
      const owners = await w.owners();
      for (const channel of w.channelNames()) {
        const node = w.nodes.find((n) => n.id === owners[channel]);
        if (node) await f.crash(node.handle, { kind: 'logic', name: `chat_filter/${channel}` });
      }
      await sleep(200);
    }
  }, {
    world: { logic: [{ actor: 'chat_filter', channels: '*' }], bin: EXAMPLES_BIN },
  }),

  /**
   * kill -9 of the node that owns the most of its own solo presence
   * channels: it dies with their owners and every member, so only the
   * standby's copy of their occupancy tells who left (member_removed,
   * channel_vacated; docs/fault-tolerance.md). Six solo channels per node
   * make such a node all but certain; `ownSoloLost` counts them.
   */
  'kill -9 of a node': Object.assign(async (w, ctx) => {
    const ownSolo = {};
    for (const [channel, owner] of Object.entries(ctx.ownersBefore))
      if (World.soloNode(channel) === owner) ownSolo[owner] = (ownSolo[owner] || 0) + 1;
    const victimId = w.nodes.map((n) => n.id)
      .sort((a, b) => (ownSolo[b] || 0) - (ownSolo[a] || 0))[0];
    ctx.extra = { ownSoloLost: ownSolo[victimId] || 0 };
    const victim = w.nodes.find((n) => n.id === victimId);
    const t0 = Date.now();
    await w.kill9(victim);
    ctx.ghostMs = await ghostLifetime(w, victim, t0).catch(() => -1);
  }, { world: { solo: 6 } }),

  /** SIGTERM of a node: it hands its owners over and leaves. */
  'SIGTERM of a node': async (w) => {
    await w.sigterm(w.nodes[w.nodes.length - 1]);
    await w.waitView(w.nodes.length - 1);
  },

  /** nats-server killed and restarted `outageMs` later. */
  'NATS restart': async (w, ctx, outageMs = 1000) => {
    await w.restartNats(outageMs);
    await w.waitView(w.liveNodes().length, 10000);
  },

  /** nats-server down for 5 s: the bound docs/fault-tolerance.md promises. */
  'NATS outage 5 s': async (w) => {
    await w.restartNats(5000);
    await w.waitView(w.liveNodes().length, 15000);
  },

  /** A node is paused past the node timeout, then resumes. */
  'paused node': async (w) => {
    const node = w.nodes[1];
    w.pause(node);
    await sleep(w.opts.nodeTimeoutMs * 2);
    w.resume(node);
    await w.waitView(w.liveNodes().length, 10000);
  },

  /**
   * Two busy loops take both cores for `seconds` (soak only): the view
   * should not change; its changes by reason are reported.
   */
  'loaded machine': async (w, ctx, seconds = Number(process.env.STARLING_LOAD_S || 60)) => {
    const before = await viewChanges(w);
    const hogs = [0, 1].map(() => spawn(process.execPath,
      ['-e', `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end);`],
      { stdio: 'ignore' }));
    await Promise.all(hogs.map((p) => new Promise((r) => p.on('exit', r))));
    const after = await viewChanges(w);
    const flaps = {};
    for (const [k, v] of Object.entries(after))
      if (v - (before[k] || 0) > 0) flaps[k] = v - (before[k] || 0);
    ctx.extra = { loadedSeconds: seconds, viewChangesUnderLoad: flaps };
  },

  /** A node joins the cluster under traffic. */
  'node joins': async (w) => {
    await w.addNode(`n${w.nodes.length + 1}`);
    await w.waitView(w.nodes.length);
  },
};

module.exports = { runScenario, scenarios, ghostLifetime };
