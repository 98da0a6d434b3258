#!/usr/bin/env node
'use strict';
// Runs a scenario file (examples/scenarios/*.json) against a fresh node, or
// a fresh cluster of N nodes over a local nats-server, of the
// `starling_examples` binary. Clients are real pusher-js clients (from
// tests/conformance/node_modules: run `npm ci` there first).
//
//   node examples/run_scenario.js examples/scenarios/chat.json [--nodes 2]
//        [--bin build/examples/starling_examples] [--verbose]
//
// A scenario: {"description", "config": "<config file, relative to the
// scenario>", "steps": [...]}; each step is one of
//   {"connect": "alice", "node": 0, "user": "vip-ann"}    pusher-js client;
//        with "user": signs in (pusher:signin) and joins presence as that id
//   {"subscribe": "<channel>", "client": "alice", "expect": "refused"?}
//   {"trigger": "client-x", "client": "alice", "channel": "...", "data": {}}
//   {"publish": "news", "channel": "...", "data": {}, "node": 0}  HTTP API
//   {"expect": "<event>", "client": "bob", "channel": "...", "data": {}?,
//    "timeout_ms": 3000}     the next such event (recorded since subscribe)
//   {"expect_none": "<event>", "client": "bob", "channel": "...",
//    "data": {}?, "within_ms": 500}
//   {"crash": "<actor>[/<channel>]"}   POST /faults/crash?kind=logic, on
//        whichever node runs that instance
//   {"logic": {"actor": "...", "channels": "...", "status": "running"}}
//        /topology shows that binding so on some node
//   {"wait_ms": 200}
// `node` indexes are taken modulo the number of nodes, so one scenario runs
// on one node and on a cluster.

const fs = require('node:fs');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const support = path.resolve(__dirname, '../tests/conformance/support');
const h = require(path.join(support, 'node'));
const f = require(path.join(support, 'faults'));
const cluster = require(path.join(support, 'cluster'));

function usage(msg) {
  if (msg) console.error(`run_scenario: ${msg}`);
  console.error('usage: node examples/run_scenario.js <scenario.json> [--nodes N] [--bin PATH] [--verbose]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { nodes: 1, bin: path.resolve(__dirname, '../build/examples/starling_examples'), verbose: false };
  const rest = [];
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--nodes') opts.nodes = Number(argv[++i]);
    else if (a === '--bin') opts.bin = path.resolve(argv[++i]);
    else if (a === '--verbose') opts.verbose = true;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else rest.push(a);
  }
  if (rest.length !== 1) usage('one scenario file');
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) usage('--nodes must be a positive integer');
  opts.scenario = path.resolve(rest[0]);
  return opts;
}

/** Recorded events per client and channel, consumed in order by `expect`. */
class Recorder {
  constructor() { this.logs = new Map(); }
  log(client, channel) {
    const key = `${client}\u0000${channel}`;
    if (!this.logs.has(key)) this.logs.set(key, { events: [], next: 0 });
    return this.logs.get(key);
  }
}

