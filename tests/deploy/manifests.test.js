'use strict';
// The compose file and the Kubernetes manifests parse, and what they tell
// the binary is what the binary accepts: each node's environment, flags and
// config file go through `starling --check-config` (no error, no unknown
// variable), and the ports, probe paths, proxy upstreams, scrape targets
// and stop timeouts they declare are compared with the effective config
// and with what a running node answers. Nothing is compared with a copy.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const {
  ROOT, knownVariables, knownFlags, checkConfig, readDockerfile, dockerEnv, startNode, get, tempDir,
} = require('./support');

const DOCKER = path.join(ROOT, 'deploy/docker');
const K8S = path.join(ROOT, 'deploy/k8s');

// The final stage's ENV: what every container starts with.
const imageEnv = dockerEnv(readDockerfile().at(-1));

// Compose interpolation as `docker compose` does it for ${VAR:-default}
// and ${VAR}, with nothing set in the caller's environment.
function interpolate(value) {
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_, name, def) => def ?? '');
}

function starlingVariables(env) {
  return Object.keys(env).filter((k) => k.startsWith('STARLING_'));
}

function assertKnownVariables(env, where) {
  const known = knownVariables();
  for (const name of starlingVariables(env))
    assert.ok(known.has(name), `${where} sets ${name}, which the binary does not read`);
}

function checked(args, env, where) {
  const r = checkConfig(args, env);
  assert.equal(r.code, 0, `${where}: starling --check-config refused it:\n${r.stderr}`);
  assert.ok(!/warning/.test(r.stderr), `${where}: ${r.stderr}`);
  return r.config;
}

// A node with the admin endpoint the probes, healthchecks and scrapers hit.
let node;
test.before(async () => { node = await startNode(); });
test.after(async () => { if (node) await node.stop(); });

async function assertServed(urlPath, where) {
  const r = await get(node.adminPort, urlPath);
  assert.equal(r.status, 200, `${where}: GET ${urlPath} on the admin port answered ${r.status}`);
  return r.body;
}

// -- Docker image -----------------------------------------------------------

test('the image environment binds every interface and is a valid config', async () => {
  assertKnownVariables(imageEnv, 'Dockerfile ENV');
  const config = checked([], imageEnv, 'Dockerfile ENV');
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.admin.host, '0.0.0.0');
  assert.equal(config.cluster.middleman_host, '0.0.0.0');
  const stage = readDockerfile().at(-1);
  const exposed = stage.instructions.filter((i) => i.keyword === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/)).map(Number).sort();
  assert.deepEqual(exposed, [config.server.port, config.admin.port, config.cluster.middleman_port].sort());
  const health = stage.instructions.find((i) => i.keyword === 'HEALTHCHECK');
  assert.ok(health, 'HEALTHCHECK missing');
  const m = /http:\/\/127\.0\.0\.1:\$\{STARLING_ADMIN_PORT:-(\d+)\}(\/\S*)"/.exec(health.args);
  assert.ok(m, health.args);
  assert.equal(Number(m[1]), config.admin.port);
  await assertServed(m[2], 'HEALTHCHECK');
});

// -- compose ----------------------------------------------------------------

const compose = YAML.parse(fs.readFileSync(path.join(DOCKER, 'compose.yaml'), 'utf8'), { merge: true });
const services = compose.services;
const starlingServices = Object.keys(services).filter((n) => n.startsWith('starling-'));
const natsServices = Object.keys(services).filter((n) => n.startsWith('nats-'));

function composeNode(name) {
  const env = { ...imageEnv };
  for (const [k, v] of Object.entries(services[name].environment || {})) env[k] = interpolate(v);
  return { env, config: checked([], env, `compose ${name}`) };
}

test('compose: three NATS servers routed to each other, three nodes, nginx, prometheus', () => {
  assert.equal(natsServices.length, 3);
  assert.equal(starlingServices.length, 3);
  assert.ok(services.nginx && services.prometheus);
  for (const name of natsServices) {
    const cmd = services[name].command;
    const cluster = cmd[cmd.indexOf('--cluster') + 1];
    const routes = cmd[cmd.indexOf('--routes') + 1].split(',');
    const port = new URL(cluster).port;
    assert.deepEqual(routes.map((r) => new URL(r).hostname).sort(),
      natsServices.filter((n) => n !== name).sort(), `${name} routes`);
    for (const r of routes) assert.equal(new URL(r).port, port);
  }
});

