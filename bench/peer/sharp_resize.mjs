// A small node server that resizes with sharp (libvips from npm), the peer
// of assetd's delivery route in make bench (bench/delivery.sh): every
// request reads the photo from disk and answers it 400 px wide as WebP,
// what GET /d/... does for an uncached variant.
//   node sharp_resize.mjs PORT IMAGE
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

const [port, image] = process.argv.slice(2);
sharp.cache(false); // every request does the work, as an uncached variant does
createServer(async (req, res) => {
  try {
    const out = await sharp(await readFile(image)).rotate().resize({ width: 400, withoutEnlargement: true })
      .webp({ quality: 80 }).toBuffer();
    res.writeHead(200, { 'Content-Type': 'image/webp', 'Content-Length': out.length });
    res.end(out);
  } catch (e) {
    res.writeHead(500);
    res.end(String(e));
  }
}).listen(Number(port), '127.0.0.1', () => console.log('listening'));
