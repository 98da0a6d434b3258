#!/usr/bin/env node
'use strict';
// What TLS costs the server, plain and TLS measured on one node in one run:
//   memory: RSS growth per idle connection (N plain, then N TLS, each after
//           the Pusher handshake), from /proc/<pid>/status;
//   CPU:    server CPU seconds (utime + stime from /proc/<pid>/stat) per
//           delivered event, fanning E events out to S subscribers on a
//           plain channel and S on a TLS channel, rounds interleaved.
// Clients are `ws` sockets in this process; only the server is measured.
// Every wait is bounded. Loopback only.
//
//   node tests/bench/tls_cost.js [--bin build/starling] [--connections 2000]
//        [--subscribers 1000] [--events 200] [--rounds 3]

const fs = require('node:fs');
const path = require('node:path');
const conformance = path.resolve(__dirname, '../conformance');
const h = require(path.join(conformance, 'support/node'));
const { makeCa } = require(path.join(conformance, 'support/tls'));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const BIN = path.resolve(option('bin', path.resolve(__dirname, '../../build/starling')));
const CONNECTIONS = Number(option('connections', 2000));
const SUBSCRIBERS = Number(option('subscribers', 1000));
const EVENTS = Number(option('events', 200));
const ROUNDS = Number(option('rounds', 3));
const QUERY = 'protocol=7&client=js&version=8.4.0&flash=false';
const TICKS = 100; // USER_HZ on Linux.

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections (in batches), resolves when all are established. */
async function open(node, n, secure, ca, channel) {
  const url = secure ? `wss://127.0.0.1:${node.tlsPort}/app/${node.app.key}?${QUERY}`
    : `ws://127.0.0.1:${node.port}/app/${node.app.key}?${QUERY}`;
  const sockets = [];
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const group = [];
    for (let k = i; k < Math.min(n, i + batch); ++k) {
      const ws = new h.WebSocket(url, { perMessageDeflate: false, ca: secure ? ca.ca : undefined });
      ws.received = 0;
      group.push(new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('connection not established within 20 s')), 20000);
        ws.on('error', (err) => { clearTimeout(timer); reject(err); });
        ws.on('message', (buf) => {
          const text = buf.toString();
          if (text.includes('pusher:connection_established')) {
            if (!channel) { clearTimeout(timer); resolve(); return; }
            ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
          } else if (text.includes('subscription_succeeded')) {
            clearTimeout(timer);
            resolve();
          } else if (text.includes('"bench"')) {
            ++ws.received;
          }
        });
      }));
      sockets.push(ws);
    }
    await Promise.all(group);
  }
  return sockets;
}

/** Publishes EVENTS events to `channel`; returns server CPU seconds used. */
async function fanOut(node, sdk, channel, sockets) {
  const want = sockets.reduce((sum, ws) => sum + ws.received, 0) + EVENTS * sockets.length;
  await sleep(300);
  const before = cpuSeconds(node.pid);
  const payload = { text: 'x'.repeat(100) };
  for (let i = 0; i < EVENTS; i += 4)
    await Promise.all([0, 1, 2, 3].filter((k) => i + k < EVENTS)
      .map(() => sdk.trigger(channel, 'bench', payload)));
  await h.waitFor(() => sockets.reduce((sum, ws) => sum + ws.received, 0) >= want, 60000,
    `all ${EVENTS} events on ${channel}`);
  return cpuSeconds(node.pid) - before;
}

async function main() {
  const ca = makeCa();
  const files = ca.issue('bench');
  const node = await h.startNode({
    server: { port: 0, tls: { enabled: true, port: 0, cert_file: files.cert, key_file: files.key } },
    logging: { level: 'error' },
  }, { bin: BIN });
  const all = [];
  try {
    // -- memory per idle connection --------------------------------------------
    await sleep(500);
    const rss0 = rssKb(node.pid);
    all.push(...await open(node, CONNECTIONS, false, ca));
    await sleep(1000);
    const rss1 = rssKb(node.pid);
    all.push(...await open(node, CONNECTIONS, true, ca));
    await sleep(1000);
    const rss2 = rssKb(node.pid);
    const plainBytes = ((rss1 - rss0) * 1024) / CONNECTIONS;
    const tlsBytes = ((rss2 - rss1) * 1024) / CONNECTIONS;
    console.log(`RESULT idle_rss_per_connection plain_bytes=${plainBytes.toFixed(0)} tls_bytes=${tlsBytes.toFixed(0)} ratio=${(tlsBytes / plainBytes).toFixed(2)} connections=${CONNECTIONS}`);
    for (const ws of all.splice(0)) ws.terminate();
    await sleep(1000);

    // -- CPU per delivery --------------------------------------------------------
    const plain = await open(node, SUBSCRIBERS, false, ca, 'fan-plain');
    const secure = await open(node, SUBSCRIBERS, true, ca, 'fan-tls');
    all.push(...plain, ...secure);
    const sdk = h.serverSdk(node);
    let cpuPlain = 0;
    let cpuTls = 0;
    for (let r = 0; r < ROUNDS; ++r) {
      cpuPlain += await fanOut(node, sdk, 'fan-plain', plain);
      cpuTls += await fanOut(node, sdk, 'fan-tls', secure);
    }
    const deliveries = ROUNDS * EVENTS * SUBSCRIBERS;
    const usPlain = (cpuPlain * 1e6) / deliveries;
    const usTls = (cpuTls * 1e6) / deliveries;
    console.log(`RESULT cpu_per_delivery plain_us=${usPlain.toFixed(2)} tls_us=${usTls.toFixed(2)} ratio=${(usTls / usPlain).toFixed(2)} subscribers=${SUBSCRIBERS} events=${EVENTS} rounds=${ROUNDS} cpu_s_plain=${cpuPlain.toFixed(2)} cpu_s_tls=${cpuTls.toFixed(2)}`);
  } finally {
    for (const ws of all) ws.terminate();
    await node.stop();
    ca.remove();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
