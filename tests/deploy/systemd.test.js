'use strict';
// deploy/systemd/starling.service: `systemd-analyze verify` with the real
// binary at the path the unit names (in a private mount namespace), its
// hardening score, and its command lines, config file and environment file
// run through `starling --check-config` at the paths the unit names.
// Skipped where systemd-analyze is not installed.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, knownVariables, inMountNamespace, tempDir, which } = require('./support');

const ANALYZE = which('systemd-analyze');
const UNIT = path.join(ROOT, 'deploy/systemd/starling.service');
const skip = !ANALYZE && 'systemd-analyze is not installed';

// `script` runs with the built binary at /usr/local/bin/starling and the
// shipped config at /etc/starling/, as the unit's install steps put them.
function installed(script) {
  return inMountNamespace(`
    mount -t tmpfs none /usr/local/bin
    cp "$BIN" /usr/local/bin/starling
    mkdir -p /etc/starling
    mount -t tmpfs none /etc/starling
    cp '${ROOT}/deploy/systemd/config.json' /etc/starling/config.json
    cp '${ROOT}/deploy/systemd/starling.env' /etc/starling/starling.env
    ${script}
  `);
}

// The unit's [Service] settings; repeated keys keep every value.
function unitSettings(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) (out[m[1]] = out[m[1]] || []).push(m[2]);
  }
  return out;
}

test('systemd-analyze verify passes and says nothing', { skip }, () => {
  const r = installed(`systemd-analyze verify '${UNIT}' 2>&1`);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.trim(), '', `verify complained:\n${r.output}`);
});

test('verify complains about a misspelled option (control)', { skip }, () => {
  const dir = tempDir('starling-unit-');
  try {
    const bad = path.join(dir, 'starling.service');
    fs.writeFileSync(bad, fs.readFileSync(UNIT, 'utf8').replace('ProtectSystem=', 'ProtectSystm='));
    const r = installed(`systemd-analyze verify '${bad}' 2>&1`);
    assert.match(r.output, /Unknown key 'ProtectSystm'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit is hardened: exposure at most 2.0 of 10', { skip }, () => {
  const r = installed(`systemd-analyze security --offline=true '${UNIT}' 2>&1`);
  const m = /Overall exposure level for starling\.service: ([\d.]+)/.exec(r.output);
  assert.ok(m, r.output);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`);
});

test('the unit runs the binary the way it accepts: notify, reload, restart policy, stop timeout', () => {
  const s = unitSettings(fs.readFileSync(UNIT, 'utf8'));
  assert.deepEqual(s.Type, ['notify']);
  assert.deepEqual(s.Restart, ['on-failure']);
  assert.deepEqual(s.ExecReload, ['/bin/kill -HUP $MAINPID']);
  // Exit 2 is a bad config (run_node.hpp): restarting cannot help.
  assert.deepEqual(s.RestartPreventExitStatus, ['2']);
  for (const key of ['NoNewPrivileges', 'ProtectSystem', 'DynamicUser'])
    assert.ok(s[key], `${key} missing`);
  const env = Object.fromEntries(fs.readFileSync(path.join(ROOT, 'deploy/systemd/starling.env'), 'utf8')
    .split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const known = knownVariables();
  for (const name of Object.keys(env)) assert.ok(known.has(name), `starling.env sets unknown ${name}`);

  // ExecStartPre and ExecStart, as written, with the shipped files where
  // they name them and the environment file's variables.
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'`).join('\n');
  const start = s.ExecStart[0];
  const r = installed(`
    ${exports}
    ${s.ExecStartPre[0]} > /dev/null
    ${start} --check-config
  `);
  assert.equal(r.code, 0, r.output);
  assert.ok(!/warning/.test(r.output), r.output);
  const config = JSON.parse(r.output);
  assert.equal(config.apps[0].secret, '********');
  // SIGTERM drains for shutdown_grace_s and exits within 8 s more.
  const stop = Number(s.TimeoutStopSec[0]);
  assert.ok(stop >= config.server.shutdown_grace_s + 8, `TimeoutStopSec=${stop}`);
});
