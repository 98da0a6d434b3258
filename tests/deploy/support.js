'use strict';
// Deploy test support: run the starling binary (clean STARLING_* env),
// read its key table (--config-schema), start a node on free loopback
// ports, run a shell script in a private mount namespace, and reap every
// child by pid. Waits are on events (a line of output, an exit) with
// bounded timeouts.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { keepSanitizerReports } = require('../conformance/support/sanitizer_reports');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.STARLING_BIN || path.join(ROOT, 'build/starling');
const NOTIFY_LISTENER = process.env.STARLING_NOTIFY_LISTENER
  || path.join(ROOT, 'build/tests/deploy/notify_listener');

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { process.kill(child.pid, 'SIGKILL'); } catch (_) { /* gone */ }
  }
});

/** The caller's environment without STARLING_* (tests set their own). */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STARLING_') && k !== 'NOTIFY_SOCKET') env[k] = v;
  return { ...env, ...extra };
}

/** Runs the binary to completion: {code, stdout, stderr}. */
function runBin(args, env = {}, timeoutMs = 10000) {
  const r = spawnSync(BIN, args, { env: cleanEnv(env), encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let schemaCache = null;
/** The binary's key table: {keys: [{path, env, flag, default, ...}], ...}. */
function schema() {
  if (!schemaCache) {
    const r = runBin(['--config-schema']);
    if (r.code !== 0) throw new Error(`--config-schema failed: ${r.stderr}`);
    schemaCache = JSON.parse(r.stdout);
  }
  return schemaCache;
}

/** Every STARLING_* variable the binary reads (with STARLING_CONFIG). */
function knownVariables() {
  const names = new Set([schema().config_env]);
  for (const k of schema().keys) if (k.env) names.add(k.env);
  return names;
}

/** Every flag the binary takes. */
function knownFlags() {
  const flags = new Set(schema().commands);
  for (const k of schema().keys) if (k.flag) flags.add(k.flag);
  return flags;
}

/**
 * `starling --check-config ARGS` with `env`: {code, config (parsed effective
 * config or null), stderr}.
 */
function checkConfig(args, env = {}) {
  const r = runBin(['--check-config', ...args], env);
  let config = null;
  if (r.code === 0) config = JSON.parse(r.stdout);
  return { code: r.code, config, stderr: r.stderr };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * `n` distinct free loopback ports. With `belowEphemeral`, from 20000-32767,
 * which no other process gets by binding port 0 (the kernel hands those out
 * from 32768 up), so a port stays free between this check and a child's
 * bind even while other tests run.
 */
async function freePorts(n, { belowEphemeral = false } = {}) {
  const out = new Set();
  while (out.size < n) {
    if (!belowEphemeral) {
      out.add(await freePort());
      continue;
    }
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (!out.has(port) && await portIsFree(port)) out.add(port);
  }
  return [...out];
}

/** Resolves with the first line of `stream` matching `re` (bounded). */
function waitForLine(stream, re, timeoutMs, label) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label || re}; got: ${buffer.slice(-500)}`));
    }, timeoutMs);
    const onData = (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const line of lines) {
        const m = re.exec(line);
        if (m) {
          clearTimeout(timer);
          stream.off('data', onData);
          resolve(m);
          return;
        }
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', onData);
  });
}

/**
 * Spawns a long-running child; returns {child, exited (promise of {code,
 * signal}), output() (stdout+stderr so far), stop(signal)}.
 */
function spawnChild(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(child);
  let output = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { output += d; });
  keepSanitizerReports(child, () => output);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  return {
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM', timeoutMs = 15000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      let timer;
      const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
      const info = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (info) return info;
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Starts a node on free loopback ports: {port, adminPort, stop(), ...}.
 * `args` and `env` are added; stdout is read for STARLING_READY.
 */
async function startNode(args = [], env = {}) {
  const proc = spawnChild(BIN, ['--port', '0', '--admin-port', '0', '--log-level', 'info', ...args],
    { env: cleanEnv(env) });
  const ready = waitForLine(proc.child.stdout, /STARLING_READY port=(\d+) admin_port=(\d+)/, 10000,
    'STARLING_READY');
  const early = proc.exited.then((info) => { throw new Error(`starling exited: ${JSON.stringify(info)}\n${proc.output()}`); });
  const m = await Promise.race([ready, early]);
  return { ...proc, port: Number(m[1]), adminPort: Number(m[2]) };
}

/** GET http://127.0.0.1:port/path -> {status, body}. */
async function get(port, urlPath) {
  const r = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: r.status, body: await r.text() };
}

/**
 * Runs `script` with sh in a private mount namespace (root only), so it
 * can put shipped files at the absolute paths they name without touching
 * the machine: {code, output}.
 */
function inMountNamespace(script, timeoutMs = 20000) {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script],
    { encoding: 'utf8', timeout: timeoutMs, env: cleanEnv({ BIN }) });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `cmd` on PATH or in /usr/sbin, else null. */
function which(cmd) {
  for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/sbin']) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch (_) { /* next */ }
  }
  return null;
}

/**
 * deploy/docker/Dockerfile as stages: [{from, name, instructions: [{keyword,
 * args, line}]}], continuation lines joined, comments dropped.
 */
function readDockerfile(file = path.join(ROOT, 'deploy/docker/Dockerfile')) {
  const stages = [];
  let pending = '';
  let startLine = 0;
  fs.readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    if (!pending && /^\s*(#|$)/.test(raw)) return;
    if (!pending) startLine = i + 1;
    if (raw.endsWith('\\')) { pending += `${raw.slice(0, -1)} `; return; }
    const text = (pending + raw).trim();
    pending = '';
    const m = /^(\w+)\s+(.*)$/s.exec(text);
    if (!m) return;
    const keyword = m[1].toUpperCase();
    if (keyword === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(m[2]);
      stages.push({ from: f[1], name: f[2] || null, instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push({ keyword, args: m[2], line: startLine });
    }
  });
  return stages;
}

/** ENV of a stage as an object (KEY=VALUE pairs). */
function dockerEnv(stage) {
  const env = {};
  for (const ins of stage.instructions.filter((x) => x.keyword === 'ENV'))
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g))
      env[m[1]] = m[2].replace(/^"|"$/g, '');
  return env;
}

module.exports = {
  readDockerfile, dockerEnv,
  ROOT, BIN, NOTIFY_LISTENER, cleanEnv, runBin, schema, knownVariables, knownFlags,
  checkConfig, freePorts, waitForLine, spawnChild, startNode, get, inMountNamespace,
  tempDir, which,
};
