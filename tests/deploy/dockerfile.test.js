'use strict';
// deploy/docker/Dockerfile without a Docker daemon: it lints clean
// (dockerfile-utils), follows the usual rules (one RUN for update+install,
// no recommends, lists removed, non-root, pinned base, exec-form
// ENTRYPOINT), every package it installs exists in Debian 12, every path it
// copies exists in the tree and is not excluded by .dockerignore, and the
// final stage's packages provide every shared library `ldd` lists for the
// built binary, with no -dev package among them.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { validate } = require('dockerfile-utils');

const { ROOT, BIN, readDockerfile } = require('./support');

const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const stages = readDockerfile(DOCKERFILE);
const [build, runtime] = stages;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30000 });
  if (r.error) throw r.error;
  return r;
}

// Packages of the `apt-get install` in a stage's RUN instructions.
function installed(stage) {
  const out = [];
  for (const ins of stage.instructions.filter((i) => i.keyword === 'RUN')) {
    const m = /apt-get install ([^&|;]*)/.exec(ins.args);
    if (m) out.push(...m[1].split(/\s+/).filter((w) => w && !w.startsWith('-')));
  }
  return out;
}

const onBookworm = fs.existsSync('/etc/os-release')
  && /VERSION_CODENAME=bookworm/.test(fs.readFileSync('/etc/os-release', 'utf8'));

test('dockerfile-utils finds nothing', () => {
  const problems = validate(fs.readFileSync(DOCKERFILE, 'utf8'));
  assert.deepEqual(problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`), []);
});

test('the usual Dockerfile rules hold', () => {
  assert.equal(stages.length, 2, 'a build stage and a runtime stage');
  for (const stage of stages) {
    assert.match(stage.from, /^debian:12(-slim)?$/, 'Debian 12, pinned by tag');
    for (const ins of stage.instructions.filter((i) => i.keyword === 'RUN' && /apt-get install/.test(i.args))) {
      assert.match(ins.args, /apt-get update\s+&&/, `line ${ins.line}: update in the same RUN as install`);
      assert.match(ins.args, /--no-install-recommends/, `line ${ins.line}`);
      assert.match(ins.args, /rm -rf \/var\/lib\/apt\/lists\/\*/, `line ${ins.line}`);
    }
  }
  const users = runtime.instructions.filter((i) => i.keyword === 'USER');
  assert.equal(users.length, 1);
  assert.doesNotMatch(users[0].args, /^(root|0)$/);
  const entry = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  assert.doesNotThrow(() => JSON.parse(entry.args), 'ENTRYPOINT in exec form');
  assert.ok(runtime.instructions.some((i) => i.keyword === 'HEALTHCHECK'));
  const copy = runtime.instructions.filter((i) => i.keyword === 'COPY');
  assert.ok(copy.every((i) => i.args.startsWith(`--from=${build.name} `)), 'the final stage copies only the binary');
});

test('every path the build copies exists and is in the build context', () => {
  const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const ignored = (p) => ignore.some((pattern) => {
    const plain = pattern.replace(/^\*\*\//, '').replace(/\/$/, '');
    return p === plain || p.startsWith(`${plain}/`) || p.split('/').includes(plain);
  });
  let count = 0;
  for (const stage of stages) {
    for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const words = ins.args.split(/\s+/);
      for (const src of words.slice(0, -1)) {
        const clean = src.replace(/\/$/, '');
        assert.ok(fs.existsSync(path.join(ROOT, clean)), `line ${ins.line}: ${src} is not in the tree`);
        assert.ok(!ignored(clean), `line ${ins.line}: ${src} is excluded by .dockerignore`);
        count += 1;
      }
    }
  }
  assert.ok(count > 0);
  // The build needs every top-level source folder CMakeLists.txt names.
  const cmake = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
  const copied = build.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    .map((s) => s.replace(/\/$/, ''));
  for (const m of cmake.matchAll(/(?:GLOB \w+ CONFIGURE_DEPENDS|add_subdirectory\()\s*([a-z]+)/g))
    assert.ok(copied.includes(m[1]), `the build stage does not copy ${m[1]}/`);
});

test('every package it installs exists in Debian 12', { skip: !onBookworm && 'not a Debian 12 machine' }, () => {
  const all = [...installed(build), ...installed(runtime)];
  assert.ok(all.length > 10);
  // One look-up for all: apt-cache prints the ones it has and fails on
  // the first it lacks.
  const r = sh('apt-cache', ['show', '--no-all-versions', ...all]);
  const found = new Set([...r.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
  for (const pkg of all) assert.ok(found.has(pkg), `${pkg} is not a Debian 12 package: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
});

test('the final image installs the binary\'s shared libraries and no -dev package', { skip: !onBookworm && 'not a Debian 12 machine' }, () => {
  const runtimePackages = installed(runtime);
  assert.ok(!runtimePackages.some((p) => p.endsWith('-dev')), runtimePackages.join(' '));
  // Packages apt brings along (Depends of what is listed) and what every
  // Debian image has (Priority: required).
  const closure = new Set(runtimePackages);
  const deps = sh('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts',
    '--no-breaks', '--no-replaces', '--no-enhances', ...runtimePackages]);
  for (const line of deps.stdout.split('\n')) {
    const m = /^\s*(?:\|?(?:Pre)?Depends: )?<?([a-z0-9][a-z0-9.+-]*)(?::\w+)?>?$/.exec(line);
    if (m) closure.add(m[1]);
  }
  const ldd = sh('ldd', [BIN]);
  assert.equal(ldd.status, 0, ldd.stderr);
  const libs = [...ldd.stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
  assert.ok(libs.length > 5, ldd.stdout);
  for (const lib of libs) {
    const real = fs.realpathSync(lib);
    let owner = sh('dpkg', ['-S', real]);
    if (owner.status !== 0) owner = sh('dpkg', ['-S', lib]);
    assert.equal(owner.status, 0, `no package owns ${lib}`);
    const pkg = owner.stdout.split(':')[0];
    const priority = sh('dpkg-query', ['-W', '-f=${Priority}', pkg]).stdout;
    assert.ok(closure.has(pkg) || priority === 'required',
      `${lib} comes from ${pkg}, which the final stage does not install`);
  }
  // The named libraries are the ones this binary links, not guesses.
  for (const name of ['libcaf_core', 'libcaf_io', 'libnats', 'libspdlog', 'libssl'])
    assert.ok(libs.some((l) => path.basename(l).startsWith(name)), `ldd lacks ${name}`);
});
