// test_client.js — the npm client remove.bg 1.3.0, unmodified, against a
// real assetd (tests/api/test_removebg.c starts the server and runs this
// with `node -r ./redirect.js`, which points the library's one hard-coded
// URL at the server). One line per check: "ok NAME" or "FAIL NAME: why".
'use strict';
const fs = require('fs');
const path = require('path');
const rb = require('remove.bg');

const key = process.env.ASSETD_API_KEY;
const photo = process.env.ASSETD_PHOTO; // a 512x600 JPEG
const photoUrl = process.env.ASSETD_PHOTO_URL; // the same photo served over HTTP
const out = process.env.ASSETD_OUT_DIR;

function pngSize(buf) {
  if (buf.length < 24 || buf.readUInt32BE(0) !== 0x89504e47) return null;
  return {w: buf.readUInt32BE(16), h: buf.readUInt32BE(20), colour: buf[25]};
}
const isJpeg = (buf) => buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;

async function check(name, fn) {
  try {
    const why = await fn();
    console.log(why ? `FAIL ${name}: ${why}` : `ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: threw ${JSON.stringify(e && e.message ? e.message : e)}`);
  }
}

async function refused(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return e;
  }
}

(async () => {
  // a file, remove.bg's default size (preview: 0.25 MP), PNG with alpha
  await check('file_preview_png', async () => {
    const r = await rb.removeBackgroundFromImageFile({path: photo, apiKey: key, outputFile: path.join(out, 'a.png')});
    const buf = Buffer.from(r.base64img, 'base64');
    const s = pngSize(buf);
    if (!s || s.colour !== 6) return 'not an RGBA PNG';
    if (s.w * s.h > 250000 || s.w * s.h < 200000) return `size ${s.w}x${s.h} is not about 0.25 MP`;
    if (String(r.resultWidth) !== String(s.w) || String(r.resultHeight) !== String(s.h)) return 'X-Width/X-Height';
    if (String(r.creditsCharged) !== '0') return `credits ${r.creditsCharged}`;
    if (r.detectedType !== 'other') return `type ${r.detectedType}`;
    if (!fs.readFileSync(path.join(out, 'a.png')).equals(buf)) return 'outputFile differs';
    return null;
  });
  // base64, full size, the mask alone, and a type
  await check('base64_full_alpha_type', async () => {
    const b64 = fs.readFileSync(photo).toString('base64');
    const r = await rb.removeBackgroundFromImageBase64({base64img: b64, apiKey: key, size: 'full',
                                                        channels: 'alpha', type: 'product'});
    const s = pngSize(Buffer.from(r.base64img, 'base64'));
    if (!s || s.colour !== 0) return 'not a grey PNG';
    if (s.w !== 512 || s.h !== 600) return `size ${s.w}x${s.h}, not the original 512x600`;
    if (r.detectedType !== 'product') return `type ${r.detectedType}`;
    return null;
  });
  // a URL the server fetches, medium (1.5 MP: the photo is smaller, kept)
  await check('url_medium', async () => {
    const r = await rb.removeBackgroundFromImageUrl({url: photoUrl, apiKey: key, size: 'medium'});
    const s = pngSize(Buffer.from(r.base64img, 'base64'));
    if (!s || s.w !== 512 || s.h !== 600) return `size ${s && s.w}x${s && s.h}`;
    return null;
  });
  // crop, then crop with a margin: the margin makes it larger
  await check('crop_and_margin', async () => {
    const a = await rb.removeBackgroundFromImageFile({path: photo, apiKey: key, size: 'full', crop: true});
    const b = await rb.removeBackgroundFromImageFile({path: photo, apiKey: key, size: 'full', crop: true,
                                                      crop_margin: '10%'});
    const sa = pngSize(Buffer.from(a.base64img, 'base64')), sb = pngSize(Buffer.from(b.base64img, 'base64'));
    if (!sa || !sb) return 'not PNGs';
    if (!(sa.w < 512 || sa.h < 600)) return `crop kept ${sa.w}x${sa.h}`;
    if (!(sb.w > sa.w && sb.h > sa.h)) return `margin ${sb.w}x${sb.h} not larger than ${sa.w}x${sa.h}`;
    return null;
  });
  // an opaque colour: format auto answers a JPEG
  await check('bg_color_auto_jpeg', async () => {
    const r = await rb.removeBackgroundFromImageFile({path: photo, apiKey: key, bg_color: 'ffffff'});
    if (!isJpeg(Buffer.from(r.base64img, 'base64'))) return 'not a JPEG';
    return null;
  });
  await check('wrong_key', async () => {
    const e = await refused(() => rb.removeBackgroundFromImageFile({path: photo, apiKey: 'not-a-key-0123456789'}));
    if (!Array.isArray(e) || e[0].code !== 'auth_failed' || !e[0].title || !e[0].detail)
      return `rejected with ${JSON.stringify(e)}`;
    return null;
  });
  await check('invalid_option', async () => {
    const e = await refused(() => rb.removeBackgroundFromImageFile({path: photo, apiKey: key, size: 'huge'}));
    if (!Array.isArray(e) || e[0].code !== 'invalid_parameter' || !/size/.test(e[0].detail))
      return `rejected with ${JSON.stringify(e)}`;
    return null;
  });
  await check('unsupported_option_refused', async () => {
    const e = await refused(() => rb.removeBackgroundFromImageFile({path: photo, apiKey: key, add_shadow: true}));
    if (!Array.isArray(e) || !/add_shadow/.test(e[0].detail)) return `rejected with ${JSON.stringify(e)}`;
    return null;
  });
})();
