'use strict';
// Supervision under traffic, through the admin fault injection
// (admin.fault_injection): a publisher triggers numbered events on a
// presence channel A and a public channel B every 20 ms while channel A's
// local channel actor, then its owner, then 100 connections are crashed
// 100 times each. The node must stay up, B must not lose an event, A must
// be rebuilt silently (no member events, full roster, events flow again),
// crashed connections get 4200 and leave their presence channels. Then an
// app crashed past its restart limit is marked failed while the other app
// keeps serving.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/node');
const f = require('./support/faults');

const CRASHES = 100;

const res = h.resources();
let node;
let app;

before(async () => {
  app = h.makeApp();
  node = await res.node({ admin: { fault_injection: true }, apps: [app] });
});
after(() => res.cleanup());

let counter = 0;
const unique = (prefix) => `${prefix}${process.pid}-${++counter}`;
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function healthy(n = node) {
  assert.ok(n.alive(), `the node process is alive\n${n.stderr().slice(-2000)}`);
  const r = await f.admin(n, '/health');
  assert.equal(r.status, 200, '/health answers 200');
}

/** A raw client on `channels`; presence ones join as `userId`. */
async function rawOn(channels, userId) {
  const r = res.raw(node);
  await r.established();
  for (const ch of channels) {
    if (ch.startsWith('presence-')) {
      const data = JSON.stringify({ user_id: userId, user_info: { raw: true } });
      await r.subscribe(ch, h.channelAuth(app, r.socketId, ch, data), data);
    } else {
      await r.subscribe(ch);
    }
  }
  return r;
}

/** A pusher-js client on presence `a` (as userId) and public `b`, recording both. */
async function pusherOn(a, b, userId) {
  const c = res.client(node, app, { user: { user_id: userId, user_info: { name: userId } } });
  await h.connected(c);
  const chA = await h.subscribe(c, a);
  const chB = await h.subscribe(c, b);
  return { c, chA, chB, logA: h.recordChannel(chA), logB: h.recordChannel(chB) };
}

const memberEvents = (log) => log.filter((e) => e.event === 'pusher:member_added'
  || e.event === 'pusher:member_removed');
const rawMemberFrames = (raw, ch) => raw.frames.filter((fr) => fr.channel === ch
  && (fr.event === 'pusher_internal:member_added' || fr.event === 'pusher_internal:member_removed'));

async function presenceUsers(channel) {
  const r = await h.signedRequest(node, { method: 'GET', path: `/apps/${app.id}/channels/${channel}/users` });
  assert.equal(r.status, 200, `GET users: ${r.body}`);
  return r.json.users.map((u) => u.id).sort();
}

/**
 * Crashes `kind` `name` once and waits until the app logged the child's
 * end. While the previous crash is still being rebuilt the actor may be
 * missing (503): retried, bounded.
 */
async function crashOnce(kind, name) {
  const re = new RegExp(`child ended app=${escapeRe(app.id)} channel=${escapeRe(name)} `);
  const before = f.countLog(node, re);
  const deadline = Date.now() + 3000;
  for (;;) {
    const r = await f.crash(node, { kind, name });
    if (r.status === 200) break;
    if (Date.now() > deadline)
      throw new Error(`POST /faults/crash kind=${kind} name=${name}: ${r.status} ${r.body}`);
    await f.sleep(5);
  }
  await h.waitFor(() => f.countLog(node, re) > before, 3000, `the ${kind} of ${name} to crash`);
}

/** Every listed seq list must equal `want` exactly (no gaps, dupes, reordering). */
function assertAll(want, lists, what) {
  for (const [who, got] of lists) {
    const d = f.seqDiff(want, got);
    assert.ok(d.ok, `${what}: ${f.describeDiff(who, d)} of ${want.length}`);
  }
}

