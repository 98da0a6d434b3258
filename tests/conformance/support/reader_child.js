'use strict';
// A reading client in its own process, so that nothing the test process
// does (1000 other sockets, JSON, GC) can make it slow: it connects,
// subscribes to one channel and counts numbered events. Over IPC it sends
// {ready}, {progress: {at, last}} every 100 ms, {close} and, when asked,
// {report: {count, last, gaps, close, maxStallMs}}.
// argv: <ws url> <channel> <event>

const { monitorEventLoopDelay } = require('node:perf_hooks');
const WebSocket = require('ws');

const [url, channel, event] = process.argv.slice(2);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const t0 = Date.now();
let count = 0;
let last = 0;
let gaps = 0;
let close = null;

const ws = new WebSocket(url, { perMessageDeflate: false });
ws.on('message', (buf) => {
  const m = JSON.parse(buf.toString('utf8'));
  if (m.event === 'pusher:connection_established') {
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
  } else if (m.event === 'pusher_internal:subscription_succeeded') {
    process.send({ ready: true });
  } else if (m.event === event && m.channel === channel) {
    const { seq } = JSON.parse(m.data);
    if (seq !== last + 1) ++gaps;
    last = seq;
    ++count;
  }
});
ws.on('error', () => { /* the close follows */ });
ws.on('close', (code, reason) => {
  close = { code, reason: reason.toString(), at: Date.now() - t0, last };
  process.send({ close });
});
const timer = setInterval(() => process.send({ progress: { at: Date.now() - t0, last } }), 100);
process.on('message', (m) => {
  if (m === 'report') {
    process.send({ report: { count, last, gaps, close, maxStallMs: Math.round(delay.max / 1e6) } });
  } else if (m === 'exit') {
    clearInterval(timer);
    ws.terminate();
    process.disconnect();
  }
});
process.on('disconnect', () => process.exit(0));
