'use strict';
// Sanitizer reports of the processes a test starts. gcc 12's ASan runtime
// ignores log_path in a process that has run a CAF actor system (seen here:
// a 77-byte leak in a program that made and ended an actor_system went to
// stderr, the same program without it wrote its log file), and a test may
// pass while its node's exit report is only on that node's stderr. Under
// `make sanitize` (STARLING_SANITIZER_DIR set) every child's stderr that
// holds a report is kept there, where scripts/sanitize.sh finds it.
const fs = require('node:fs');
const path = require('node:path');

const REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

/** When `child` has closed its streams, keeps `text()` if it holds a report. */
function keepSanitizerReports(child, text) {
  const dir = process.env.STARLING_SANITIZER_DIR;
  if (!dir) return;
  child.once('close', () => {
    const out = text();
    if (!REPORT.test(out)) return;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `stderr.${path.basename(child.spawnfile)}.${child.pid}`), out);
  });
}

module.exports = { keepSanitizerReports };
