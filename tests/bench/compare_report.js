#!/usr/bin/env node
// Writes report.md and PNG plots for a compare.sh run:
//   node compare_report.js REPORT_DIR
// Reads REPORT_DIR/results.tsv (one value per line, with the load around its
// figure), meta.txt and raw/*.cdf. Plots need gnuplot; without it the report
// says so and keeps the tables.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: compare_report.js REPORT_DIR');
  process.exit(2);
}
const meta = Object.fromEntries(
  fs.readFileSync(path.join(dir, 'meta.txt'), 'utf8').split('\n').filter(Boolean)
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const maxBusy = Number(meta.max_busy || 15);
const rows = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1)
  .map((l) => {
    const [repeat, peer, figure, metric, value, loadBefore, loadAfter, busy] = l.split('\t');
    return { repeat: +repeat, peer, figure, metric, value, loadBefore: +loadBefore,
             loadAfter: +loadAfter, busy: +busy };
  });

// The publisher's achieved rate of each latency figure, from its raw output:
// a server that answers a publish only after fanning it out slows a paced
// publisher down, and its percentiles then cover fewer events than offered.
for (const file of fs.existsSync(path.join(dir, 'raw')) ? fs.readdirSync(path.join(dir, 'raw')) : []) {
  const m = file.match(/^(\d+)-(\w+)-(latency_\d+)\.out$/);
  if (!m) continue;
  const rate = fs.readFileSync(path.join(dir, 'raw', file), 'utf8').match(/^publish_rate=([\d.]+)$/m);
  const like = rows.find((r) => r.repeat === +m[1] && r.peer === m[2] && r.figure === m[3]);
  if (rate && like) rows.push({ ...like, metric: 'publish_rate', value: rate[1] });
}