test('compose: every node environment is a valid config the binary reads', () => {
  const ids = new Set();
  for (const name of starlingServices) {
    const { env, config } = composeNode(name);
    assertKnownVariables(services[name].environment, `compose ${name}`);
    assert.equal(config.cluster.bridge, 'nats');
    // Other nodes dial the advertised host: it must be this container's name.
    assert.equal(config.cluster.middleman_advertise_host, services[name].hostname);
    assert.ok(starlingServices.includes(config.cluster.middleman_advertise_host));
    ids.add(config.cluster.node_id);
    for (const url of config.nats.servers) {
      const u = new URL(url);
      assert.ok(natsServices.includes(u.hostname), `${name}: ${url} is no NATS service`);
      assert.equal(u.port, '4222');
    }
    // The admin and middleman ports stay inside the compose network.
    assert.equal(services[name].ports, undefined, `${name} must not publish ports`);
    const grace = /^(\d+)s$/.exec(services[name].stop_grace_period);
    assert.ok(grace && Number(grace[1]) >= config.server.shutdown_grace_s + 8, `${name} stop_grace_period`);
    assert.ok(env.STARLING_APP_SECRET, 'the app comes from the environment');
  }
  assert.equal(ids.size, starlingServices.length, 'node ids are unique');
});

test('compose: nginx proxies to every node on its public port, with TLS', () => {
  const conf = fs.readFileSync(path.join(DOCKER, 'nginx.conf'), 'utf8');
  const upstream = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(upstream.map(([h]) => h).sort(), [...starlingServices].sort());
  for (const [host, port] of upstream)
    assert.equal(port, composeNode(host).config.server.port, `nginx upstream ${host}:${port}`);
  const nginx = services.nginx;
  assert.deepEqual(nginx.ports.map((p) => String(p)).sort(), ['443:443', '80:80']);
  for (const volume of nginx.volumes) {
    const [src, dest] = volume.split(':');
    if (src !== './tls') assert.ok(fs.existsSync(path.resolve(DOCKER, src)), `nginx mounts missing ${src}`);
    if (dest.endsWith('starling-proxy.conf'))
      assert.match(conf, new RegExp(`include ${dest.replace(/\./g, '\\.')};`));
  }
  for (const name of starlingServices)
    assert.equal(nginx.depends_on[name].condition, 'service_healthy');
});

test('compose: prometheus scrapes every node at its admin port and the metrics path', async () => {
  const prom = YAML.parse(fs.readFileSync(path.join(DOCKER, 'prometheus.yml'), 'utf8'));
  const job = prom.scrape_configs.find((j) => j.job_name === 'starling');
  const targets = job.static_configs.flatMap((c) => c.targets).map((t) => t.split(':'));
  assert.deepEqual(targets.map(([h]) => h).sort(), [...starlingServices].sort());
  for (const [host, port] of targets)
    assert.equal(Number(port), composeNode(host).config.admin.port);
  const body = await assertServed(job.metrics_path, 'prometheus metrics_path');
  assert.match(body, /^starling_connections_open/m);
  const [, volumeSource] = /^(.*?):/.exec(services.prometheus.volumes[0]);
  assert.ok(fs.existsSync(path.resolve(DOCKER, volumeSource)));
});

test('compose: the image is built from the shipped Dockerfile', () => {
  for (const name of starlingServices) {
    const { build } = services[name];
    assert.ok(fs.existsSync(path.resolve(DOCKER, build.context, build.dockerfile)));
  }
});

// -- Kubernetes ---------------------------------------------------------------

const k8s = {};
for (const file of fs.readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8'));
  for (const doc of docs) {
    assert.deepEqual(doc.errors, [], `${file} does not parse`);
    const obj = doc.toJS();
    if (obj && obj.kind) k8s[`${obj.kind}/${obj.metadata ? obj.metadata.name : file}`] = { ...obj, file };
  }
}
const deployment = k8s['Deployment/starling'];
const pod = deployment.spec.template;
const container = pod.spec.containers[0];
const portsByName = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));

