// Measures /topology/events at 5,000 channels: bytes of the first event
// (the snapshot: what every update cost before deltas) and of the deltas
// that follow while (a) nothing happens, (b) one client joins a channel a
// second, (c) every listed channel gets an event a second. Not a test (no
// pass/fail; figures are for docs/admin.md). Run from this folder:
//   STARLING_BIN=../../build/starling node admin_stream_bytes.js
'use strict';
const h = require('./support/node');

const TOKEN = 't';
const CONNS = 10;
const PER_CONN = 500;

async function stream(node, query, onEvent) {
  const ctl = new AbortController();
  const r = await fetch(`http://127.0.0.1:${node.adminPort}/topology/events?${query}`,
    { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ctl.signal });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!chunk.startsWith(':'))
            onEvent(/^event: (\w+)/.exec(chunk)[1], Buffer.byteLength(chunk) + 2);
        }
      }
    } catch (_) { /* aborted */ }
  })();
  return () => ctl.abort();
}

async function phase(name, seconds, events, act) {
  const from = events.length;
  for (let s = 0; s < seconds; ++s) {
    await act(s);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const got = events.slice(from);
  const bytes = got.reduce((a, e) => a + e.bytes, 0);
  console.log(`${name}: ${got.length} events in ${seconds} s, ${bytes} B, `
    + `mean ${got.length ? Math.round(bytes / got.length) : 0} B/event, `
    + `kinds ${[...new Set(got.map((e) => e.name))].join(',')}`);
}

(async () => {
  const res = h.resources();
  try {
    const app = h.makeApp({ limits: { max_subscriptions_per_connection: 1000 } });
    const node = await res.node({ apps: [app], admin: { token: TOKEN } });
    const raws = [];
    for (let c = 0; c < CONNS; ++c) {
      const raw = res.raw(node);
      await raw.established();
      raws.push(raw);
      await Promise.all(Array.from({ length: PER_CONN }, (_, k) => raw.subscribe(`ch-${c}-${k}`, '', undefined, 60000)));
    }
    let joins = 0;
    for (const query of ['scope=cluster&limit=50', 'limit=100']) {
      const events = [];
      const stop = await stream(node, query, (name, bytes) => events.push({ name, bytes }));
      await new Promise((r) => setTimeout(r, 2500));
      console.log(`\n/topology/events?${query}: snapshot ${events[0].bytes} B`);
      await phase('  idle', 10, events, async () => {});
      await phase('  one join a second', 10, events, async () => { await raws[0].subscribe(`new-${++joins}`); });
      const sdk = h.serverSdk(node, app);
      // The first listed channels by name: ch-0-0, ch-0-1, ch-0-10, ...
      const names = Array.from({ length: PER_CONN }, (_, k) => `ch-0-${k}`).sort().slice(0, 50);
      await phase('  an event on 50 listed channels a second', 10, events, async (s) => {
        for (let i = 0; i < names.length; i += 10) await sdk.trigger(names.slice(i, i + 10), 'e', { s });
      });
      stop();
    }
  } finally {
    await res.cleanup();
  }
})();
