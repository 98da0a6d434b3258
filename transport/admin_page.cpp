// /topology.html (see admin_http.hpp): one self-contained page, no
// external asset. It draws the cluster tree (cluster -> nodes -> apps ->
// channels -> owner -> logic, and connections) from GET /topology/events,
// read with fetch() so the admin token travels in a header (EventSource
// cannot set one); the token stays in this tab's sessionStorage, never in
// a URL.
#include "transport/admin_http.hpp"

namespace starling::transport {

namespace {

const char* const page_head = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Starling topology</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .4em}
#bar{display:flex;gap:1em;align-items:center;flex-wrap:wrap;margin-bottom:.6em}
#error{color:#fff;background:#b00020;padding:.4em .7em;border-radius:4px}
#error:empty{display:none}
#status{color:#555}.stale{color:#b00020!important;font-weight:bold}
details{margin-left:1.1em;border-left:1px solid #ddd;padding-left:.5em}
summary{cursor:pointer;padding:1px 0}
.k{color:#777;font-size:.85em;margin-right:.3em}.n{font-weight:600}
.c{color:#555;margin-left:.5em}.bad{color:#b00020;font-weight:600}
.ok{color:#087f23}.leaf{margin-left:1.7em;padding:1px 0}
.more{margin-left:1.7em;color:#777;font-style:italic}
button.small{font-size:.8em;padding:0 .4em;margin-left:.5em}
</style></head><body>
<h1>Starling topology</h1>
<form id="login" hidden>Admin token: <input id="tok" type="password" autocomplete="off">
 <button>Connect</button></form>
<div id="bar">
 <label>Search <input id="q" placeholder="channel, socket id, user"></label>
 <label>App <select id="app"><option value="">all</option></select></label>
 <label>Show <select id="filter"><option value="all">everything</option>
  <option value="busy">channels with subscribers</option>
  <option value="down">unreachable nodes</option></select></label>
 <label>Per list <select id="limit"><option>20</option><option selected>50</option>
  <option>200</option><option>1000</option></select></label>
 <span id="status">connecting...</span>
</div>
<div id="error"></div>
<div id="tree"></div>
<h2 style="font-size:1.05em">Recent membership changes</h2><ul id="history"></ul>
)";

const char* const page_script = R"(<script>
'use strict';
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const open = new Set(['cluster']);  // Expanded nodes of the tree, by key.
let last = null, lastAt = 0, lastEvent = 0, ctl = null, retry = null, live = false;
let doc = null, version = 0;  // The keyed view of the stream and its version.

function token() { return sessionStorage.getItem('starlingToken') || ''; }
function headers() { const t = token(); return t ? {Authorization: 'Bearer ' + t} : {}; }
function showError(text) { $('error').textContent = text || ''; }
function status(text, stale) { $('status').textContent = text; $('status').className = stale ? 'stale' : ''; }

$('login').onsubmit = (e) => { e.preventDefault();
  sessionStorage.setItem('starlingToken', $('tok').value); $('tok').value = ''; connect(); };
for (const id of ['app', 'filter', 'limit']) $(id).onchange = () => connect();
let searchTimer = null;
$('q').oninput = () => { clearTimeout(searchTimer); searchTimer = setTimeout(connect, 300); };

// Live updates: server-sent events read through fetch() (the token goes
// in a header). The stream ends when the node goes away: shown, retried.
async function connect() {
  if (ctl) ctl.abort();
  clearTimeout(retry);
  ctl = new AbortController();
  const p = new URLSearchParams({scope: 'cluster', limit: $('limit').value});
  if ($('q').value) p.set('q', $('q').value);
  if ($('app').value) p.set('app', $('app').value);
  let r;
  try {
    r = await fetch('/topology/events?' + p, {headers: headers(), signal: ctl.signal, cache: 'no-store'});
  } catch (e) {
    if (e.name === 'AbortError') return;
    return lost('node unreachable: ' + e.message);
  }
  live = false;
  doc = null; version = 0;
  if (r.status === 401) {
    $('login').hidden = false;
    status('not connected', true);
    return showError(token() ? '401: the admin token was refused' : '401: admin token required');
  }
  if (!r.ok) return lost('error ' + r.status + ' from the node');
  $('login').hidden = true;
  showError('');
  live = true;
  lastEvent = Date.now();
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) { onEvent(buf.slice(0, i)); buf = buf.slice(i + 2); }
    }
  } catch (e) { if (e.name === 'AbortError') return; }
  lost('node unreachable: the update stream ended');
}

function lost(text) {
  live = false;
  showError(text + ' (retrying)');
  status('disconnected' + (lastAt ? ', last update ' + new Date(lastAt).toLocaleTimeString() : ''), true); retry = setTimeout(connect, 2000); }

function onEvent(chunk) {
  lastEvent = Date.now();
  let name = 'message', data = '';
  for (const line of chunk.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (name === 'failure') { showError('the node did not answer in time'); return; }
  if (!data) return;
  const m = JSON.parse(data);
  if (name === 'snapshot') doc = m.topology;
  else if (name === 'delta' && doc && m.base === version) doc = patch(doc, m.patch);
  else if (name === 'delta') { connect(); return; }  // Behind: a new stream starts with a snapshot.
  else return;
  version = m.version;
  last = unkey(doc); lastAt = Date.now();
  showError('');
  draw();
  freshness();
}

// JSON merge patch (RFC 7386): null removes, objects merge, the rest replaces.
function patch(target, p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return p;
  const out = (target && typeof target === 'object' && !Array.isArray(target)) ? target : {};
  for (const [k, v] of Object.entries(p)) { if (v === null) delete out[k]; else out[k] = patch(out[k], v); }
  return out;
}
// The keyed view back to plain lists: {"@": [keys], key: entry} -> [entries].
function unkey(v) {
  if (Array.isArray(v) || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v['@'])) return v['@'].map((k) => unkey(v[k]));
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = unkey(x);
  return out;
}

// A quiet stream still sends a comment every few seconds; silence means the
// node stopped answering.
function freshness() {
  if (!lastAt || !live) return;
  const age = Math.round((Date.now() - lastAt) / 1000);
  const silent = Date.now() - lastEvent > 12000;
  status('updated ' + new Date(lastAt).toLocaleTimeString() + (age > 1 ? ' (' + age + ' s ago)' : '')
         + (silent ? ' - node not answering' : ''), silent);
}
setInterval(freshness, 1000);

function glob(p, s) { return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$').test(s); }
)";

const char* const page_render = R"(
function node(key, label, body, cls) {
  return '<details data-key="' + esc(key) + '"' + (open.has(key) ? ' open' : '') + (cls ? ' class="' + cls + '"' : '')
    + '><summary>' + label + '</summary>' + body + '</details>';
}
function leaf(html, attrs) { return '<div class="leaf"' + (attrs || '') + '>' + html + '</div>'; }
function kind(k) { return '<span class="k">' + k + '</span>'; }
function count(text) { return '<span class="c">' + text + '</span>'; }

function draw() {
  const t = last, filter = $('filter').value, limit = +$('limit').value;
  const owners = {};
  for (const c of t.channels || []) owners[c.app + '\n' + c.name] = c;
  const apps = new Set();
  let html = '';
  for (const n of t.nodes) {
    if (filter === 'down' && n.reachable) continue;
    const nk = 'node/' + n.id;
    if (!n.reachable) {
      html += leaf(kind('node') + '<span class="n bad" data-node="' + esc(n.id) + '" data-reachable="false">' + esc(n.id)
        + '</span>' + count(n.left ? 'left the cluster (' + esc(n.reason) + ')' : 'unreachable: ' + esc(n.error || '')));
      continue;
    }
    const tp = n.topology, napps = tp.apps || [];
    let body = leaf(kind('bridge') + esc(tp.bridge.state) + count(tp.bridge.restarts + ' restarts'))
      + leaf(kind('uptime') + tp.uptime_s + ' s');
    for (const w of tp.webhooks || []) body += leaf(kind('webhooks') + esc(w.app) + ' ' + esc(w.state) + count(w.restarts + ' restarts'));
    for (const a of napps) { apps.add(a.id); body += drawApp(n.id, a, owners, filter, limit); }
    const conns = napps.reduce((s, a) => s + (a.connections || 0), 0);
    html += node(nk, kind('node') + '<span class="n ok" data-node="' + esc(n.id) + '" data-reachable="true">' + esc(n.id) + '</span>'
      + count(napps.length + ' apps, ' + conns + ' connections'), body);
  }
  const up = t.nodes.filter((n) => n.reachable).length;
  $('tree').innerHTML = node('cluster', kind('cluster') + '<span class="n">epoch ' + t.epoch + '</span>'
    + count(t.nodes.length + ' nodes (' + up + ' reachable), ' + (t.channels || []).length + ' channels listed'), html);
  for (const d of document.querySelectorAll('details[data-key]'))
    d.ontoggle = () => { if (d.open) open.add(d.dataset.key); else open.delete(d.dataset.key); };
  const sel = $('app');
  for (const id of apps) if (![...sel.options].some((o) => o.value === id)) sel.add(new Option(id, id));
  $('history').innerHTML = (t.history || []).slice().reverse().map((h) => '<li>' + new Date(h.at_ms).toLocaleTimeString()
    + ' epoch ' + h.epoch + ' (' + esc(h.reason || 'start') + ')' + (h.joined.length ? ' joined: ' + esc(h.joined.join(', ')) : '')
    + (h.left.length ? ' left: ' + esc(h.left.join(', ')) : '') + '</li>').join('');
}

function drawApp(nodeId, a, owners, filter, limit) {
  const ak = 'app/' + nodeId + '/' + a.id;
  if (a.status !== 'running')
    return leaf(kind('app') + '<span class="bad">' + esc(a.id) + ' ' + esc(a.status) + '</span>' + count((a.restarts || 0) + ' restarts'));
  let channels = (a.channel_list || []).slice();
  if (filter === 'busy') channels = channels.filter((c) => c.subscribers > 0);
  channels.sort((x, y) => (y.subscribers || 0) - (x.subscribers || 0) || (x.name < y.name ? -1 : 1));
  let cbody = '';
  for (const c of channels.slice(0, limit)) {
    const o = owners[a.id + '\n' + c.name] || {};
    const owner = o.owner || '?';
    let obody = leaf(kind('owner') + 'on <span class="n">' + esc(owner) + '</span>'
      + (o.seq !== undefined ? count('seq ' + o.seq + ', ' + o.subscribers + ' subscribers cluster-wide, ' + o.presence_members + ' presence members'
        + (o.cached ? ', cached event held' : '') + ', interest: ' + esc(Object.entries(o.interest || {}).map(([n, k]) => n + ' ' + k).join(', ') || 'none')) : ''));
    for (const l of a.logic || [])
      if (l.bound === 'channel' && glob(l.channels, c.name))
        obody += leaf(kind('logic') + esc(l.actor) + count(esc(l.status) + ', ' + l.restarts + ' restarts'));
    cbody += node('ch/' + nodeId + '/' + a.id + '/' + c.name, kind('channel') + '<span data-channel="' + esc(c.name)
      + '" data-owner="' + esc(owner) + '" data-subscribers="' + (c.subscribers || 0) + '">' + esc(c.name) + '</span>'
      + count((c.subscribers || 0) + ' subscribers here, owner ' + esc(owner)), obody);
  }
  if (a.channels_more || channels.length > limit) cbody += '<div class="more">more channels: search to narrow</div>';
  let lbody = '';
  for (const l of a.logic || []) if (l.bound !== 'channel')
    lbody += leaf(kind('logic') + esc(l.actor) + count(esc(l.status) + ', ' + l.instances + ' running, ' + l.restarts + ' restarts'));
  let kbody = '';
  for (const c of (a.connection_list || []).slice(0, limit))
    kbody += leaf(kind('connection') + '<span data-socket="' + esc(c.socket_id) + '">' + esc(c.socket_id) + '</span>'
      + (c.user ? count('user ' + esc(c.user)) : '')
      + (c.age_s !== undefined ? count('<span title="' + esc((c.channels || []).join(' ')) + '">' + c.channel_count + ' channels</span>, '
        + c.queued_bytes + ' B queued, ' + c.age_s + ' s old') : '')
      + '<button class="small" data-app="' + esc(a.id) + '" data-disconnect="' + esc(c.socket_id) + '">disconnect</button>');
  if (a.connections_more) kbody += '<div class="more">more connections: search to narrow</div>';
  const body = node(ak + '/channels', kind('channels') + (a.channel_count || 0) + count((a.owner_count || 0) + ' owned here'), cbody)
    + (lbody ? node(ak + '/logic', kind('logic') + (a.logic || []).length + ' bindings', lbody) : '')
    + node(ak + '/connections', kind('connections') + a.connections + count(a.signed_in_users + ' signed-in users'), kbody);
  return node(ak, kind('app') + '<span class="n">' + esc(a.id) + '</span>'
    + count(a.connections + ' connections, ' + (a.channel_count || 0) + ' channels, ' + (a.owner_count || 0) + ' owners'), body);
}

document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-disconnect]');
  if (!b) return;
  const p = new URLSearchParams({app: b.dataset.app, socket_id: b.dataset.disconnect});
  const r = await fetch('/actions/disconnect?' + p, {method: 'POST', headers: headers()});
  if (!r.ok) showError('disconnect: ' + r.status + ' ' + (await r.text()));
});

connect();
</script></body></html>
)";

} // namespace

std::string admin_http::topology_page() {
  std::string out = page_head;
  out += page_script;
  out += page_render;
  return out;
}

} // namespace starling::transport
