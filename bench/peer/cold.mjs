// Peer cold start: one fresh process, one cut-out, written to disk; the
// caller times the whole process (start to exit), as it does `assetd remove`.
//   node cold.mjs IMAGE OUT.png
import { readFileSync, writeFileSync } from 'node:fs';
import { removeBackground } from '@imgly/background-removal-node';

const [img, out] = process.argv.slice(2);
const type = img.endsWith('.png') ? 'image/png' : 'image/jpeg';
const blob = await removeBackground(new Blob([readFileSync(img)], { type }), { model: 'medium' });
writeFileSync(out, Buffer.from(await blob.arrayBuffer()));
console.log(JSON.stringify({ rss_mib: Math.round(process.resourceUsage().maxRSS / 1024) }));