const matches = (e, want) => e.event === want.event
  && (want.data === undefined || isDeepStrictEqual(e.data, want.data));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opts.bin)) usage(`no binary at ${opts.bin} (build it, or pass --bin)`);
  const scenario = JSON.parse(fs.readFileSync(opts.scenario, 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.resolve(path.dirname(opts.scenario), scenario.config), 'utf8'));
  // Fresh ports; the scenario talks to whatever the node picked.
  config.server = { ...(config.server || {}), port: 0 };
  config.admin = { ...(config.admin || {}), port: 0, fault_injection: true };
  config.logging = { level: opts.verbose ? 'info' : 'warn' };
  const app = config.apps[0];

  console.log(`scenario: ${scenario.description || path.basename(opts.scenario)} (${opts.nodes} node${opts.nodes > 1 ? 's' : ''})`);
  const nodes = [];
  const clients = new Map();
  const rec = new Recorder();
  let nats = null;
  const cleanup = async () => {
    await h.cleanupAll([...clients.values()].map((c) => () => h.closeClient(c)));
    await h.cleanupAll(nodes.map((n) => () => n.stop()));
    if (nats) await nats.stop();
  };

  try {
    if (opts.nodes === 1) {
      nodes.push(await h.startNode(config, { bin: opts.bin }));
    } else {
      const natsPort = await cluster.freePort();
      nats = await cluster.startNats(natsPort);
      for (let i = 0; i < opts.nodes; ++i)
        nodes.push(await h.startNode({ ...config, ...cluster.clusterConfig(natsPort, `node-${i}`) }, { bin: opts.bin }));
      for (const n of nodes)
        await cluster.viewWhere(n, (v) => v.members.length === opts.nodes, 10000);
    }
    const nodeAt = (i = 0) => nodes[i % nodes.length];
    const clientOf = (name) => {
      const c = clients.get(name);
      if (!c) throw new Error(`no client "${name}": connect it first`);
      return c;
    };

    let n = 0;
    for (const step of scenario.steps) {
      ++n;
      const label = `step ${n}: ${JSON.stringify(step)}`;
      try {
        if (step.connect) {
          const user = step.user;
          const c = h.pusherClient(nodeAt(step.node), app, user
            ? { userData: { id: user }, user: { user_id: user, user_info: { name: user } } } : {});
          clients.set(step.connect, c);
          await h.connected(c);
          if (user) {
            const done = h.waitFor(c.connection, 'message', 3000, (m) => m.event === 'pusher:signin_success');
            c.signin();
            await done;
          }
        } else if (step.subscribe) {
          const c = clientOf(step.client);
          const channel = c.subscribe(step.subscribe);
          const log = rec.log(step.client, step.subscribe);
          channel.bind_global((event, data) => log.events.push({ event, data }));
          if (step.expect === 'refused') {
            let refused = null;
            await h.subscribed(channel).catch((err) => { refused = err; });
            if (!refused) throw new Error('the subscription succeeded; expected a refusal');
            if (opts.verbose) console.log(`      refused: ${JSON.stringify(refused.data)}`);
          } else {
            await h.subscribed(channel);
          }
        } else if (step.trigger) {
          const channel = clientOf(step.client).channel(step.channel);
          if (!channel || !channel.trigger(step.trigger, step.data ?? {}))
            throw new Error('pusher-js did not send the client event');
        } else if (step.publish) {
          await h.serverSdk(nodeAt(step.node), app).trigger(step.channel, step.publish, step.data ?? {});
        } else if (step.expect) {
          const log = rec.log(step.client, step.channel);
          const want = { event: step.expect, data: step.data };
          const found = await h.waitFor(() => {
            for (let i = log.next; i < log.events.length; ++i)
              if (matches(log.events[i], want)) { log.next = i + 1; return log.events[i]; }
            return null;
          }, step.timeout_ms ?? 3000, `${step.expect} for ${step.client} on ${step.channel}`);
          if (opts.verbose) console.log(`      got: ${JSON.stringify(found.data)}`);
        } else if (step.expect_none) {
          const log = rec.log(step.client, step.channel);
          const from = log.next;
          await f.sleep(step.within_ms ?? 500);
          const want = { event: step.expect_none, data: step.data };
          const hit = log.events.slice(from).find((e) => matches(e, want));
          if (hit) throw new Error(`unexpected ${hit.event}: ${JSON.stringify(hit.data)}`);
        } else if (step.crash) {
          // The instance lives on the node that owns its channel.
          await f.poll(async () => {
            for (const node of nodes)
              if ((await f.crash(node, { app: app.id, kind: 'logic', name: step.crash })).status === 200) return true;
            return false;
          }, step.timeout_ms ?? 3000, `a running ${step.crash}`);
        } else if (step.logic) {
          const want = step.logic;
          await f.poll(async () => {
            for (const node of nodes) {
              const topo = await f.topology(node);
              const a = topo.apps.find((x) => x.id === app.id);
              const hit = a && (a.logic || []).find((l) => l.actor === want.actor
                && (want.channels === undefined || l.channels === want.channels)
                && (want.status === undefined || l.status === want.status));
              if (hit) return true;
            }
            return false;
          }, step.timeout_ms ?? 3000, `logic ${JSON.stringify(want)} in /topology`);
        } else if (step.wait_ms !== undefined) {
          await f.sleep(step.wait_ms);
        } else {
          throw new Error('unknown step');
        }
        console.log(`ok   ${label}`);
      } catch (err) {
        console.log(`FAIL ${label}\n     ${err.message}`);
        for (const node of nodes)
          if (!node.alive()) console.log(`     a node died:\n${node.stderr().slice(-2000)}`);
        process.exitCode = 1;
        return;
      }
    }
    console.log(`passed: ${n} steps`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(`run_scenario: ${err.stack || err}`);
  process.exit(1);
});