// The pod's environment with the values Kubernetes would fill in.
function podEnv() {
  const env = { ...imageEnv };
  const secret = k8s['Secret/starling-secrets'];
  for (const from of container.envFrom || [])
    if (from.secretRef) Object.assign(env, k8s[`Secret/${from.secretRef.name}`].stringData);
  assert.ok(secret, 'the Secret the pods read is shipped as an example');
  const fields = { 'metadata.name': 'starling-6d5f7c9b8-x2k4q', 'status.podIP': '10.1.2.3' };
  const own = {};
  for (const e of container.env) {
    const value = e.valueFrom ? fields[e.valueFrom.fieldRef.fieldPath]
      : e.value.replace(/\$\(([A-Z_]+)\)/g, (_, n) => own[n]);
    assert.notEqual(value, undefined, `env ${e.name}`);
    own[e.name] = value;
    env[e.name] = value;
  }
  return env;
}

// The container's args with the ConfigMap's file where the pod mounts it.
function podArgs(dir) {
  const mount = container.volumeMounts[0];
  const volume = pod.spec.volumes.find((v) => v.name === mount.name);
  const map = k8s[`ConfigMap/${volume.configMap.name}`];
  for (const [file, text] of Object.entries(map.data)) fs.writeFileSync(path.join(dir, file), text);
  return container.args.map((a) => (a.startsWith(`${mount.mountPath}/`) ? path.join(dir, a.slice(mount.mountPath.length + 1)) : a));
}

test('k8s: the pod config (ConfigMap, env, Secret, args) is what the binary accepts', () => {
  const dir = tempDir('starling-k8s-');
  try {
    const flags = knownFlags();
    for (const a of container.args.filter((x) => x.startsWith('--')))
      assert.ok(flags.has(a.split('=')[0]), `unknown flag ${a}`);
    const env = podEnv();
    assertKnownVariables(env, 'the pod');
    const config = checked(podArgs(dir), env, 'the pod');
    assert.equal(config.cluster.middleman_advertise_host, '10.1.2.3');
    assert.equal(config.cluster.node_id, 'starling-6d5f7c9b8-x2k4q');
    assert.equal(portsByName.ws, config.server.port);
    assert.equal(portsByName.admin, config.admin.port);
    assert.equal(portsByName.middleman, config.cluster.middleman_port);
    // preStop, then SIGTERM: drain for shutdown_grace_s, exit within 8 s more.
    const pre = container.lifecycle.preStop.exec.command;
    assert.equal(pre[0], 'sleep');
    assert.ok(pod.spec.terminationGracePeriodSeconds >= Number(pre[1]) + config.server.shutdown_grace_s + 8);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('k8s: probes hit the admin port on paths a node answers', async () => {
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    assert.ok(probe && probe.httpGet);
    assert.equal(probe.httpGet.port, 'admin');
    await assertServed(probe.httpGet.path, 'probe');
  }
  assert.equal(container.readinessProbe.httpGet.path, '/ready');
  // The image runs as the same non-root user the pod asks for.
  const run = readDockerfile().at(-1).instructions.find((i) => i.keyword === 'RUN' && /useradd/.test(i.args));
  assert.equal(/--uid (\d+)/.exec(run.args)[1], String(pod.spec.securityContext.runAsUser));
});

test('k8s: Service, PDB, NetworkPolicy and Ingress select the pods and name real ports', () => {
  const labels = pod.metadata.labels;
  const matches = (selector) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const service = k8s['Service/starling'];
  assert.ok(matches(service.spec.selector));
  for (const p of service.spec.ports) assert.ok(p.targetPort in portsByName, `Service targetPort ${p.targetPort}`);
  assert.ok(matches(k8s['PodDisruptionBudget/starling'].spec.selector.matchLabels));
  const policy = k8s['NetworkPolicy/starling'];
  assert.ok(matches(policy.spec.podSelector.matchLabels));
  for (const rule of policy.spec.ingress)
    for (const p of rule.ports) assert.ok(p.port in portsByName, `NetworkPolicy port ${p.port}`);
  // Only other Starling pods may reach the unauthenticated middleman port.
  const middleman = policy.spec.ingress.find((r) => r.ports.some((p) => p.port === 'middleman'));
  assert.ok(middleman.from.every((f) => f.podSelector && matches(f.podSelector.matchLabels)));
  const ingress = k8s['Ingress/starling'];
  const backend = ingress.spec.rules[0].http.paths[0].backend.service;
  assert.equal(backend.name, 'starling');
  assert.ok(service.spec.ports.some((p) => p.name === backend.port.name));
  const kustomization = YAML.parse(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8'));
  for (const r of kustomization.resources) assert.ok(fs.existsSync(path.join(K8S, r)), r);
});