// Values of one metric of one figure and peer, one per repeat.
function values(peer, figure, metric) {
  return rows.filter((r) => r.peer === peer && r.figure === figure && r.metric === metric
                            && r.value !== '' && !Number.isNaN(+r.value))
    .map((r) => ({ v: +r.value, repeat: r.repeat, dirty: r.busy > maxBusy }));
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function summary(vs) {
  if (!vs.length) return null;
  const xs = vs.map((x) => x.v);
  return { med: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length,
           dirty: vs.filter((x) => x.dirty).length };
}
function fmt(x, unit) {
  if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
  if (unit === 'B') return x >= 1000 ? `${(x / 1000).toFixed(1)} KB` : `${Math.round(x)} B`;
  if (unit === 'ms') return `${(x / 1000).toFixed(x < 10000 ? 2 : 1)} ms`;
  if (unit === 'x') return `${x.toFixed(2)}×`;
  if (unit === 'us') return `${x.toFixed(1)} µs`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  return `${Math.round(x * 100) / 100}`;
}
function cell(s, unit) {
  if (!s) return 'n/a';
  const range = s.n > 1 ? ` (${fmt(s.min, unit)}–${fmt(s.max, unit)})` : '';
  const dirty = s.dirty ? ` **[contaminated ${s.dirty}/${s.n}]**` : '';
  return `${fmt(s.med, unit)}${range}${dirty}`;
}

// Paced CPU per delivery over the floor, per repeat (Starling only, and
// Soketi for reference against the same floor).
function pacedRatios(peer, figure) {
  const floor = values('floor', 'floor', 'floor_us_per_write');
  return values(peer, figure, 'server_us_per_delivery').map((x) => {
    const f = floor.find((y) => y.repeat === x.repeat);
    return f && f.v > 0 ? { v: x.v / f.v, repeat: x.repeat, dirty: x.dirty || f.dirty } : null;
  }).filter(Boolean);
}

const figures = [...new Set(rows.map((r) => r.figure))];
const latFigs = figures.filter((f) => f.startsWith('latency_'));
const burstFigs = figures.filter((f) => f.startsWith('burst_'))
  .sort((a, b) => +a.split('_')[1] - +b.split('_')[1]);
const bigLat = latFigs.sort((a, b) => +a.split('_')[1] - +b.split('_')[1]).slice(-1)[0];
const bigBurst = burstFigs.slice(-1)[0];

// [label, figure, metric, unit, better ('low'|'high'), target]
const table = [
  ['userspace per idle connection, one shared channel', 'idle_shared', 'bytes_per_conn', 'B', 'low', '≤ 3.0 KB'],
  ['(connections subscribed for it)', 'idle_shared', 'ready', '', '', ''],
  ['userspace per idle connection, each on its own channel', 'idle_own', 'bytes_per_conn', 'B', 'low', '≤ 5.0 KB'],
  ['(connections subscribed for it)', 'idle_own', 'ready', '', '', ''],
];
for (const f of latFigs) {
  const n = f.split('_')[1];
  table.push([`p50 at ${meta.lat_rate || 50} publishes/s, ${n} subscribers`, f, 'latency_p50_us', 'ms', 'low', n === '5000' ? '≤ 30 ms' : '']);
  table.push([`p99 at ${meta.lat_rate || 50} publishes/s, ${n} subscribers`, f, 'latency_p99_us', 'ms', 'low', n === '1000' ? '≤ 5 ms' : n === '5000' ? '≤ 80 ms' : '']);
  table.push([`p50, up to the client socket's receive stamp, ${n} subscribers`, f, 'arrival_p50_us', 'ms', 'low', '']);
  table.push([`p99, up to the client socket's receive stamp, ${n} subscribers`, f, 'arrival_p99_us', 'ms', 'low', '']);
  table.push([`(publishes/s achieved of ${meta.lat_rate || 50} offered)`, f, 'publish_rate', '', '', '']);
}
for (const f of burstFigs) {
  table.push([`burst deliveries per server CPU-second, ${f.split('_')[1]} subscribers`, f, 'deliveries_per_server_cpu_s', '', 'high', f === bigBurst ? 'no worse than 0.9–1.2 M' : '']);
}
table.push(['HTTP publishes/s (20 connections, channel without subscribers)', 'http', 'publishes_per_s', '', 'high', 'no worse than 38.9 k']);
table.push(['HTTP publishes per server CPU-second', 'http', 'publishes_per_server_cpu_s', '', 'high', '']);
// A run of some figures (compare.sh --figures) reports and requires those.
const chosen = meta.figures && meta.figures !== 'all' ? meta.figures.split(',') : null;
const wanted = (fig) => !chosen || (fig && chosen.includes(fig));
for (let i = table.length - 1; i >= 0; i -= 1) if (!wanted(table[i][1])) table.splice(i, 1);

const peers = [...new Set(rows.map((r) => r.peer))].filter((p) => p !== 'floor');
const out = [];
out.push(`# Starling vs Soketi: compare run ${meta.date}`, '');
out.push(`- command: \`${meta.command}\`; commit ${meta.commit}; ${meta.host}`);
out.push(`- peers: ${meta.peers}; repeats: ${meta.repeats}${meta.quick === '1' ? ' (quick mode: small counts, figures are a smoke check only)' : ''}`);
out.push(`- Soketi: ${meta.soketi}`);
out.push(`- load: ${meta.load}; HTTP tool: ${meta.http_tool}`);
out.push(`- ${meta.uptime_start.trim()} (start) / ${(meta.uptime_end || '').trim()} (end); run took ${meta.duration_s} s`);
if (meta.note) out.push(`- note: ${meta.note}`);
out.push(`- Each figure ran on a fresh server; the servers alternated (the order flips every figure and repeat). A value is **contaminated** when the machine was more than ${maxBusy} % busy (of all CPUs) in the 2 s before its figure, with no server running: foreign work on this shared machine. The 1-minute load is listed too, but it still carries the benchmark's own previous figure. The count says how many repeats were contaminated.`);
out.push('');
out.push('## Figures (median, range over repeats)', '');
out.push(`| figure | ${peers.join(' | ')} | ${peers.includes('soketi') && peers.includes('starling') ? 'Starling / Soketi | ' : ''}issue-14 target |`);
out.push(`| --- | ${peers.map(() => '---').join(' | ')} | ${peers.length === 2 ? '--- | ' : ''}--- |`);
for (const [label, fig, metric, unit, better, target] of table) {
  const s = Object.fromEntries(peers.map((p) => [p, summary(values(p, fig, metric))]));
  let ratio = '';
  if (peers.length === 2 && better && s.starling && s.soketi && s.soketi.med > 0) {
    const r = s.starling.med / s.soketi.med;
    const good = better === 'low' ? r < 1 : r > 1;
    ratio = `${r.toFixed(2)} (${good ? 'Starling better' : 'Soketi better'}) | `;
  } else if (peers.length === 2) {
    ratio = ' | ';
  }
  out.push(`| ${label} | ${peers.map((p) => cell(s[p], unit)).join(' | ')} | ${ratio}${target} |`);
}
// Paced = the latency figure furthest below saturation (fewest subscribers):
// with more, the server falls behind and writes queued events in batches.
const pacedLat = latFigs[0];
for (const f of latFigs) {
  const us = Object.fromEntries(peers.map((p) => [p, summary(values(p, f, 'server_us_per_delivery'))]));
  const r = peers.length === 2 && us.starling && us.soketi ? `${(us.starling.med / us.soketi.med).toFixed(2)} | ` : peers.length === 2 ? ' | ' : '';
  out.push(`| server CPU per delivery at ${meta.lat_rate || 50} publishes/s, ${f.split('_')[1]} subscribers | ${peers.map((p) => cell(us[p], 'us')).join(' | ')} | ${r} |`);
}
if (pacedLat) {
  const st = summary(pacedRatios('starling', pacedLat));
  const sk = summary(pacedRatios('soketi', pacedLat));
  const fl = summary(values('floor', 'floor', 'floor_us_per_write'));
  out.push(`| paced CPU per delivery (${pacedLat.split('_')[1]} subscribers) / one-write() floor (floor ${cell(fl, 'us')} per write) | ${peers.map((p) => (p === 'starling' ? cell(st, 'x') : p === 'soketi' ? cell(sk, 'x') : 'n/a')).join(' | ')} | ${peers.length === 2 ? ' | ' : ''}≤ 1.1× (Starling) |`);
}
// Latency over the write-only floor of the same load, per repeat.
for (const f of latFigs) {
  const n = f.split('_')[1];
  for (const [metric, fmetric, what] of [['latency_p50_us', 'lfloor_p50_us', 'p50'],
    ['latency_p99_us', 'lfloor_p99_us', 'p99'], ['arrival_p99_us', 'lfloor_arrival_p99_us', 'p99 up to the socket']]) {
    const fl = values('floor', `paced_floor_${n}`, fmetric);
    if (!fl.length) continue;
    const ratios = (peer) => values(peer, f, metric).map((x) => {
      const y = fl.find((z) => z.repeat === x.repeat);
      return y && y.v > 0 ? { v: x.v / y.v, repeat: x.repeat, dirty: x.dirty || y.dirty } : null;
    }).filter(Boolean);
    out.push(`| ${what}, ${n} subscribers / write-only floor of the same load (floor ${cell(summary(fl), 'ms')}) | ${peers.map((p) => cell(summary(ratios(p)), 'x')).join(' | ')} | ${peers.length === 2 ? ' | ' : ''} |`);
  }
}
out.push('');
out.push('The write-only floor (`starling_latency_floor`) is a process that only write()s each event to each subscriber from one thread per core (all events due in one write when it falls behind), read by one epoll process like the load generator: the latency this machine gives a server that costs nothing. A target below it cannot be met here.');
out.push('');
out.push('Ratios are of the medians. A latency figure is only comparable where both servers kept up with the offered rate (the "achieved" row): the publisher waits for each HTTP answer (4 in flight), so a server that answers only after fanning out slows the publisher, and its percentiles then cover a lower rate. The paced-CPU row uses the smallest latency figure; with more subscribers a loaded server falls behind and batches queued events, which is cheaper per delivery but not paced.');
out.push('');
out.push('The HTTP figure: wrk offers keep-alive to both servers and reconnects when one closes; Soketi 1.6.1 closes the connection after every response, so its figure includes a TCP connect per publish (see the raw wrk outputs for socket errors).');
out.push('');

// --- plots --------------------------------------------------------------------
const gnuplot = spawnSync('gnuplot', ['--version']).status === 0;
const plots = [];
function plot(name, title, xlabel, ylabel, extra, series) {
  const png = `${name}.png`;
  const datas = series.map((s, k) => {
    const f = path.join(dir, 'plots', `${name}.${k}.dat`);
    fs.writeFileSync(f, s.points.map((p) => p.join(' ')).join('\n') + '\n');
    return { f, title: s.title, style: s.style || 'linespoints' };
  });
  const script = [
    `set terminal pngcairo size 900,560 noenhanced`, `set output '${path.join(dir, png)}'`,
    `set title '${title}'`, `set xlabel '${xlabel}'`, `set ylabel '${ylabel}'`, 'set grid', 'set key left top',
    ...extra,
    'plot ' + datas.map((d) => `'${d.f}' using 1:2${d.style === 'yerrorlines' ? ':3:4' : ''} with ${d.style} title '${d.title}'`).join(', '),
  ].join('\n');
  const r = spawnSync('gnuplot', [], { input: script });
  if (r.status === 0) plots.push([title, png]);
  else console.error(`gnuplot failed for ${name}: ${r.stderr}`);
}
if (gnuplot) {
  fs.mkdirSync(path.join(dir, 'plots'), { recursive: true });
  for (const f of latFigs) {
    const series = [];
    for (const p of peers) {
      for (const file of fs.readdirSync(path.join(dir, 'raw')).filter((x) => x.endsWith(`-${p}-${f}.cdf`)).sort()) {
        const pts = fs.readFileSync(path.join(dir, 'raw', file), 'utf8').trim().split('\n')
          .filter(Boolean).map((l) => l.split(' ').map(Number)).filter((x) => x[0] > 0);
        if (pts.length) series.push({ title: `${p} repeat ${file.split('-')[0]}`, points: pts, style: 'lines' });
      }
    }
    if (series.length) {
      plot(`latency_cdf_${f.split('_')[1]}`, `publish-to-deliver latency CDF, ${f.split('_')[1]} subscribers, ${meta.lat_rate || 50} publishes/s`,
           'latency (ms, log scale)', 'fraction of deliveries', ['set logscale x', 'set key right bottom', 'set yrange [0:1.02]'], series);
    }
  }
  const mem = [];
  for (const p of peers) {
    for (const fig of ['idle_shared', 'idle_own']) {
      const byN = {};
      for (const r of rows.filter((x) => x.peer === p && x.figure === fig && x.metric.startsWith('rss_delta_kib@'))) {
        const n = +r.metric.split('@')[1];
        (byN[n] = byN[n] || []).push(+r.value / 1024);
      }
      const pts = Object.keys(byN).map(Number).sort((a, b) => a - b).map((n) => [n, median(byN[n])]);
      if (pts.length) mem.push({ title: `${p}, ${fig === 'idle_shared' ? 'one shared channel' : 'each on its own channel'}`, points: [[0, 0], ...pts] });
    }
  }
  if (mem.length) plot('memory_vs_connections', 'server RSS growth vs idle subscribed connections (median of repeats)', 'connections', 'RSS over the fresh server (MiB)', [], mem);
  const dps = [];
  for (const p of peers) {
    const pts = burstFigs.map((f) => {
      const s = summary(values(p, f, 'deliveries_per_server_cpu_s'));
      return s ? [+f.split('_')[1], s.med, s.min, s.max] : null;
    }).filter(Boolean);
    if (pts.length) dps.push({ title: p, points: pts, style: 'yerrorlines' });
  }
  if (dps.length) plot('deliveries_per_cpu_s', `burst fan-out: deliveries per server CPU-second (median, range)`, 'subscribers', 'deliveries per server CPU-second', ['set logscale y', 'set key right center'], dps);
  out.push('## Plots', '');
  for (const [title, png] of plots) out.push(`![${title}](${png})`, '');
} else {
  out.push('## Plots', '', 'gnuplot is not installed (`STARLING_SETUP_BENCH=1 scripts/setup.sh` installs it): no plots.', '');
}

out.push('## Load around each figure', '');
out.push('| repeat | figure | peer | load before | load after | machine busy before (% of all CPUs ×100) |');
out.push('| --- | --- | --- | --- | --- | --- |');
const seen = new Set();
for (const r of rows) {
  const k = `${r.repeat}/${r.figure}/${r.peer}`;
  if (seen.has(k)) continue;
  seen.add(k);
  const dirty = r.busy > maxBusy ? ' (contaminated)' : '';
  out.push(`| ${r.repeat} | ${r.figure} | ${r.peer} | ${r.loadBefore} | ${r.loadAfter} | ${r.busy}${dirty} |`);
}
const errors = rows.filter((r) => r.metric === 'error');
if (errors.length) {
  out.push('', '## Errors', '');
  for (const e of errors) out.push(`- repeat ${e.repeat}, ${e.figure}, ${e.peer}: ${e.value}`);
}
out.push('', 'Raw loadgen / wrk outputs are in `raw/`, every value in `results.tsv`.');
// Headline figures every peer must have for the run to count as whole.
const missing = [];
for (const p of peers) {
  for (const [fig, metric] of [['idle_shared', 'bytes_per_conn'], ['idle_own', 'bytes_per_conn'],
                               [bigLat, 'latency_p99_us'], [bigBurst, 'deliveries_per_server_cpu_s'],
                               ['http', 'publishes_per_s']]) {
    if (chosen && !wanted(fig)) continue;
    if (!fig || !values(p, fig, metric).length) missing.push(`${p} ${fig} ${metric}`);
  }
}
// The latency floor runs once per repeat and latency figure.
for (const f of latFigs) {
  const fig = `paced_floor_${f.split('_')[1]}`;
  if (peers.includes('starling') && !values('floor', fig, 'lfloor_p99_us').length) missing.push(`floor ${fig} lfloor_p99_us`);
}
if (missing.length) {
  out.push('', '## Missing figures', '');
  for (const m of missing) out.push(`- ${m}`);
}
fs.writeFileSync(path.join(dir, 'report.md'), out.join('\n') + '\n');
console.log(out.slice(0, 30).join('\n'));
if (missing.length || errors.length) {
  console.error(`incomplete run: ${[...missing, ...errors.map((e) => `${e.peer} ${e.figure} ${e.value}`)].join('; ')}`);
  process.exit(3);
}