async function crashLoopUnderTraffic(kind) {
  const A = unique(`presence-sup-${kind}-a-`);
  const B = unique(`sup-${kind}-b-`);
  const users = ['u1', 'u2', 'u3'];
  const pjs = [];
  for (const u of users) pjs.push(await pusherOn(A, B, u));
  const raw = await rawOn([A, B], 'u4');
  await h.waitFor(() => pjs.every((p) => p.chA.members.count === 4), 3000, 'all four members seen');
  assert.deepEqual(await presenceUsers(A), ['u1', 'u2', 'u3', 'u4']);

  const pub = new f.Publisher(node, [A, B]).start();
  try {
    // Traffic flows before the first crash.
    await h.waitFor(() => f.rawSeqs(raw, B).length >= 5 && f.rawSeqs(raw, A).length >= 5, 5000,
      'events on A and B before the crashes');
    const memberMark = pjs.map((p) => memberEvents(p.logA).length);
    const rawMemberMark = rawMemberFrames(raw, A).length;
    const rawSucceeded = () => raw.frames.filter((fr) => fr.channel === A
      && fr.event === 'pusher_internal:subscription_succeeded').length;

    const loopStart = Date.now();
    for (let i = 0; i < CRASHES; ++i) await crashOnce(kind, A);
    const loopMs = Date.now() - loopStart;
    const afterLoop = pub.last;
    const loopEnd = Date.now();

    // A is rebuilt: every subscriber gets events published after the loop.
    const allPast = (seq) => f.rawSeqs(raw, A).some((s) => s > seq)
      && pjs.every((p) => f.logSeqs(p.logA).some((s) => s > seq));
    await h.waitFor(() => allPast(afterLoop), 3000, `events on ${A} after the crash loop`);
    const resumedMs = Date.now() - loopEnd;
    const firstAfter = (seqs) => seqs.find((s) => s > afterLoop);
    const s0 = Math.max(firstAfter(f.rawSeqs(raw, A)),
      ...pjs.map((p) => firstAfter(f.logSeqs(p.logA))));

    // Keep publishing past the owner's 2 s re-join grace: a member dropped
    // by the rebuild would get member_removed by then.
    await f.sleep(2500);
    await pub.stop();
    // Marker: everything published before it has arrived.
    const markerA = raw.waitFrame((fr) => fr.event === 'end' && fr.channel === A, 3000);
    const markerB = raw.waitFrame((fr) => fr.event === 'end' && fr.channel === B, 3000);
    const pjsMarkers = pjs.flatMap((p) => [h.nextEvent(p.chA, 'end', 3000), h.nextEvent(p.chB, 'end', 3000)]);
    await h.serverSdk(node, app).trigger([A, B], 'end', {});
    await Promise.all([markerA, markerB, ...pjsMarkers]);

    await healthy();
    assert.deepEqual(pub.failures, [], 'every trigger was accepted');
    assert.ok(pub.published.length >= 50, `enough traffic (${pub.published.length} events)`);

    // B never noticed: every event, in order, on every subscriber.
    assertAll(pub.published, [
      ['raw', f.rawSeqs(raw, B)],
      ...pjs.map((p, i) => [`pusher-js ${users[i]}`, f.logSeqs(p.logB)]),
    ], `channel B while ${kind} A crashed ${CRASHES}x`);

    // A: every event from the first one after the loop (s0) on, in order,
    // and never a duplicate, even during the loop.
    const tail = pub.published.filter((s) => s >= s0);
    assert.ok(tail.length >= 50, `events after the loop (${tail.length})`);
    const aLists = [['raw', f.rawSeqs(raw, A)], ...pjs.map((p, i) => [`pusher-js ${users[i]}`, f.logSeqs(p.logA)])];
    for (const [who, got] of aLists) {
      const d = f.seqDiff(pub.published, got);
      assert.equal(d.dupes, 0, `channel A, ${who}: no event twice`);
      assert.equal(d.outOfOrder, 0, `channel A, ${who}: events in order`);
      assert.equal(d.extra.length, 0, `channel A, ${who}: no unknown events`);
    }
    assertAll(tail, aLists.map(([who, got]) => [who, got.filter((s) => s >= s0)]),
      `channel A after the ${kind} crash loop`);
    assert.ok(resumedMs < 2000, `A delivered again ${resumedMs} ms after the loop`);

    // Silently: no member events, no second subscription_succeeded.
    pjs.forEach((p, i) => assert.deepEqual(memberEvents(p.logA).slice(memberMark[i]), [],
      `pusher-js ${users[i]} got no member events during the ${kind} crashes`));
    assert.deepEqual(rawMemberFrames(raw, A).slice(rawMemberMark), [],
      `raw client got no member events during the ${kind} crashes`);
    assert.equal(rawSucceeded(), 1, 'subscription_succeeded was not sent again');
    for (const p of pjs) {
      assert.equal(p.chA.members.count, 4, 'pusher-js roster unchanged');
      assert.equal(p.c.connection.state, 'connected');
    }
    assert.ok(raw.isOpen, 'the raw subscriber stayed connected');

    // The rebuilt owner knows every member.
    assert.deepEqual(await presenceUsers(A), ['u1', 'u2', 'u3', 'u4'], `/channels/${A}/users after the crashes`);
    const topo = await f.appTopology(node, app.id);
    assert.equal(topo.status, 'running');
    assert.ok(topo.channels.includes(A) && topo.owners.includes(A), `A is registered again: ${JSON.stringify(topo)}`);
    const lostOnA = f.seqDiff(pub.published, f.rawSeqs(raw, A)).missing.length;
    console.log(`# ${kind}: ${CRASHES} crashes in ${loopMs} ms, ${pub.published.length} events `
      + `(${lostOnA} missed on A during the loop), A resumed ${resumedMs} ms after the loop`);
  } finally {
    await pub.stop();
    await h.cleanupAll([...pjs.map((p) => () => h.closeClient(p.c)), () => raw.close()]);
  }
}

