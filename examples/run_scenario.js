#!/usr/bin/env node
'use strict';
// Runs a scenario file (examples/scenarios/*.json) against a fresh node, or
// a fresh cluster of N nodes over a local nats-server, of the
// `starling_examples` binary. Clients are real pusher-js clients (from
// tests/conformance/node_modules: run `npm ci` there first).
//
//   node examples/run_scenario.js examples/scenarios/chat.json [--nodes 2]
//        [--bin build/examples/starling_examples] [--verbose]
//        [--keep-running] [--check]
//
// The grammar (every step kind, its fields and defaults) is in
// examples/README.md; STEP_KINDS below is its source of truth. The file is
// validated before anything starts: a bad file exits with code 2.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { isDeepStrictEqual } = require('node:util');

const support = path.resolve(__dirname, '../tests/conformance/support');

// -- grammar -------------------------------------------------------------------

const TOP_FIELDS = { description: 'string', config: 'string', steps: 'array' };
const TOP_REQUIRED = ['config', 'steps'];

// The first field of a step names its kind; `fields` are the others it may
// have (type per field), `required` the ones it must.
const STEP_KINDS = {
  connect: { kind: 'string', fields: { node: 'integer', user: 'string' } },
  subscribe: { kind: 'string', fields: { client: 'string', expect: ['subscribed', 'refused'], timeout_ms: 'integer' }, required: ['client'] },
  unsubscribe: { kind: 'string', fields: { client: 'string' }, required: ['client'] },
  disconnect: { kind: 'string', fields: { timeout_ms: 'integer' } },
  trigger: { kind: 'string', fields: { client: 'string', channel: 'string', data: 'any' }, required: ['client', 'channel'] },
  publish: { kind: 'string', fields: { channel: 'string', data: 'any', node: 'integer' }, required: ['channel'] },
  expect: { kind: 'string', fields: { client: 'string', channel: 'string', data: 'any', timeout_ms: 'integer' }, required: ['client', 'channel'] },
  expect_none: { kind: 'string', fields: { client: 'string', channel: 'string', data: 'any', within_ms: 'integer' }, required: ['client', 'channel'] },
  query: {
    kind: ['channel', 'channels', 'users'],
    fields: { channel: 'string', prefix: 'string', info: 'string', node: 'integer', status: 'integer', expect: 'object', timeout_ms: 'integer' },
  },
  webhook: {
    kind: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'],
    fields: { channel: 'string', user_id: 'string', event: 'string', data: 'any', timeout_ms: 'integer' },
  },
  crash: { kind: 'string', fields: { timeout_ms: 'integer' } },
  logic: { kind: 'object', fields: { timeout_ms: 'integer' } },
  wait_ms: { kind: 'integer', fields: {} },
  move_owner: { kind: 'string', fields: { timeout_ms: 'integer' } },
};
const LOGIC_FIELDS = { actor: 'string', channels: 'string', status: 'string' };

function typeError(value, type) {
  if (type === 'any') return null;
  if (Array.isArray(type))
    return type.includes(value) ? null : `must be one of ${type.join(', ')}`;
  const ok = type === 'integer' ? Number.isInteger(value) && value >= 0
    : type === 'array' ? Array.isArray(value)
      : type === 'object' ? value !== null && typeof value === 'object' && !Array.isArray(value)
        : typeof value === type; // eslint-disable-line valid-typeof
  return ok ? null : `must be ${type === 'integer' ? 'a non-negative integer' : `a${/^[aeiou]/.test(type) ? 'n' : ''} ${type}`}`;
}

