'use strict';
// pusher-js over wss in its own process: Node reads NODE_EXTRA_CA_CERTS
// (the test CA) only at start, and pusher-js offers no option to pass a CA.
// Subscribes to a channel and reports over IPC: {subscribed}, {event},
// {error}.
// argv: <key> <wss port> <channel>

const Pusher = require('pusher-js');

const [key, port, channel] = process.argv.slice(2);
const client = new Pusher(key, {
  wsHost: '127.0.0.1',
  wssPort: Number(port),
  forceTLS: true,
  enabledTransports: ['ws', 'wss'],
  disableStats: true,
  cluster: 'mt1',
});
client.connection.bind('error', (err) => process.send({ error: JSON.stringify(err) }));
const ch = client.subscribe(channel);
ch.bind('pusher:subscription_succeeded', () => process.send({ subscribed: client.connection.socket_id }));
ch.bind_global((event, data) => {
  if (!event.startsWith('pusher:')) process.send({ event: { event, data } });
});
process.on('disconnect', () => { client.disconnect(); process.exit(0); });
