'use strict';
// `nginx -t` on every shipped nginx config, each at the paths it names:
// deploy/nginx/starling.conf in Debian's /etc/nginx layout, and
// deploy/docker/nginx.conf as compose mounts it (with the compose service
// names resolvable). A private mount namespace puts the files there, so
// the machine's /etc is never touched. The proxy block is also checked
// against the binary's own defaults (timeouts, body size).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, schema, inMountNamespace, tempDir, which } = require('./support');

const NGINX = which('nginx');
const SITE = path.join(ROOT, 'deploy/nginx/starling.conf');
const PROXY = path.join(ROOT, 'deploy/nginx/starling-proxy.conf');
const COMPOSE_SITE = path.join(ROOT, 'deploy/docker/nginx.conf');

// Copies Debian's /etc/nginx into a tmpfs over /etc/nginx, adds `files`
// ({absolute path: source file}), a throw-away certificate at
// /etc/nginx/tls/, and runs nginx -t with the stock nginx.conf.
function nginxTest(files, { hosts = null } = {}) {
  const work = tempDir('starling-nginx-');
  try {
    const copies = Object.entries(files).map(([dest, src]) =>
      `mkdir -p "$(dirname '${dest}')" && cp '${src}' '${dest}'`).join('\n');
    const hostsStep = hosts
      ? `printf '%s\\n' '${hosts}' > '${work}/hosts' && mount --bind '${work}/hosts' /etc/hosts`
      : ':';
    const script = `
      cp -a /etc/nginx '${work}/stock'
      mount -t tmpfs none /etc/nginx
      cp -a '${work}/stock/.' /etc/nginx/
      rm -f /etc/nginx/sites-enabled/default
      ${copies}
      mkdir -p /etc/nginx/tls
      openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \\
        -keyout /etc/nginx/tls/starling.key -out /etc/nginx/tls/starling.crt 2>/dev/null
      ${hostsStep}
      '${NGINX}' -t -e '${work}/error.log' -c /etc/nginx/nginx.conf 2>&1
    `;
    return inMountNamespace(script);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

test('nginx -t passes on deploy/nginx/starling.conf', { skip: !NGINX && 'nginx is not installed' }, () => {
  const r = nginxTest({
    '/etc/nginx/conf.d/starling.conf': SITE,
    '/etc/nginx/snippets/starling-proxy.conf': PROXY,
  });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /syntax is ok/);
  assert.match(r.output, /test is successful/);
});

test('nginx -t passes on deploy/docker/nginx.conf as compose mounts it', { skip: !NGINX && 'nginx is not installed' }, () => {
  const r = nginxTest({
    '/etc/nginx/conf.d/default.conf': COMPOSE_SITE,
    '/etc/nginx/snippets/starling-proxy.conf': PROXY,
  }, { hosts: '127.0.0.1 localhost starling-1 starling-2 starling-3' });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /test is successful/);
});

test('the harness fails a broken config (control)', { skip: !NGINX && 'nginx is not installed' }, () => {
  const dir = tempDir('starling-nginx-bad-');
  try {
    const broken = path.join(dir, 'starling-proxy.conf');
    fs.writeFileSync(broken, fs.readFileSync(PROXY, 'utf8').replace('proxy_pass', 'proxy_pas'));
    const r = nginxTest({ '/etc/nginx/conf.d/starling.conf': SITE, '/etc/nginx/snippets/starling-proxy.conf': broken });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /unknown directive "proxy_pas"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function seconds(text, directive) {
  const m = new RegExp(`^\\s*${directive}\\s+(\\d+)s;`, 'm').exec(text);
  assert.ok(m, `${directive} missing`);
  return Number(m[1]);
}

test('the proxy block fits the binary: WebSocket upgrade, timeouts above the ping cycle, body size', () => {
  const proxy = fs.readFileSync(PROXY, 'utf8');
  assert.match(proxy, /proxy_pass http:\/\/starling;/);
  assert.match(proxy, /proxy_http_version 1\.1;/);
  assert.match(proxy, /proxy_set_header Upgrade \$http_upgrade;/);
  assert.match(proxy, /proxy_set_header Connection \$connection_upgrade;/);
  const defaults = Object.fromEntries(schema().keys.map((k) => [k.path, k.default]));
  // nginx must not close a quiet WebSocket before Starling's own ping/pong
  // cycle would.
  const cycle = defaults['server.activity_timeout_s'] + defaults['server.pong_timeout_s'];
  assert.ok(seconds(proxy, 'proxy_read_timeout') > cycle);
  assert.ok(seconds(proxy, 'proxy_send_timeout') > cycle);
  const body = /client_max_body_size\s+(\d+)m;/.exec(proxy);
  assert.ok(body && Number(body[1]) * 1024 * 1024 >= defaults['server.max_http_body_bytes']);
  for (const site of [SITE, COMPOSE_SITE, path.join(ROOT, 'deploy/local/nginx.conf.in')]) {
    const text = fs.readFileSync(site, 'utf8');
    assert.match(text, /upstream starling \{\s*\n\s*(#.*\n\s*)*least_conn;/, `${site}: least_conn upstream`);
    assert.match(text, /map \$http_upgrade \$connection_upgrade/, `${site}: upgrade map`);
    assert.match(text, /include (.*starling-proxy\.conf|@PROXY_CONF@);/, `${site}: shared proxy block`);
    assert.match(text, /listen .*443 ssl;|listen .*@HTTPS_PORT@ ssl;/, `${site}: TLS listener`);
  }
});
