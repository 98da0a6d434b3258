'use strict';
// Logic state that survives, end to end: the example `counter` logic
// (examples/counter.cpp) numbers the client events of its channel and
// keeps the count as its snapshot. On a 2-node cluster each channel counts
// K events; a third node joins, the ring moves some channels' owners to it
// (the snapshot travels with the owner handoff), and their counters go on
// at K+1. Then the counter beside one moved channel is crashed through
// /faults/crash and restarted from its last snapshot: K+2.

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');
const { viewWhere } = require('./support/cluster');
const { counterCluster, countingClients } = require('./support/counter_cluster');

const K = 3;
const CHANNELS = 12;

test('a logic counter goes on across an owner move and a crash', async (t) => {
  const cluster = await counterCluster(t, ['snap-a', 'snap-b']);
  const { app, start } = cluster;
  const [a, b] = cluster.nodes;

  // One sender on a and one receiver on b per channel: every count crosses
  // the cluster whichever node owns the channel.
  const { names, seen, sending } = await countingClients(cluster, a, b, CHANNELS);
  const countTo = async (name, n) => {
    assert.ok(sending.get(name).trigger('client-n', {}), 'pusher-js sent the client event');
    await h.waitFor(() => seen.get(name).length >= n, 5000, `${name}: count ${n}`);
  };
  for (let i = 1; i <= K; ++i)
    for (const name of names) await countTo(name, i);
  for (const name of names) assert.deepEqual(seen.get(name), [1, 2, 3], name);

  // A third node: the ring hands some channels to it (with their state).
  const c = await start('snap-c');
  for (const n of [a, b, c]) await viewWhere(n, (v) => v.members.length === 3, 5000);
  let moved = [];
  await f.poll(async () => {
    const owners = new Set((await f.appTopology(c, app.id)).owners);
    moved = names.filter((n) => owners.has(n));
    return moved.length > 0;
  }, 5000, 'channels owned by the new node');
  // Every channel goes on at K+1, moved or not; exactly these values.
  for (const name of names) await countTo(name, K + 1);
  for (const name of names) assert.deepEqual(seen.get(name), [1, 2, 3, 4], `${name} (moved: ${moved.includes(name)})`);
  const restores = async (node) => {
    const m = await f.metrics(node);
    return Object.entries(m).filter(([k]) => k.startsWith('starling_logic_restores_total{'))
      .reduce((sum, [, v]) => sum + v, 0);
  };
  assert.equal(await restores(c), moved.length, 'one restore per moved channel on the new node');

  // A crash beside a moved channel: restarted from its last snapshot.
  const target = moved[0];
  const crashed = await f.crash(c, { app: app.id, kind: 'logic', name: `counter/${target}` });
  assert.equal(crashed.status, 200, crashed.body);
  await countTo(target, K + 2);
  assert.deepEqual(seen.get(target), [1, 2, 3, 4, 5]);
  assert.equal(await restores(c), moved.length + 1);
  // Nothing else counted twice or skipped.
  for (const name of names.filter((n) => n !== target)) assert.deepEqual(seen.get(name), [1, 2, 3, 4], name);
});