/** Every problem with a parsed scenario, as messages; [] when it is valid. */
function validate(scenario) {
  const errors = [];
  if (scenario === null || typeof scenario !== 'object' || Array.isArray(scenario))
    return ['the scenario must be a JSON object'];
  for (const key of Object.keys(scenario))
    if (!(key in TOP_FIELDS))
      errors.push(`unknown top-level field "${key}" (valid: ${Object.keys(TOP_FIELDS).join(', ')})`);
    else if (typeError(scenario[key], TOP_FIELDS[key]))
      errors.push(`top-level field "${key}" ${typeError(scenario[key], TOP_FIELDS[key])}`);
  for (const key of TOP_REQUIRED)
    if (!(key in scenario)) errors.push(`missing top-level field "${key}"`);
  if (!Array.isArray(scenario.steps)) return errors;

  const connected = new Set();
  scenario.steps.forEach((step, i) => {
    const at = `step ${i + 1}`;
    if (step === null || typeof step !== 'object' || Array.isArray(step) || Object.keys(step).length === 0) {
      errors.push(`${at}: must be a non-empty object whose first field names its kind (valid kinds: ${Object.keys(STEP_KINDS).join(', ')})`);
      return;
    }
    const [kind, ...rest] = Object.keys(step);
    const spec = STEP_KINDS[kind];
    if (!spec) {
      errors.push(`${at}: unknown step kind "${kind}" (valid kinds: ${Object.keys(STEP_KINDS).join(', ')})`);
      return;
    }
    const bad = typeError(step[kind], spec.kind);
    if (bad) errors.push(`${at}: "${kind}" ${bad}`);
    const valid = Object.keys(spec.fields);
    for (const field of rest) {
      if (!(field in spec.fields)) {
        errors.push(`${at} (${kind}): unknown field "${field}" (valid: ${valid.join(', ') || 'none'})`);
        continue;
      }
      const err = typeError(step[field], spec.fields[field]);
      if (err) errors.push(`${at} (${kind}): field "${field}" ${err}`);
    }
    for (const field of spec.required || [])
      if (!(field in step)) errors.push(`${at} (${kind}): missing field "${field}"`);
    // Kind-specific rules.
    if (kind === 'logic' && !bad) {
      for (const field of Object.keys(step.logic))
        if (!(field in LOGIC_FIELDS))
          errors.push(`${at} (logic): unknown field "logic.${field}" (valid: ${Object.keys(LOGIC_FIELDS).join(', ')})`);
        else if (typeError(step.logic[field], LOGIC_FIELDS[field]))
          errors.push(`${at} (logic): field "logic.${field}" ${typeError(step.logic[field], LOGIC_FIELDS[field])}`);
      if (!('actor' in step.logic)) errors.push(`${at} (logic): missing field "logic.actor"`);
    }
    if (kind === 'query' && (step.query === 'channel' || step.query === 'users') && !('channel' in step))
      errors.push(`${at} (query): missing field "channel" (needed by query "${step.query}")`);
    if (kind === 'query' && 'prefix' in step && step.query !== 'channels')
      errors.push(`${at} (query): field "prefix" only applies to query "channels"`);
    // Clients are named by connect; a typo would otherwise surface only at run time.
    if (kind === 'connect') connected.add(step.connect);
    const client = kind === 'disconnect' ? step.disconnect : step.client;
    if (typeof client === 'string' && !connected.has(client))
      errors.push(`${at} (${kind}): client "${client}" is not connected by an earlier step`);
  });
  return errors;
}

// -- command line ----------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`run_scenario: ${msg}`);
  console.error('usage: node examples/run_scenario.js <scenario.json> [--nodes N] [--bin PATH] [--verbose] [--keep-running] [--check]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    nodes: 1, bin: path.resolve(__dirname, '../build/examples/starling_examples'),
    verbose: false, keepRunning: false, check: false,
  };
  const rest = [];
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--nodes') opts.nodes = Number(argv[++i]);
    else if (a === '--bin') opts.bin = path.resolve(argv[++i]);
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--keep-running') opts.keepRunning = true;
    else if (a === '--check') opts.check = true;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else rest.push(a);
  }
  if (rest.length !== 1) usage('one scenario file');
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) usage('--nodes must be a positive integer');
  opts.scenario = path.resolve(rest[0]);
  return opts;
}

