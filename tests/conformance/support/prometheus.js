// A small, strict parser of the Prometheus text exposition format 0.0.4:
// it throws on anything the format does not allow (a sample before its
// TYPE, a bad label escape, a duplicate series, a counter not ending in
// _total, histogram buckets that are not cumulative or lack +Inf), and
// returns the families with their samples.
'use strict';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// Reads `{a="x",b="y"}` starting at line[i] === '{'; returns [labels, next index].
function readLabels(line, i, where) {
  const labels = {};
  i += 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const key = line.slice(i, eq);
    if (!LABEL.test(key)) throw new Error(`${where}: bad label name '${key}'`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let j = eq + 2, value = '';
    for (;; ++j) {
      if (j >= line.length) throw new Error(`${where}: unterminated label value`);
      const c = line[j];
      if (c === '"') break;
      if (c === '\\') {
        const n = line[++j];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`${where}: bad escape '\\${n}' in a label value`);
      } else value += c;
    }
    if (key in labels) throw new Error(`${where}: label '${key}' twice`);
    labels[key] = value;
    i = j + 1;
    if (line[i] === ',') i += 1;
    else if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after a label`);
  }
  return [labels, i + 1];
}

function familyOf(name, families) {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
    if (base && families.has(base) && families.get(base).type === 'histogram') return base;
  }
  return null;
}

function parse(text) {
  if (!text.endsWith('\n')) throw new Error('the body must end with a line feed');
  const families = new Map();
  const seen = new Set();
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1} '${line}'`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // A plain comment.
      const [, what, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const f = families.get(name) || { name, type: 'untyped', help: null, samples: [] };
      if (what === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples`);
        if (f.typed) throw new Error(`${where}: TYPE twice`);
        f.type = rest; f.typed = true;
        if (rest === 'counter' && !name.endsWith('_total')) throw new Error(`${where}: counter not named *_total`);
      } else {
        if (f.help !== null) throw new Error(`${where}: HELP twice`);
        if (/\\[^\\n]/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        f.help = rest;
      }
      families.set(name, f);
      return;
    }
    if (!line.trim()) throw new Error(`${where}: empty line`);
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: no value`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
    let labels = {}, i = nameEnd;
    if (line[i] === '{') [labels, i] = readLabels(line, i, where);
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length > 2) throw new Error(`${where}: trailing text`);
    const value = parts[0] === '+Inf' ? Infinity : parts[0] === '-Inf' ? -Infinity : Number(parts[0]);
    if (parts[0] === '' || (Number.isNaN(value) && parts[0] !== 'NaN')) throw new Error(`${where}: bad value`);
    const fam = familyOf(name, families);
    if (!fam || !families.get(fam).typed) throw new Error(`${where}: sample before its # TYPE`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`${where}: duplicate series`);
    seen.add(key);
    families.get(fam).samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

// Buckets per label set: `le` ascending, counts cumulative, +Inf == _count.
function checkHistogram(f) {
  const groups = new Map();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) || { buckets: [], count: null, sum: null };
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
    groups.set(key, g);
  }
  for (const [key, g] of groups) {
    if (g.count === null || g.sum === null) throw new Error(`${f.name}${key}: no _count or _sum`);
    const last = g.buckets[g.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < g.buckets.length; ++i) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0])) throw new Error(`${f.name}${key}: le not ascending`);
      if (g.buckets[i][1] < g.buckets[i - 1][1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (last[1] !== g.count) throw new Error(`${f.name}${key}: +Inf bucket ${last[1]} != _count ${g.count}`);
  }
}

/** The value of the series `name` with exactly `labels` (undefined: none). */
function value(families, name, labels = {}) {
  for (const f of families.values())
    for (const s of f.samples)
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))
        return s.value;
  return undefined;
}

module.exports = { parse, value };
