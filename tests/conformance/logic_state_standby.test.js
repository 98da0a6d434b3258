'use strict';
// Logic state beyond its owner, end to end: the example `counter` logic
// (examples/counter.cpp) numbers the client events of its channel and keeps
// the count as its snapshot. On 2 nodes, a channel owned by node a counts
// K events from clients on node b. The owner on a is crashed through
// /faults/crash (rebuilt on a from the snapshot a's directory kept): K+1.
// Node b, the channel's standby, holds a copy of the latest snapshot (its
// /topology shows the digest); a is killed with -9, b rebuilds the owner
// from that copy: K+2, to the same clients, which stay connected. Then the
// owner on b is crashed too: K+3. Every count exactly once, in order.

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');
const { viewWhere } = require('./support/cluster');
const { counterCluster, countingClients } = require('./support/counter_cluster');

const K = 3;
const CHANNELS = 16;

// FNV-1a 64 of the snapshot bytes, as /topology shows it.
function digest(text) {
  let x = 0xcbf29ce484222325n;
  for (const c of Buffer.from(text)) {
    x ^= BigInt(c);
    x = (x * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return x.toString(16).padStart(16, '0');
}

// What `node` keeps of `channel` beyond owners: {from, states}, or undefined.
async function kept(node, appId, channel) {
  const t = await f.appTopology(node, appId);
  return (((t.directory || {}).logic_states || {}).list || []).find((e) => e.channel === channel);
}

test('a logic counter survives its owner crashing and its node killed with -9', async (t) => {
  const cluster = await counterCluster(t, ['keep-a', 'keep-b']);
  const { app } = cluster;
  const [a, b] = cluster.nodes;
  // Both clients on b: they stay connected when a dies.
  const { names, seen, sending } = await countingClients(cluster, b, b, CHANNELS);
  let target;
  await f.poll(async () => {
    const owners = new Set((await f.appTopology(a, app.id)).owners);
    target = names.find((n) => owners.has(n));
    return target !== undefined;
  }, 5000, 'a channel owned by node a');
  const got = seen.get(target);
  // A client event sent while its owner is being rebuilt can be lost (it
  // never reached the logic, so nothing counted it): send once more then.
  const countTo = async (n) => {
    for (let attempt = 1; ; ++attempt) {
      assert.ok(sending.get(target).trigger('client-n', {}), 'pusher-js sent the client event');
      try {
        await h.waitFor(() => got.length >= n, 2000, `${target}: count ${n}`);
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  };
  const exactly = (n, why) => assert.deepEqual(got.slice(0, n), Array.from({ length: n }, (_, i) => i + 1), why);
  const snapshotAt = (node, from, n) => f.poll(async () => {
    const e = await kept(node, app.id, target);
    return e && e.from === from && e.states.length === 1 && e.states[0].digest === digest(String(n));
  }, 5000, `${from}'s snapshot ${n} of ${target} kept on ${node === a ? 'a' : 'b'}`);
  const restores = async (node) => Object.entries(await f.metrics(node))
    .filter(([k]) => k.startsWith('starling_logic_restores_total{')).reduce((sum, [, v]) => sum + v, 0);

  for (let i = 1; i <= K; ++i) await countTo(i);
  exactly(K, 'counted on a');

  // The owner crashes: rebuilt on a from what a's directory kept.
  await snapshotAt(a, 'keep-a', K);
  const crashed = await f.crash(a, { app: app.id, kind: 'owner', name: target });
  assert.equal(crashed.status, 200, crashed.body);
  await countTo(K + 1);
  exactly(K + 1, 'after the owner crash');
  assert.equal(await restores(a), 1, 'the rebuilt owner restored once');

  // a dies (-9): b, the standby, has the latest copy and rebuilds from it.
  await snapshotAt(b, 'keep-a', K + 1);
  process.kill(a.pid, 'SIGKILL');
  await a.exited;
  await viewWhere(b, (v) => v.members.length === 1, 6000);
  await countTo(K + 2);
  exactly(K + 2, 'after node a was killed');
  assert.equal(await restores(b), 1, 'b restored from the copy');
  const m = await f.metrics(b);
  assert.ok(m[`starling_logic_state_copies_total{app="${app.id}",result="received"}`] >= 1, 'b received copies');

  // And on b alone: its own directory's snapshot.
  await snapshotAt(b, 'keep-b', K + 2);
  const again = await f.crash(b, { app: app.id, kind: 'owner', name: target });
  assert.equal(again.status, 200, again.body);
  await countTo(K + 3);
  exactly(K + 3, 'after the owner on b crashed');
  exactly(got.length, `no count twice or skipped: ${got}`);
});