/** The scenario, parsed and validated; exits with code 2 when it is bad. */
function load(file) {
  let scenario;
  try {
    scenario = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`run_scenario: ${file}: ${err.message}`);
    process.exit(2);
  }
  const errors = validate(scenario);
  if (errors.length) {
    console.error(`run_scenario: ${file}: ${errors.length} error${errors.length > 1 ? 's' : ''}`);
    for (const e of errors) console.error(`  ${e}`);
    process.exit(2);
  }
  return scenario;
}

// -- running -------------------------------------------------------------------

/** Recorded events per client and channel, consumed in order by `expect`. */
class Recorder {
  constructor() { this.logs = new Map(); }
  log(client, channel) {
    const key = `${client}\u0000${channel}`;
    if (!this.logs.has(key)) this.logs.set(key, { events: [], next: 0 });
    return this.logs.get(key);
  }
  /** What `client` received, per channel, for a timed-out expectation. */
  describe(client, channel) {
    const lines = [];
    const mine = this.log(client, channel);
    lines.push(`received by ${client} on ${channel} (${mine.events.length}; the first ${mine.next} already matched earlier steps):`);
    mine.events.forEach((e, i) => lines.push(`       ${i < mine.next ? 'used' : '    '} ${e.event} ${JSON.stringify(e.data)}`));
    for (const [key, log] of this.logs) {
      const [c, ch] = key.split('\u0000');
      if (c === client && ch !== channel)
        lines.push(`     ${client} on ${ch}: ${log.events.map((e) => e.event).join(', ') || '(nothing)'}`);
    }
    return lines.join('\n');
  }
}

/** `want` holds in `got`: objects by their listed fields, arrays element-wise. */
function subset(got, want) {
  if (Array.isArray(want))
    return Array.isArray(got) && got.length === want.length && want.every((w, i) => subset(got[i], w));
  if (want !== null && typeof want === 'object')
    return got !== null && typeof got === 'object' && Object.keys(want).every((k) => subset(got[k], want[k]));
  return isDeepStrictEqual(got, want);
}

const matches = (e, want) => e.event === want.event
  && (want.data === undefined || isDeepStrictEqual(e.data, want.data));

