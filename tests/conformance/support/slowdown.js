'use strict';
// The one knob for slow builds: STARLING_TEST_SLOWDOWN=<factor>
// (scripts/sanitize.sh sets 3 for the ASan+UBSan build). The shared helpers
// multiply every timeout by it (waits, polls, admin requests, node start and
// stop), and the few tests that assert a time bound directly scale it with
// `scaled`. Memory assertions are skipped when it is set (`slow`): ASan's
// allocator, shadow memory and quarantine make RSS meaningless. Unset (or 1),
// every bound is exactly as written.

const SLOWDOWN = Math.max(1, Number(process.env.STARLING_TEST_SLOWDOWN) || 1);

/** `ms` times the slowdown factor (unchanged when the knob is unset). */
const scaled = (ms) => ms * SLOWDOWN;

module.exports = { SLOWDOWN, slow: SLOWDOWN > 1, scaled };
