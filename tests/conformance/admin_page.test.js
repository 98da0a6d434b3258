// /topology.html in headless Chromium (Debian's chromium driven by
// playwright-core): the page shows both nodes of a cluster, the known
// channels with their counts and owner nodes, updates when a client joins
// and when a node is killed, and shows an error on a wrong token. A
// screenshot is kept in the build directory (STARLING_ARTIFACT_DIR).
// Without /usr/bin/chromium the test fails: scripts/setup.sh installs it.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./support/node');
const { freePort, startNats, clusterConfig } = require('./support/cluster');
const { scaled } = require('./support/slowdown');

const CHROMIUM = process.env.STARLING_CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'page-token-7';
const ARTIFACTS = process.env.STARLING_ARTIFACT_DIR || path.join(__dirname, '..', '..', 'build', 'artifacts');

// Re-runs the async `read()` until it returns something truthy, bounded.
async function poll(read, ms, what) {
  const deadline = Date.now() + scaled(ms);
  for (;;) {
    const v = await read();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the topology page draws the cluster and follows it live', async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (Debian package chromium)`);
  const { chromium } = require('playwright-core');
  const natsPort = await freePort();
  const nats = await startNats(natsPort);
  const res = h.resources();
  let browser = null;
  t.after(async () => {
    if (browser) await browser.close();
    await res.cleanup();
    await nats.stop();
  });
  const app = h.makeApp();
  const cfg = (id) => ({ ...clusterConfig(natsPort, id), apps: [app], admin: { token: TOKEN } });
  const [a, b] = await Promise.all([res.node(cfg('p-a')), res.node(cfg('p-b'))]);
  const ca = res.client(a, app);
  const cb = res.client(b, app);
  await Promise.all([h.connected(ca), h.connected(cb)]);
  for (const n of ['news', 'sport', 'weather']) await h.subscribe(ca, n);
  await h.subscribe(cb, 'news');

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${a.adminPort}/topology.html`);

  // No token yet: 401 is shown with the login form.
  await page.waitForSelector('#error:has-text("401")', { timeout: scaled(5000) });
  // A wrong token is refused, visibly.
  await page.fill('#tok', 'not-the-token');
  await page.click('#login button');
  await page.waitForSelector('#error:has-text("refused")', { timeout: scaled(5000) });
  // The right one: the tree arrives.
  await page.fill('#tok', TOKEN);
  await page.click('#login button');
  await page.waitForSelector('[data-node="p-a"][data-reachable="true"]', { timeout: scaled(8000) });
  await page.waitForSelector('[data-node="p-b"][data-reachable="true"]', { timeout: scaled(8000) });
  assert.equal(await page.locator('#error').textContent(), '');
  assert.ok(!(await page.url()).includes(TOKEN), 'the token is not in the URL');

  // Expand everything and read the channels of node p-a.
  const expandAll = () => page.evaluate(() => { for (const d of document.querySelectorAll('details')) d.open = true; });
  await expandAll();
  const channelsOf = (node) => page.evaluate((n) => {
    const out = {};
    const root = document.querySelector(`details[data-key="node/${n}"]`);
    if (!root) return out;
    for (const el of root.querySelectorAll('[data-channel]'))
      if (!el.dataset.channel.startsWith('#'))
        out[el.dataset.channel] = { subscribers: +el.dataset.subscribers, owner: el.dataset.owner };
    return out;
  }, node);
  const ownerOf = async (name) => {
    for (const n of [a, b]) {
      const r = await fetch(`http://127.0.0.1:${n.adminPort}/topology`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      if ((await r.json()).apps[0].owners.includes(name)) return n === a ? 'p-a' : 'p-b';
    }
    return null;
  };
  const seen = await poll(async () => {
    await expandAll();
    const c = await channelsOf('p-a');
    return c.news && c.sport && c.weather && c.news.owner !== '?' ? c : null;
  }, 8000, 'the channels of p-a with their owners');
  assert.equal(seen.news.subscribers, 1);
  assert.equal(seen.sport.subscribers, 1);
  for (const n of ['news', 'sport', 'weather']) assert.equal(seen[n].owner, await ownerOf(n), `owner of ${n}`);
  const onB = await channelsOf('p-b');
  assert.equal(onB.news.subscribers, 1);

  // A client joins a channel on p-b: the page updates without a reload.
  await h.subscribe(cb, 'sport');
  await poll(async () => { await expandAll(); const c = await channelsOf('p-b'); return c.sport && c.sport.subscribers === 1; },
    8000, 'sport on p-b after the join');
  await page.waitForSelector('#status:has-text("updated")', { timeout: scaled(3000) });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'topology-page.png'), fullPage: true });

  // Node p-b is killed: the page marks it.
  process.kill(b.pid, 'SIGKILL');
  await b.exited;
  await page.waitForSelector('[data-node="p-b"][data-reachable="false"]', { timeout: scaled(8000) });
  await page.screenshot({ path: path.join(ARTIFACTS, 'topology-page-node-killed.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