/** A webhook receiver on 127.0.0.1 (a free port); events in arrival order. */
async function startReceiver() {
  const emitter = new EventEmitter();
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        for (const ev of JSON.parse(Buffer.concat(chunks).toString('utf8')).events || []) events.push(ev);
      } catch (_) { /* not a webhook body: nothing to record */ }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      emitter.emit('hook');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/webhooks`,
    events,
    used: new Set(),
    emitter,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function webhookMatches(ev, step) {
  if (ev.name !== step.webhook) return false;
  if (step.channel !== undefined && ev.channel !== step.channel) return false;
  if (step.user_id !== undefined && ev.user_id !== step.user_id) return false;
  if (step.event !== undefined && ev.event !== step.event) return false;
  if (step.data !== undefined) {
    let data = ev.data;
    try { data = JSON.parse(ev.data); } catch (_) { /* a string payload stays a string */ }
    if (!isDeepStrictEqual(data, step.data)) return false;
  }
  return true;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const scenario = load(opts.scenario);
  if (opts.check) {
    console.log(`${opts.scenario}: valid (${scenario.steps.length} steps)`);
    return;
  }
  if (!fs.existsSync(opts.bin)) usage(`no binary at ${opts.bin} (build it, or pass --bin)`);
  // Loaded here, not at the top: --check and a bad file need no node_modules.
  const h = require(path.join(support, 'node'));
  const f = require(path.join(support, 'faults'));
  const cluster = require(path.join(support, 'cluster'));

  const configFile = path.resolve(path.dirname(opts.scenario), scenario.config);
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  // Fresh ports; the scenario talks to whatever the node picked.
  config.server = { ...(config.server || {}), port: 0 };
  config.admin = { ...(config.admin || {}), port: 0, fault_injection: true };
  config.logging = { level: opts.verbose ? 'info' : 'warn' };
  const app = config.apps[0];

  console.log(`scenario: ${scenario.description || path.basename(opts.scenario)} (${opts.nodes} node${opts.nodes > 1 ? 's' : ''})`);
  const nodes = [];
  const clients = new Map();
  const clientNodes = new Map(); // Client name -> the node it connected to.
  const rec = new Recorder();
  let nats = null;
  let receiver = null;
  const cleanup = async () => {
    await h.cleanupAll([...clients.values()].map((c) => () => h.closeClient(c)));
    await h.cleanupAll(nodes.map((n) => () => n.stop()));
    if (nats) await nats.stop();
    if (receiver) await receiver.stop();
  };

  try {
    // Only a scenario that expects webhooks gets a receiver: the others keep
    // the config as written.
    if (scenario.steps.some((s) => Object.keys(s)[0] === 'webhook')) {
      receiver = await startReceiver();
      app.webhooks = [...(app.webhooks || []), { url: receiver.url }];
      console.log(`webhook receiver: ${receiver.url}`);
    }
    if (opts.nodes === 1) {
      nodes.push(await h.startNode(config, { bin: opts.bin }));
    } else {
      // A free port can be taken before nats-server binds it: try afresh.
      let natsPort;
      for (let attempt = 1; !nats; ++attempt) {
        natsPort = await cluster.freePort();
        nats = await cluster.startNats(natsPort).catch((err) => {
          if (attempt >= 3) throw err;
          return null;
        });
      }
      for (let i = 0; i < opts.nodes; ++i)
        nodes.push(await h.startNode({ ...config, ...cluster.clusterConfig(natsPort, `node-${i}`) }, { bin: opts.bin }));
      for (const n of nodes)
        await cluster.viewWhere(n, (v) => v.members.length === opts.nodes, 10000);
    }
    // `node` indexes are taken modulo the number of nodes, so one scenario
    // runs on one node and on a cluster.
    const nodeAt = (i = 0) => nodes[i % nodes.length];
    const clientOf = (name) => {
      const c = clients.get(name);
      if (!c) throw new Error(`no client "${name}": connect it first`);
      return c;
    };

    const steps = {
      async connect(step) {
        const user = step.user;
        clientNodes.set(step.connect, nodeAt(step.node));
        const c = h.pusherClient(nodeAt(step.node), app, user
          ? { userData: { id: user }, user: { user_id: user, user_info: { name: user } } } : {});
        clients.set(step.connect, c);
        await h.connected(c);
        if (user) {
          const done = h.waitFor(c.connection, 'message', 3000, (m) => m.event === 'pusher:signin_success');
          c.signin();
          await done;
        }
      },
      async subscribe(step) {
        const c = clientOf(step.client);
        const channel = c.subscribe(step.subscribe);
        const log = rec.log(step.client, step.subscribe);
        channel.bind_global((event, data) => log.events.push({ event, data }));
        if (step.expect === 'refused') {
          let refused = null;
          await h.subscribed(channel, step.timeout_ms ?? 3000).catch((err) => { refused = err; });
          if (!refused) throw new Error('the subscription succeeded; expected a refusal');
          if (opts.verbose) console.log(`      refused: ${JSON.stringify(refused.data)}`);
        } else {
          await h.subscribed(channel, step.timeout_ms ?? 3000);
        }
      },
      async unsubscribe(step) {
        const c = clientOf(step.client);
        if (!c.channel(step.unsubscribe)) throw new Error(`${step.client} is not subscribed to ${step.unsubscribe}`);
        c.unsubscribe(step.unsubscribe);
      },
      async disconnect(step) {
        const c = clientOf(step.disconnect);
        clients.delete(step.disconnect);
        await h.closeClient(c, step.timeout_ms ?? 3000);
        if (c.connection.state !== 'disconnected')
          throw new Error(`${step.disconnect} is ${c.connection.state}, not disconnected`);
      },
      async trigger(step) {
        const channel = clientOf(step.client).channel(step.channel);
        if (!channel || !channel.trigger(step.trigger, step.data ?? {}))
          throw new Error('pusher-js did not send the client event');
      },
      async publish(step) {
        await h.serverSdk(nodeAt(step.node), app).trigger(step.channel, step.publish, step.data ?? {});
      },
      async expect(step) {
        const log = rec.log(step.client, step.channel);
        const want = { event: step.expect, data: step.data };
        let found;
        try {
          found = await h.waitFor(() => {
            for (let i = log.next; i < log.events.length; ++i)
              if (matches(log.events[i], want)) { log.next = i + 1; return log.events[i]; }
            return null;
          }, step.timeout_ms ?? 3000, `${step.expect}${step.data === undefined ? '' : ` ${JSON.stringify(step.data)}`} for ${step.client} on ${step.channel}`);
        } catch (err) {
          err.message += `\n     ${rec.describe(step.client, step.channel)}`;
          throw err;
        }
        if (opts.verbose) console.log(`      got: ${JSON.stringify(found.data)}`);
      },
      async expect_none(step) {
        const log = rec.log(step.client, step.channel);
        const from = log.next;
        // Absence has no event to await: watch for the whole window.
        await f.sleep(step.within_ms ?? 500);
        const want = { event: step.expect_none, data: step.data };
        const hit = log.events.slice(from).find((e) => matches(e, want));
        if (hit) throw new Error(`unexpected ${hit.event}: ${JSON.stringify(hit.data)}`);
      },
      async query(step) {
        const node = nodeAt(step.node);
        const base = `/apps/${app.id}`;
        const enc = encodeURIComponent;
        const req = step.query === 'channel' ? { path: `/channels/${enc(step.channel)}`, params: {} }
          : step.query === 'users' ? { path: `/channels/${enc(step.channel)}/users`, params: {} }
            : { path: '/channels', params: step.prefix !== undefined ? { filter_by_prefix: step.prefix } : {} };
        if (step.info !== undefined) req.params.info = step.info;
        const wantStatus = step.status ?? 200;
        // Counts converge across nodes and after leaves: re-query until the
        // answer holds, bounded by timeout_ms.
        let last = null;
        try {
          await f.poll(async () => {
            // The SDK rejects a status >= 400 with a RequestError carrying it.
            const res = await h.serverSdk(node, app).get(req).then(
              async (r) => ({ status: r.status, text: await r.text() }),
              (err) => {
                if (err.status === undefined) throw err;
                return { status: err.status, text: err.body };
              });
            let body = res.text;
            try { body = JSON.parse(res.text); } catch (_) { /* error bodies are plain text */ }
            last = { status: res.status, body };
            return res.status === wantStatus && (step.expect === undefined || subset(body, step.expect));
          }, step.timeout_ms ?? 3000, `GET ${base}${req.path}`);
        } catch (err) {
          throw new Error(`GET ${base}${req.path}${Object.keys(req.params).length ? `?${new URLSearchParams(req.params)}` : ''} `
            + `never gave ${wantStatus}${step.expect ? ` with ${JSON.stringify(step.expect)}` : ''} within ${step.timeout_ms ?? 3000} ms`
            + `\n     last answer: ${last ? `${last.status} ${JSON.stringify(last.body)}` : `none (${err.message})`}`);
        }
        if (opts.verbose) console.log(`      got: ${JSON.stringify(last.body)}`);
      },
      async webhook(step) {
        const r = receiver;
        // The first matching event no earlier step took: webhooks of
        // different channels have no order to rely on.
        const take = () => {
          const i = r.events.findIndex((ev, j) => !r.used.has(j) && webhookMatches(ev, step));
          if (i < 0) return null;
          r.used.add(i);
          return r.events[i];
        };
        const timeoutMs = h.scaled(step.timeout_ms ?? 3000);
        const found = take() || await new Promise((resolve) => {
          const onHook = () => { const ev = take(); if (ev) { done(); resolve(ev); } };
          const timer = setTimeout(() => { done(); resolve(null); }, timeoutMs);
          const done = () => { clearTimeout(timer); r.emitter.off('hook', onHook); };
          r.emitter.on('hook', onHook);
        });
        if (!found) {
          const got = r.events.map((e, i) => `       ${r.used.has(i) ? 'used' : '    '} ${JSON.stringify(e)}`);
          throw new Error(`no ${step.webhook} webhook matching ${JSON.stringify(step)} within ${timeoutMs} ms\n`
            + `     webhook events received (${r.events.length}; "used": matched by an earlier step):\n${got.join('\n')}`);
        }
        if (opts.verbose) console.log(`      got: ${JSON.stringify(found)}`);
      },
      async crash(step) {
        // The instance lives on the node that owns its channel.
        await f.poll(async () => {
          for (const node of nodes)
            if ((await f.crash(node, { app: app.id, kind: 'logic', name: step.crash })).status === 200) return true;
          return false;
        }, step.timeout_ms ?? 3000, `a running ${step.crash}`);
      },
      async logic(step) {
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
      },
      async wait_ms(step) {
        await f.sleep(step.wait_ms);
      },
      async move_owner(step) {
        const name = step.move_owner;
        const timeoutMs = step.timeout_ms ?? 5000;
        if (nodes.length < 2) {
          console.log(`      one node: no other node to move ${name}'s owner to (skipped)`);
          return;
        }
        const owns = async (node) => ((await f.appTopology(node, app.id)).owners || []).includes(name);
        let from = -1;
        await f.poll(async () => {
          for (const [i, n] of nodes.entries()) if (await owns(n)) { from = i; return true; }
          return false;
        }, timeoutMs, `a node owning ${name}`);
        const owner = nodes[from];
        const stranded = [...clients.keys()].filter((c) => clientNodes.get(c) === owner);
        if (stranded.length)
          throw new Error(`${name} is owned by node ${from}, which ${stranded.join(', ')} connected to: `
            + 'connect them to another node (the owner\'s node is stopped)');
        // SIGTERM: the node hands its owners over (state, logic snapshots)
        // before it leaves; the rest of the scenario runs without it.
        nodes.splice(from, 1);
        await owner.stop();
        for (const n of nodes)
          await cluster.viewWhere(n, (v) => v.members.length === nodes.length, timeoutMs);
        await f.poll(async () => {
          for (const n of nodes) if (await owns(n)) return true;
          return false;
        }, timeoutMs, `another node owning ${name}`);
        if (opts.verbose) console.log(`      stopped node ${from}; ${name} moved`);
      },
    };

    const started = Date.now();
    const timings = [];
    let failed = false;
    for (const [i, step] of scenario.steps.entries()) {
      const kind = Object.keys(step)[0];
      const label = `step ${i + 1}: ${JSON.stringify(step)}`;
      const t0 = Date.now();
      try {
        await steps[kind](step);
        const ms = Date.now() - t0;
        timings.push({ kind, ms });
        console.log(`ok   ${String(ms).padStart(5)} ms  ${label}`);
      } catch (err) {
        console.log(`FAIL ${String(Date.now() - t0).padStart(5)} ms  ${label}\n     ${err.message}`);
        for (const node of nodes)
          if (!node.alive()) console.log(`     a node died:\n${node.stderr().slice(-2000)}`);
        process.exitCode = 1;
        failed = true;
        break;
      }
    }
    if (!failed) {
      const slowest = timings.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: -1 });
      console.log(`passed: ${timings.length} steps in ${Date.now() - started} ms`
        + `${slowest.kind ? ` (slowest: ${slowest.kind}, ${slowest.ms} ms)` : ''}`);
    }
    if (opts.keepRunning) await keepRunning(nodes, receiver);
  } finally {
    await cleanup();
  }
}

/** Prints where the nodes are and waits for SIGINT (or SIGTERM). */
async function keepRunning(nodes, receiver) {
  console.log('nodes kept running for inspection (Ctrl-C stops them):');
  nodes.forEach((n, i) => {
    console.log(`  node ${i}: pid ${n.pid ?? n.child?.pid ?? '?'}  ws://127.0.0.1:${n.port}  admin http://127.0.0.1:${n.adminPort}/`
      + `  (/topology, /metrics)`);
  });
  if (receiver) console.log(`  webhook receiver: ${receiver.url} (${receiver.events.length} events so far)`);
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('stopping');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`run_scenario: ${err.stack || err}`);
    process.exit(1);
  });
}

module.exports = { validate, STEP_KINDS };