test(`channel actor of A crashed ${CRASHES}x under traffic: node up, B complete, A rebuilt silently`, async () => {
  await crashLoopUnderTraffic('channel');
});

test(`owner of A crashed ${CRASHES}x under traffic: node up, B complete, A rebuilt silently`, async () => {
  await crashLoopUnderTraffic('owner');
});

test(`${CRASHES} connections crashed under traffic: each gets 4200, the rest receive every event, last connections leave presence`, async () => {
  const A = unique('presence-sup-conn-a-');
  const B = unique('sup-conn-b-');
  // Steady subscribers: never crashed.
  const steady = [await pusherOn(A, B, 's1'), await pusherOn(A, B, 's2')];
  const steadyRaw = await rawOn([A, B], 's3');
  const observers = () => [['raw s3', f.rawSeqs(steadyRaw, A), f.rawSeqs(steadyRaw, B)],
    ...steady.map((p, i) => [`pusher-js s${i + 1}`, f.logSeqs(p.logA), f.logSeqs(p.logB)])];

  // 100 victims: 20 sole connections of users x0..x19 on A, 5 second
  // connections of s1 on A, 75 on B only.
  const victims = [];
  const soleUsers = [];
  const openVictim = async (i) => {
    if (i < 20) {
      soleUsers.push(`x${i}`);
      return rawOn([A, B], `x${i}`);
    }
    if (i < 25) return rawOn([A], 's1');
    return rawOn([B]);
  };
  try {
    for (let i = 0; i < CRASHES; i += 25) {
      const batch = [];
      for (let j = i; j < Math.min(CRASHES, i + 25); ++j) batch.push(openVictim(j));
      victims.push(...await Promise.all(batch));
    }
    const expectedUsers = ['s1', 's2', 's3', ...soleUsers].sort();
    await h.waitFor(() => steady.every((p) => p.chA.members.count === expectedUsers.length), 5000,
      'every victim member seen');
    assert.deepEqual(await presenceUsers(A), expectedUsers);

    const pub = new f.Publisher(node, [A, B]).start();
    let closes;
    try {
      await h.waitFor(() => f.rawSeqs(steadyRaw, B).length >= 5, 5000, 'traffic before the crashes');
      const removedMark = steady.map((p) => p.logA.length);
      const rawRemovedMark = steadyRaw.frames.length;

      const crashStart = Date.now();
      for (const v of victims) {
        const r = await f.crash(node, { kind: 'connection', name: v.socketId });
        assert.equal(r.status, 200, `crash connection ${v.socketId}: ${r.body}`);
      }
      closes = await Promise.all(victims.map((v) => v.waitClose(5000)));
      const crashMs = Date.now() - crashStart;

      // member_removed for each sole user, once; none for s1.
      const removedIds = (p, i) => p.logA.slice(removedMark[i])
        .filter((e) => e.event === 'pusher:member_removed').map((e) => e.data.id);
      await h.waitFor(() => steady.every((p, i) => removedIds(p, i).length >= soleUsers.length), 5000,
        'member_removed for every sole victim user');
      // Keep publishing a little after the crashes.
      const seqAtCrashEnd = pub.last;
      await h.waitFor(() => pub.last >= seqAtCrashEnd + 10, 3000, 'ten more events');
      await pub.stop();
      const ends = [steadyRaw.waitFrame((fr) => fr.event === 'end' && fr.channel === A, 3000),
        steadyRaw.waitFrame((fr) => fr.event === 'end' && fr.channel === B, 3000),
        ...steady.flatMap((p) => [h.nextEvent(p.chA, 'end', 3000), h.nextEvent(p.chB, 'end', 3000)])];
      await h.serverSdk(node, app).trigger([A, B], 'end', {});
      await Promise.all(ends);

      await healthy();
      // Every victim: pusher:error 4200, then close 4200.
      victims.forEach((v, i) => {
        assert.equal(closes[i].code, 4200, `victim ${v.socketId} close code`);
        const err = v.frames.find((fr) => fr.event === 'pusher:error');
        assert.ok(err, `victim ${v.socketId} got pusher:error before the close`);
        assert.equal(err.parsed.code, 4200);
      });

      // The steady subscribers saw every event on both channels.
      assert.deepEqual(pub.failures, []);
      for (const [who, seqA, seqB] of observers()) {
        const dA = f.seqDiff(pub.published, seqA);
        const dB = f.seqDiff(pub.published, seqB);
        assert.ok(dA.ok, `channel A while connections crashed: ${f.describeDiff(who, dA)} of ${pub.published.length}`);
        assert.ok(dB.ok, `channel B while connections crashed: ${f.describeDiff(who, dB)} of ${pub.published.length}`);
      }

      steady.forEach((p, i) => {
        const ids = removedIds(p, i);
        assert.deepEqual([...ids].sort(), [...soleUsers].sort(),
          `pusher-js s${i + 1}: member_removed exactly once for each sole victim user, never for s1`);
        assert.equal(p.logA.slice(removedMark[i]).filter((e) => e.event === 'pusher:member_added').length, 0,
          'no member_added');
        assert.equal(p.chA.members.count, 3);
      });
      const rawRemoved = steadyRaw.frames.slice(rawRemovedMark)
        .filter((fr) => fr.channel === A && fr.event === 'pusher_internal:member_removed')
        .map((fr) => fr.parsed.user_id).sort();
      assert.deepEqual(rawRemoved, [...soleUsers].sort(), 'raw s3: member_removed for each sole victim user');
      assert.deepEqual(await presenceUsers(A), ['s1', 's2', 's3']);

      // The app forgot the crashed connections.
      await f.poll(async () => (await f.appTopology(node, app.id)).connections === 3, 3000,
        'topology connections back to 3');
      const m = await f.metrics(node);
      assert.equal(m.starling_connections_open, 3, 'three WebSocket connections remain open');
      console.log(`# connections: ${CRASHES} crashed and closed in ${crashMs} ms, ${pub.published.length} events`);
    } finally {
      await pub.stop();
    }
  } finally {
    await h.cleanupAll([...steady.map((p) => () => h.closeClient(p.c)), () => steadyRaw.close(),
      ...victims.map((v) => () => v.close())]);
  }
});

