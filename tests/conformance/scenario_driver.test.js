'use strict';
// The scenario driver's validator (examples/run_scenario.js): a bad file
// exits with code 2 before any node starts, and every error names the step
// (1-based) and the field, listing the valid ones. No node runs here: the
// binary path given does not exist, so reaching it would be a different error.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '../..');
const driver = path.join(root, 'examples/run_scenario.js');
const { validate, STEP_KINDS } = require(driver);

let dir;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starling-scenario-')); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let seq = 0;
/** Runs the driver on `scenario` (an object, or raw text); {status, stdout, stderr}. */
function run(scenario, args = []) {
  const file = path.join(dir, `s${++seq}.json`);
  fs.writeFileSync(file, typeof scenario === 'string' ? scenario : JSON.stringify(scenario));
  const r = spawnSync(process.execPath, [driver, file, '--bin', path.join(dir, 'no-such-binary'), ...args],
    { encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scenario = (steps, extra = {}) => ({ config: 'config.json', steps, ...extra });
const kinds = Object.keys(STEP_KINDS).join(', ');

describe('scenario driver: validation', () => {
  test('an unknown step kind: exit 2, the step index and every valid kind', () => {
    const r = run(scenario([{ connect: 'a' }, { subscrbe: 'ch', client: 'a' }]));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /step 2: unknown step kind "subscrbe" \(valid kinds: ([^)]*)\)/);
    assert.ok(r.stderr.includes(`(valid kinds: ${kinds})`), r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /no binary at/);
  });

  test('an unknown field: exit 2, the step, its kind, the field and the valid fields', () => {
    const r = run(scenario([
      { connect: 'a' },
      { subscribe: 'ch', client: 'a' },
      { expect: 'ev', client: 'a', channel: 'ch', timeout: 100 },
    ]));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /step 3 \(expect\): unknown field "timeout" \(valid: client, channel, data, timeout_ms\)/);
  });

  test('every error is reported at once, in step order', () => {
    const r = run(scenario([
      { connect: 'a', nod: 1 },
      { unsubscribe: 'ch' },
      { query: 'users' },
      { query: 'everything', channel: 'x' },
      { webhook: 'channel_occupied', chanel: 'x' },
      { logic: { actor: 'x', stat: 'running' } },
      { trigger: 'client-x', client: 'b', channel: 'c' },
      { wait_ms: -5 },
      { subscribe: 'ch', client: 'a', expect: 'maybe' },
      'connect',
    ], { descripton: 'typo' }));
    assert.equal(r.status, 2, r.stderr);
    const want = [
      'unknown top-level field "descripton" (valid: description, config, steps)',
      'step 1 (connect): unknown field "nod" (valid: node, user)',
      'step 2 (unsubscribe): missing field "client"',
      'step 3 (query): missing field "channel" (needed by query "users")',
      'step 4: "query" must be one of channel, channels, users',
      'step 5 (webhook): unknown field "chanel" (valid: channel, user_id, event, data, timeout_ms)',
      'step 6 (logic): unknown field "logic.stat" (valid: actor, channels, status)',
      'step 7 (trigger): client "b" is not connected by an earlier step',
      'step 8: "wait_ms" must be a non-negative integer',
      'step 9 (subscribe): field "expect" must be one of subscribed, refused',
      'step 10: must be a non-empty object whose first field names its kind',
    ];
    let at = -1;
    for (const line of want) {
      const i = r.stderr.indexOf(line);
      assert.ok(i > at, `missing or out of order: ${line}\n${r.stderr}`);
      at = i;
    }
    assert.match(r.stderr, /: 11 errors/);
  });

  test('the top level: steps and config are required, JSON must parse', () => {
    let r = run({ description: 'nothing' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing top-level field "config"/);
    assert.match(r.stderr, /missing top-level field "steps"/);
    r = run('{"config": "c.json", "steps": [');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /JSON/);
    r = run([]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /must be a JSON object/);
  });

  test('the first field names the kind: a subscribe step may have an "expect" field', () => {
    assert.deepEqual(validate(scenario([
      { connect: 'a' },
      { subscribe: 'ch', client: 'a', expect: 'refused' },
      { query: 'channel', channel: 'ch', expect: { occupied: true }, node: 1 },
      { disconnect: 'a' },
    ])), []);
    // The same fields in another order are a different kind, and invalid.
    assert.deepEqual(validate(scenario([{ connect: 'a' }, { expect: 'refused', subscribe: 'ch', client: 'a' }])),
      ['step 2 (expect): unknown field "subscribe" (valid: client, channel, data, timeout_ms)',
        'step 2 (expect): missing field "channel"']);
  });

  test('every shipped scenario is valid (--check: no node started)', () => {
    const dirOf = path.join(root, 'examples/scenarios');
    const files = fs.readdirSync(dirOf).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 3, files.join(', '));
    for (const f of files) {
      const r = spawnSync(process.execPath, [driver, path.join(dirOf, f), '--check'], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
      assert.match(r.stdout, /valid \(\d+ steps\)/);
    }
  });

  test('a valid file goes on to look for the binary', () => {
    const r = run(scenario([{ connect: 'a' }]));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no binary at/);
  });
});
