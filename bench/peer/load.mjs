// Peer under load, as a library in one process (it has no server): CONC
// callers issue REQUESTS cut-outs in all over the given photos, each
// removeBackground() with its default PNG output, the work an HTTP handler
// would do (minus HTTP). One untimed warm-up call first.
//   node load.mjs CONC REQUESTS IMAGE...
// Prints one JSON line: {conc, requests, img_s, p50_s, p95_s, rss_mib}.
import { readFileSync } from 'node:fs';
import { removeBackground } from '@imgly/background-removal-node';

const [conc, requests, ...images] = process.argv.slice(2);
const n = Number(requests), c = Number(conc);
const inputs = images.map((p) => new Blob([readFileSync(p)], { type: p.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
const call = async (i) => (await removeBackground(inputs[i % inputs.length], { model: 'medium' })).arrayBuffer();

await call(0);
let next = 0;
const lat = [];
const t0 = performance.now();
await Promise.all(Array.from({ length: c }, async () => {
  while (next < n) {
    const i = next++;
    const t = performance.now();
    await call(i);
    lat.push((performance.now() - t) / 1000);
  }
}));
const el = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.round(p * (lat.length - 1)))];
console.log(JSON.stringify({ conc: c, requests: n, img_s: n / el, p50_s: pct(0.5), p95_s: pct(0.95),
  rss_mib: Math.round(process.resourceUsage().maxRSS / 1024) }));