test('fault injection is refused (403) unless admin.fault_injection is set', async () => {
  const plain = await res.node({});
  const r = await f.crash(plain, { kind: 'app' });
  assert.equal(r.status, 403);
  await healthy(plain);
  await plain.stop();
});

test('an app crashed past its restart limit is marked failed; the other app and the node keep serving', async () => {
  const X = h.makeApp();
  const Y = h.makeApp();
  const own = await res.node({ admin: { fault_injection: true }, apps: [X, Y] });
  const restarts = /app crashed, restarting/;
  const yRaw = res.raw(own, { key: Y.key });
  await yRaw.established();
  const yChannel = unique('sup-y-');
  await yRaw.subscribe(yChannel);

  // Six crashes, each of a running app (a client connects first) and each
  // seen to land (that client gets 4200).
  const start = Date.now();
  for (let i = 0; i < 6; ++i) {
    let victim;
    for (let attempt = 0; ; ++attempt) {
      victim = res.raw(own, { key: X.key });
      const first = await victim.waitFrame((fr) => fr.event === 'pusher:connection_established'
        || fr.event === 'pusher:error', 3000).catch((e) => e);
      if (first && first.event === 'pusher:connection_established') break;
      // Between a crash and its restart (back-off) the app refuses with 4100.
      assert.ok(attempt < 100, `app X did not come back after crash ${i}: ${JSON.stringify(first)}`);
      assert.equal(first && first.parsed && first.parsed.code, 4100, 'refusal while restarting is 4100');
      await victim.close();
      await f.sleep(10);
    }
    const r = await f.crash(own, { app: X.id, kind: 'app' });
    assert.equal(r.status, 200, `crash ${i + 1}: ${r.body}`);
    const info = await victim.waitClose(3000);
    assert.equal(info.code, 4200, `crash ${i + 1}: X's connection is closed with 4200`);
  }
  assert.ok(Date.now() - start < 10000, 'six crashes within the 10 s window');

  const topo = await f.poll(async () => {
    const t = await f.topology(own);
    return t.apps.find((a) => a.id === X.id).status === 'failed' && t;
  }, 3000, 'X marked failed in /topology');
  assert.equal(topo.apps.find((a) => a.id === Y.id).status, 'running');
  assert.equal(f.countLog(own, restarts), 5, 'five restarts, then no more');

  // A new connection to X: pusher:error 4100 and close 4100.
  const late = res.raw(own, { key: X.key });
  const info = await late.waitClose(3000);
  const err = late.frames.find((fr) => fr.event === 'pusher:error');
  assert.equal(err && err.parsed.code, 4100, `pusher:error 4100 for the failed app: ${JSON.stringify(late.frames)}`);
  assert.equal(info.code, 4100);
  // No further crash is possible: the app is gone, not restarting.
  assert.notEqual((await f.crash(own, { app: X.id, kind: 'app' })).status, 200);

  // Y: its old connection still gets events; a new pusher-js client subscribes and receives.
  assert.ok(yRaw.isOpen, 'Y\'s connection was not touched');
  const c = res.client(own, Y);
  await h.connected(c);
  const ch = await h.subscribe(c, yChannel);
  const got = h.nextEvent(ch, 'still-serving', 3000);
  const gotRaw = yRaw.waitFrame((fr) => fr.event === 'still-serving', 3000);
  const r = await h.serverSdk(own, Y).trigger(yChannel, 'still-serving', { ok: 1 });
  assert.equal(r.status, 200);
  assert.deepEqual((await got).data, { ok: 1 });
  await gotRaw;
  await healthy(own);
  // And it stays up a moment later (no delayed escalation).
  await f.sleep(500);
  await healthy(own);
});
