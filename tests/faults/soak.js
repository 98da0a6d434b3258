#!/usr/bin/env node
'use strict';
// The fault soak: runs every fault scenario (or those named with --only) on
// a fresh 3-node world under traffic, `--rounds` times or until
// `--minutes` passed, and prints one Markdown table row per run: deliveries
// lost (owner survived / owner died), duplicated, reordered; HTTP answers
// that were not 200; presence exactness and ghost lifetime; webhook pairs
// left unbalanced. Loopback only; every step is bounded.
//
//   node tests/faults/soak.js [--minutes 10] [--rounds N] [--only "kill -9 of a node,NATS restart"]
//                             [--bin build/starling] [--rate-ms 25]

const path = require('node:path');

function args() {
  const out = { minutes: 0, rounds: 1, only: null, bin: undefined, rateMs: 25 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; ++i) {
    const v = a[i + 1];
    if (a[i] === '--minutes') { out.minutes = Number(v); ++i; }
    else if (a[i] === '--rounds') { out.rounds = Number(v); ++i; }
    else if (a[i] === '--only') { out.only = v.split(',').map((s) => s.trim()); ++i; }
    else if (a[i] === '--bin') { out.bin = path.resolve(v); ++i; }
    else if (a[i] === '--rate-ms') { out.rateMs = Number(v); ++i; }
    else { console.error(`unknown argument ${a[i]}`); process.exit(2); }
  }
  return out;
}

function row(r) {
  const hooks = r.webhookImbalance === undefined ? '-' : r.webhookImbalance.length;
  return `| ${r.name} | ${r.accepted} | ${r.lostOwnerSurvived} | ${r.lostOwnerDied} | ${r.dupes} `
    + `| ${r.reordered} | ${r.notAccepted} | ${r.presenceExact ? `yes (${r.presenceSettledMs} ms)` : 'NO'} `
    + `| ${r.ghostMs === undefined ? '-' : `${r.ghostMs} ms`} | ${hooks} |`;
}

async function main() {
  const opts = args();
  if (opts.bin) process.env.STARLING_BIN = opts.bin;
  // Required only now: the node helpers read STARLING_BIN when loaded.
  const { runScenario, scenarios } = require('./scenarios');
  const names = opts.only || Object.keys(scenarios);
  const deadline = opts.minutes > 0 ? Date.now() + opts.minutes * 60000 : 0;
  console.log('| fault | accepted | lost (owner survived) | lost (owner died) | duplicated | reordered '
    + '| not 200 | presence exact | ghosts | webhook pairs off |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  let failures = 0;
  for (let round = 0; deadline ? Date.now() < deadline : round < opts.rounds; ++round) {
    for (const name of names) {
      if (!scenarios[name]) { console.error(`no scenario "${name}"`); process.exit(2); }
      try {
        const r = await runScenario(name, scenarios[name], { world: { rateMs: opts.rateMs } });
        console.log(row(r));
        if (!r.presenceExact && r.presenceError) console.log(`<!-- ${name}: ${r.presenceError} -->`);
        if (r.webhookImbalance && r.webhookImbalance.length)
          console.log(`<!-- ${name}: ${JSON.stringify(r.webhookImbalance.slice(0, 5))} -->`);
        if (r.viewChangesUnderLoad)
          console.log(`<!-- ${name}: view changes in ${r.loadedSeconds} s: ${JSON.stringify(r.viewChangesUnderLoad)} -->`);
      } catch (err) {
        ++failures;
        console.log(`| ${name} | error: ${String(err.message || err).slice(0, 200)} |`);
      }
      if (deadline && Date.now() >= deadline) break;
    }
  }
  process.exit(failures ? 1 : 0);
}

main();
