// Prints the table and the ratios of bench/google_client from the two JSON result lines.
//
//   node bench/google_client/node/report.js ours.json theirs.json
'use strict';

const fs = require('node:fs');

const [ours, theirs] = process.argv.slice(2).map(f => JSON.parse(fs.readFileSync(f, 'utf8')));

function row(r) {
  const calls = `${r.token_calls_per_doctor.min}-${r.token_calls_per_doctor.max}`;
  return [
    r.client.padEnd(16),
    String(r.events).padStart(6),
    String(r.failed).padStart(6),
    r.wall_s.toFixed(2).padStart(8),
    r.events_per_s.toFixed(0).padStart(9),
    r.cpu_s.toFixed(2).padStart(7),
    (r.peak_rss_kb / 1024).toFixed(0).padStart(8),
    calls.padStart(12),
  ].join(' ');
}

console.log('client           events failed   wall_s  events/s   cpu_s  rss_MiB  token/doctor');
console.log(row(ours));
console.log(row(theirs));
const ratio = (a, b) => (a / b).toFixed(2);
console.log(`events/s ratio (ours/node): ${ratio(ours.events_per_s, theirs.events_per_s)}` +
            '  (target >= 3)');
console.log(`cpu_s ratio    (ours/node): ${ratio(ours.cpu_s, theirs.cpu_s)}  (target <= 0.25)`);
console.log(`peak RSS ratio (ours/node): ${ratio(ours.peak_rss_kb, theirs.peak_rss_kb)}`);
