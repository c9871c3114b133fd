// test_console.js — the web console in a real browser: Debian's chromium,
// driven headless by playwright-core (npm, pinned; no browser download),
// against the real server process with the real model.
//
// It does what a person would: pastes a wrong key and then the right one,
// uploads photos with the file picker and by drag-and-drop, sees a refused
// upload's reason, opens an asset, runs every bg_remove mode, reads the
// comparison's pixels (transparent corners), saves a conversion and sees it
// listed, follows a background save to its new asset and back through the
// lineage link, edits custom data (and sees the server's refusal), pages
// with "load more", deletes with a confirmation, works with the keyboard,
// and looks right at 1280×800 and at phone width (no sideways scroll).
// Screenshots of the main states go to $ASSETD_ARTIFACTS (build/artifacts/
// console by default: git-ignored).
//
// Output: "ok NAME" / "FAIL NAME: why" per test, then the harness's
// "RESULT passed=N failed=M skipped=K" line.
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.ASSETD_BIN || path.join(ROOT, 'build/assetd');
const PW = path.resolve(process.env.ASSETD_PLAYWRIGHT || path.join(ROOT, 'deps/playwright/package'));
const CHROMIUM = process.env.ASSETD_CHROMIUM || '/usr/bin/chromium';
const PHOTOS = process.env.ASSETD_TESTDATA || path.join(ROOT, 'deps/testdata');
const ART = process.env.ASSETD_ARTIFACTS || path.join(ROOT, 'build/artifacts/console');
const KEY = 'console-test-key-0123456789abcdef';
const MAX_BODY = 2 * 1024 * 1024;

// A PNG of w×h RGBA pixels from px(x, y) -> [r, g, b, a] (zlib from node).
function makePng(w, h, px) {
  const zlib = require('zlib');
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) Buffer.from(px(x, y)).copy(raw, y * (w * 4 + 1) + 1 + x * 4);
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 6;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let passed = 0, failed = 0, skipped = 0;
const results = [];

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
  }
}

function startServer(dir) {
  return new Promise((resolve, reject) => {
    const log = path.join(dir, 'server.log');
    const out = fs.openSync(log, 'a');
    const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'),
      '--max-body', String(MAX_BODY)], {
      env: { ...process.env, ASSETD_API_KEY: KEY }, stdio: ['ignore', out, out],
    });
    const deadline = Date.now() + 60000;
    const poll = async () => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      const m = /port=(\d+)/.exec(text);
      if (m) {
        const base = 'http://127.0.0.1:' + m[1];
        try {
          const r = await fetch(base + '/healthz');
          if (r.status === 200) return resolve({ child, base, log });
        } catch (_) { /* not yet */ }
      }
      if (child.exitCode !== null) return reject(new Error('server exited: ' + text.slice(-500)));
      if (Date.now() > deadline) return reject(new Error('server did not start'));
      setTimeout(poll, 100);
    };
    poll();
  });
}

async function main() {
  let chromium;
  try {
    ({ chromium } = require(PW));
  } catch (e) {
    console.log('FAIL setup: playwright-core not found at ' + PW + ' (run scripts/setup.sh --test)');
    console.log('RESULT passed=0 failed=1 skipped=0');
    process.exit(1);
  }
  if (!fs.existsSync(CHROMIUM)) {
    console.log('FAIL setup: no chromium at ' + CHROMIUM + ' (run scripts/setup.sh --test)');
    console.log('RESULT passed=0 failed=1 skipped=0');
    process.exit(1);
  }
  fs.mkdirSync(ART, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'assetd-console-'));
  const srv = await startServer(tmp);
  const base = srv.base;
  const apiGet = (p, opts = {}) => fetch(base + p, { ...opts, headers: { Authorization: 'Bearer ' + KEY, ...(opts.headers || {}) } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  const shot = (name) => page.screenshot({ path: path.join(ART, name + '.png'), fullPage: true });
  const text = (sel) => page.locator(sel).innerText();
  const photo = (name) => path.join(PHOTOS, name);
  // The pixels of the image the comparison shows, read back through a
  // canvas: its size, its four corners (RGBA) and the share of opaque pixels.
  const shownCutout = () => page.evaluate(() => {
    const img = document.getElementById('after-img');
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const at = (x, y) => Array.from(g.getImageData(x, y, 1, 1).data);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let opaque = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] >= 250) opaque++; // the subject (the model's 0.998 is 254)
    return { w: c.width, h: c.height, opaque: opaque / (d.length / 4),
      corners: [at(0, 0), at(c.width - 1, 0), at(0, c.height - 1), at(c.width - 1, c.height - 1)] };
  });
  page.setDefaultTimeout(60000);
  let hopperId = null;

  try {
    await test('the console is served at / with its files, a strict CSP and revalidation', async () => {
      const r = await fetch(base + '/');
      check(r.status === 200, 'GET / ' + r.status);
      check((r.headers.get('content-type') || '').startsWith('text/html'), 'type ' + r.headers.get('content-type'));
      const csp = r.headers.get('content-security-policy') || '';
      check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), 'csp ' + csp);
      const html = await r.text();
      check(html.includes('/console/console.js') && !/<script>[^<]/.test(html), 'no inline script');
      const etag = r.headers.get('etag');
      const again = await fetch(base + '/', { headers: { 'If-None-Match': etag } });
      check(again.status === 304, 'If-None-Match gave ' + again.status);
      for (const [p, t] of [['/console/console.js', 'text/javascript'], ['/console/console.css', 'text/css']]) {
        const f = await fetch(base + p);
        check(f.status === 200 && f.headers.get('content-type').startsWith(t), p + ' ' + f.status);
      }
      const missing = await fetch(base + '/console/other.js');
      check(missing.status === 404 && (await missing.json()).error.code === 'not_found', 'unknown file is a JSON 404');
    });

    await test('a wrong key shows the server\'s refusal and keeps the console closed', async () => {
      await page.goto(base + '/');
      await page.getByLabel('API key').fill('not-the-key');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('#key-message').filter({ hasText: 'refused' }).waitFor();
      check(/API key/.test(await text('#key-message')), 'message: ' + await text('#key-message'));
      check(await page.locator('#app').isHidden(), 'app shown with a wrong key');
      check(await page.evaluate(() => sessionStorage.getItem('assetd.key')) === null, 'wrong key kept');
      await shot('01-wrong-key');
    });

    await test('the right key opens the console; it lives in session storage only', async () => {
      await page.getByLabel('API key').fill(KEY);
      await page.getByLabel('API key').press('Enter');
      await page.locator('#app').waitFor({ state: 'visible' });
      check(await page.evaluate(() => sessionStorage.getItem('assetd.key')) === KEY, 'key not in sessionStorage');
      check((await context.cookies()).length === 0, 'a cookie was set');
      check(!page.url().includes(KEY), 'key in the URL');
      check(await page.getByLabel('API key').inputValue() === '', 'key left in the field');
      await page.locator('#asset-list').filter({ hasText: 'No assets yet' }).waitFor();
      // the empty state spans the list, not one thumbnail's column (issue 25)
      const [hw, lw] = await page.evaluate(() => [document.querySelector('#asset-list li.help').getBoundingClientRect().width,
        document.getElementById('asset-list').getBoundingClientRect().width]);
      check(hw > 0.9 * lw, 'empty state ' + hw + ' of ' + lw + ' px');
      // a "signed in" state once the key is accepted
      check(await page.locator('#key-status').isVisible() && /Signed in/.test(await text('#key-status')), 'no signed-in state');
      // a reload keeps the session
      await page.reload();
      await page.locator('#app').waitFor({ state: 'visible' });
    });

    await test('several images upload at once through the file picker, with progress and thumbnails', async () => {
      await page.locator('#file-input').setInputFiles([photo('grace_hopper.jpg'), photo('chelsea.png')]);
      await page.locator('#uploads li .done').nth(1).waitFor();
      const states = await page.locator('#uploads li').allInnerTexts();
      check(states.length === 2 && states.every((s) => /Uploaded/.test(s)), 'states ' + JSON.stringify(states));
      await page.locator('#asset-list button[data-id]').nth(1).waitFor();
      // the thumbnails are real pictures from the preview route
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#asset-list img.thumb'))
        .filter((i) => i.naturalWidth > 0).length === 2);
      const list = await (await apiGet('/api/v1/assets')).json();
      check(list.items.length === 2, 'server has ' + list.items.length);
      hopperId = list.items.find((a) => a.filename === 'grace_hopper.jpg').id;
      const bytes = fs.readFileSync(photo('grace_hopper.jpg'));
      const stored = Buffer.from(await (await apiGet('/api/v1/assets/' + hopperId + '/file')).arrayBuffer());
      check(stored.equals(bytes), 'stored bytes differ');
    });

    await test('a file dropped on the drop zone is uploaded', async () => {
      const b64 = fs.readFileSync(photo('rocket.jpg')).toString('base64');
      const dt = await page.evaluateHandle((data) => {
        const bin = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const t = new DataTransfer();
        t.items.add(new File([bin], 'rocket.jpg', { type: 'image/jpeg' }));
        return t;
      }, b64);
      await page.dispatchEvent('#drop', 'dragover', { dataTransfer: dt });
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
      await page.locator('#uploads li', { hasText: 'rocket.jpg' }).locator('.done').waitFor();
      await page.locator('#asset-list button[title="rocket.jpg"]').waitFor();
    });

    await test('a refused upload shows why: too big (the server\'s 413) and not an image', async () => {
      await page.locator('#file-input').setInputFiles([
        { name: 'huge.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(MAX_BODY + 4096, 7) },
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
      ]);
      const huge = page.locator('#uploads li', { hasText: 'huge.jpg' }).locator('.failed');
      await huge.waitFor();
      const t = await huge.innerText();
      check(/413/.test(t) && /limit|large/i.test(t), 'huge: ' + t);
      const txt = await page.locator('#uploads li', { hasText: 'notes.txt' }).locator('.failed').innerText();
      check(/not an image/.test(txt), 'notes: ' + txt);
      const list = await (await apiGet('/api/v1/assets')).json();
      check(list.items.length === 3, 'refused files were stored: ' + list.items.length);
      await shot('02-uploads');
    });

    await test('opening an asset shows its metadata; get_image shows a cut-out with transparent corners', async () => {
      await page.locator('#asset-list button[title="grace_hopper.jpg"]').click();
      await page.locator('#detail-title', { hasText: 'grace_hopper.jpg' }).waitFor();
      const meta = await text('#meta');
      check(meta.includes(hopperId) && /\d+ × \d+ px/.test(meta), 'meta: ' + meta);
      await page.getByLabel('Show the cut-out (get_image)').check();
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#result').waitFor({ state: 'visible' });
      const status = await text('#bg-status');
      check(/Done in \d+\.\d\d s/.test(status), 'status: ' + status);
      // the pixels of the image the comparison shows
      const px = await shownCutout();
      const asset = await (await apiGet('/api/v1/assets/' + hopperId)).json();
      check(px.w === asset.width && px.h === asset.height, 'size ' + px.w + 'x' + px.h);
      check(px.corners.slice(0, 2).every((c) => c[3] === 0), 'top corners alpha ' + px.corners);
      check(px.opaque > 0.1 && px.opaque < 0.9, 'opaque share ' + px.opaque);
      // the comparison: the slider moves the original's clip
      await page.getByLabel('Before / after').fill('20');
      const clip = await page.locator('#before-clip').evaluate((e) => e.style.clipPath);
      check(/80%/.test(clip), 'clip ' + clip);
      // on screen, the right side shows the checkerboard, not the photo's background
      const shotBuf = await page.locator('.stage').screenshot();
      check(shotBuf.length > 1000, 'stage screenshot');
      const href = await page.locator('#download-cutout').getAttribute('href');
      check(href && href.startsWith('blob:'), 'download href ' + href);
      check(await page.locator('#before-clip').isVisible(), 'the original is not shown beside the cut-out');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-cutout').click()]);
      check(download.suggestedFilename() === 'grace_hopper-cutout.png', 'download name ' + download.suggestedFilename());
      const saved = fs.readFileSync(await download.path());
      check(saved.subarray(1, 4).toString() === 'PNG', 'download is not a PNG');
      await page.getByLabel('Before / after').fill('50');
      await shot('03-cutout-compare');
    });

    await test('save_image as a conversion: it is listed, and the server has it', async () => {
      await page.getByLabel('Save only (save_image)').check();
      await page.getByLabel('A conversion of this asset (add_conversion)').check();
      await page.getByLabel('Conversion name').fill('web_cut');
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#bg-status', { hasText: 'Saved as conversion “web_cut”' }).waitFor();
      await page.locator('#conversions tr[data-name="web_cut"]').waitFor();
      const r = await apiGet('/api/v1/assets/' + hopperId + '/conversions/web_cut');
      check(r.status === 200 && r.headers.get('content-type') === 'image/png', 'conversion ' + r.status);
    });

    await test('a bad conversion name shows the server\'s error naming conversion_name', async () => {
      await page.getByLabel('Conversion name').fill('bad name!');
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#bg-error', { hasText: 'conversion_name' }).waitFor();
      check(/HTTP 400/.test(await text('#bg-error')), await text('#bg-error'));
    });

    await test('public links: the original at 100 px and a conversion open without a key; a changed byte is refused', async () => {
      await page.getByLabel('What the link shows').selectOption('original');
      await page.getByLabel('Width (px, empty: as it is)').fill('100');
      await page.getByLabel('Image type').selectOption('png');
      await page.locator('#link-make').click();
      await page.locator('#link-status', { hasText: /Copied|Copy the link/ }).waitFor();
      const url = await page.locator('#link-url').inputValue();
      check(/^http:\/\/127\.0\.0\.1:\d+\/d\/[A-Za-z0-9_-]{43}\//.test(url), url);
      const r = await fetch(url); // no key
      const b = Buffer.from(await r.arrayBuffer());
      check(r.status === 200 && r.headers.get('content-type') === 'image/png' && b.readUInt32BE(16) === 100,
        'original link: ' + r.status + ' ' + r.headers.get('content-type'));
      const forged = url.replace(/\/d\/(.)/, (m, c) => '/d/' + (c === 'A' ? 'B' : 'A'));
      check((await fetch(forged)).status === 403, 'a changed signature was served');
      await page.getByRole('button', { name: 'Copy a public link to conversion web_cut' }).click();
      await page.waitForFunction(() => document.getElementById('link-url').value.includes('conversion.web_cut'));
      const c = await fetch(await page.locator('#link-url').inputValue());
      check(c.status === 200, 'conversion link ' + c.status);
      await page.getByLabel('Width (px, empty: as it is)').fill('');
      await page.getByLabel('Image type').selectOption('auto');
      await shot('05a-public-link');
    });

    await test('get_image_and_save to a new asset with metadata=inherit: the job is followed, lineage links back', async () => {
      await apiGet('/api/v1/assets/' + hopperId + '/custom_data', {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"sku":"GH-1"}',
      });
      await page.getByLabel('Show and save in the background (get_image_and_save)').check();
      await page.getByLabel('A new asset (add_new_asset)').check();
      await page.getByLabel(/Copy the custom data/).check();
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#job.succeeded').waitFor();
      await shot('04-job-followed');
      await page.locator('#open-new-asset').click();
      await page.locator('#source-link').waitFor();
      const cd = await page.locator('#custom-data').inputValue();
      check(JSON.parse(cd).sku === 'GH-1', 'inherited custom data ' + cd);
      await page.locator('#source-link').click();
      await page.locator('#detail-title', { hasText: 'grace_hopper.jpg' }).waitFor();
      check(await page.locator('#source-link').count() === 0, 'the source has no source');
    });

    await test('get_image_and_save to a conversion: the job ends and the conversion appears', async () => {
      await page.getByLabel('Show and save in the background (get_image_and_save)').check();
      await page.getByLabel('A conversion of this asset (add_conversion)').check();
      await page.getByLabel('Conversion name').fill('bg2');
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#job.succeeded').waitFor();
      await page.locator('#conversions tr[data-name="bg2"]').waitFor();
    });

    await test('custom data is edited as JSON; the server\'s refusal is shown next to the field', async () => {
      await page.getByLabel('Custom data (a JSON object)').fill('{"sku": "GH-2", "tags": ["portrait"]}');
      await page.getByRole('button', { name: 'Save custom data' }).click();
      await page.locator('#custom-status', { hasText: 'Saved' }).waitFor();
      const a = await (await apiGet('/api/v1/assets/' + hopperId)).json();
      check(a.custom_data.sku === 'GH-2' && a.custom_data.tags[0] === 'portrait', JSON.stringify(a.custom_data));
      await page.getByLabel('Custom data (a JSON object)').fill('{"sku": ');
      await page.getByRole('button', { name: 'Save custom data' }).click();
      await page.locator('#custom-error', { hasText: 'custom_data' }).waitFor();
      check(/HTTP 400/.test(await text('#custom-error')), await text('#custom-error'));
      check(await page.getByLabel('Custom data (a JSON object)').getAttribute('aria-invalid') === 'true', 'aria-invalid');
      const b = await (await apiGet('/api/v1/assets/' + hopperId)).json();
      check(b.custom_data.sku === 'GH-2', 'a refused edit changed the data');
      await shot('05-custom-data-error');
    });

    await test('output options: a cropped JPEG on a chosen colour, and a bad margin refused by name', async () => {
      await page.getByLabel('Show the cut-out (get_image)').check();
      await page.locator('#output-options summary').click();
      await page.getByLabel('Format').selectOption('jpg');
      await page.getByLabel('Background colour', { exact: true }).check();
      await page.getByLabel('Background colour value').fill('#00ff00');
      await page.getByLabel('Crop to the subject, margin').check();
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#bg-status', { hasText: 'on the server' }).waitFor();
      await page.locator('#result').waitFor({ state: 'visible' });
      const px = await shownCutout();
      const [r, g, b, a] = px.corners[0];
      check(a === 255 && g > 200 && r < 60 && b < 60, 'corner ' + px.corners[0]);
      check(px.w < 512 && px.h <= 600, 'not cropped: ' + px.w + 'x' + px.h);
      check(/subject \d+ × \d+ px/.test(await text('#result-info')), await text('#result-info'));
      // cropped: shown alone, not against a misaligned original
      check(await page.locator('#before-clip').isHidden() && /shown alone/.test(await text('#compare-caption')), 'compare');
      check(await page.locator('#download-cutout').innerText() === 'Download JPEG', 'download label');
      await shot('05b-options-jpeg-green');
      await page.getByLabel('Crop margin (pixels or %, 1 to 4 values)').fill('10em');
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#bg-error', { hasText: 'crop_margin' }).waitFor();
      // back to the defaults for the tests after
      await page.getByLabel('Crop margin (pixels or %, 1 to 4 values)').fill('0');
      await page.getByLabel('Crop to the subject, margin').uncheck();
      await page.getByLabel('Background colour', { exact: true }).uncheck();
      await page.getByLabel('Format').selectOption('png');
    });

    await test('deleting a conversion asks first; cancel keeps it, confirm removes it', async () => {
      await page.getByRole('button', { name: 'Delete conversion web_cut' }).click();
      await page.locator('#confirm').waitFor({ state: 'visible' });
      await shot('06-confirm');
      await page.getByRole('button', { name: 'Cancel' }).click();
      check((await apiGet('/api/v1/assets/' + hopperId + '/conversions/web_cut')).status === 200, 'cancel deleted it');
      await page.getByRole('button', { name: 'Delete conversion web_cut' }).click();
      await page.getByRole('button', { name: 'Delete conversion', exact: true }).click();
      await page.locator('#conversions tr[data-name="web_cut"]').waitFor({ state: 'detached' });
      check((await apiGet('/api/v1/assets/' + hopperId + '/conversions/web_cut')).status === 404, 'still on the server');
    });

    await test('deleting an asset asks first, then removes it from the list and the server', async () => {
      await page.locator('#asset-list button[title="chelsea.png"]').click();
      await page.locator('#detail-title', { hasText: 'chelsea.png' }).waitFor();
      const id = await page.locator('#asset-list button[title="chelsea.png"]').getAttribute('data-id');
      await page.getByRole('button', { name: 'Delete asset…' }).click();
      await page.getByRole('button', { name: 'Delete asset', exact: true }).click();
      await page.locator('#asset-list button[title="chelsea.png"]').waitFor({ state: 'detached' });
      check((await apiGet('/api/v1/assets/' + id)).status === 404, 'asset still on the server');
      check(/was deleted/.test(await text('#detail-empty')), await text('#detail-empty'));
    });

    await test('"load more" pages through the assets with the cursor', async () => {
      const small = fs.readFileSync(photo('grace_hopper.jpg'));
      for (let i = 0; i < 26; i++) {
        const r = await apiGet('/api/v1/assets?filename=page-' + i + '.jpg', {
          method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: small,
        });
        check(r.status === 201, 'upload ' + r.status);
      }
      const total = (await (await apiGet('/api/v1/assets?limit=100')).json()).items.length;
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.locator('#asset-list button[data-id]').nth(23).waitFor();
      check(await page.locator('#asset-list button[data-id]').count() === 24, 'first page');
      check(await page.getByRole('button', { name: 'Load more' }).isVisible(), 'no load more');
      await page.getByRole('button', { name: 'Load more' }).click();
      await page.locator('#asset-list button[data-id]').nth(total - 1).waitFor();
      check(await page.locator('#asset-list button[data-id]').count() === total, 'all listed');
      check(await page.getByRole('button', { name: 'Load more' }).isHidden(), 'load more still shown');
      const first = await page.locator('#asset-list button[data-id] .fname').first().innerText();
      check(first === 'page-25.jpg', 'newest first: ' + first);
    });

    await test('keyboard only: reach an asset with Tab, open it with Enter, run a cut-out with Enter', async () => {
      await page.reload();
      await page.locator('#asset-list button[data-id]').first().waitFor();
      let reached = false;
      for (let i = 0; i < 40 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement && document.activeElement.matches('#asset-list button[data-id]'));
      }
      check(reached, 'Tab never reached an asset');
      await page.keyboard.press('Enter');
      await page.locator('#detail-body').waitFor({ state: 'visible' });
      check(await page.evaluate(() => document.activeElement.id) === 'detail', 'focus did not move to the asset');
      await page.getByLabel('Show the cut-out (get_image)').focus();
      await page.keyboard.press('Space');
      await page.getByRole('button', { name: 'Remove background' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#bg-status', { hasText: 'Done in' }).waitFor();
    });

    await test('every control has a name for screen readers', async () => {
      const unnamed = await page.evaluate(() => {
        const out = [];
        for (const e of document.querySelectorAll('button, input, textarea, select, a[href]')) {
          if (e.type === 'hidden') continue;
          const labelled = (e.labels && e.labels.length) || e.getAttribute('aria-label') ||
            e.getAttribute('aria-labelledby') || (e.textContent || '').trim() || e.getAttribute('title');
          if (!labelled) out.push(e.outerHTML.slice(0, 80));
        }
        for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) out.push(img.outerHTML.slice(0, 80));
        return out;
      });
      check(unnamed.length === 0, 'unnamed: ' + unnamed.join(' | '));
      check(await page.locator('[role="alert"]').count() >= 4, 'error regions are not announced');
    });

    await test('layout: 1280×800 and phone width, no sideways scrolling', async () => {
      await page.locator('#asset-list button[data-id]').first().click();
      await page.getByLabel('Show the cut-out (get_image)').check();
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#result').waitFor({ state: 'visible' });
      for (const [w, h, name] of [[1280, 800, '07-desktop-1280x800'], [390, 844, '08-phone-390x844']]) {
        await page.setViewportSize({ width: w, height: h });
        await page.waitForTimeout(200);
        const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        check(over <= 0, w + 'px: ' + over + 'px of sideways scroll');
        const stage = await page.locator('.stage').boundingBox();
        check(stage && stage.x >= 0 && stage.x + stage.width <= w && stage.width > Math.min(300, w * 0.5), w + 'px: comparison ' + JSON.stringify(stage));
        await page.screenshot({ path: path.join(ART, name + '.png') });
        await shot(name + '-full');
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    await test('a new user can tell things apart (issue 25): opaque thumbnails, names, ids, divider, labels, rows', async () => {
      // an image with transparency keeps the checkerboard; opaque photos lose it
      const clear = makePng(64, 48, (x) => (x < 32 ? [200, 30, 30, 255] : [0, 0, 0, 0]));
      await page.locator('#file-input').setInputFiles([
        { name: 'half-clear.png', mimeType: 'image/png', buffer: clear },
        { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: fs.readFileSync(photo('grace_hopper.jpg')) },
        { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: fs.readFileSync(photo('rocket.jpg')) },
      ]);
      await page.locator('#uploads li', { hasText: 'half-clear.png' }).locator('.done').waitFor();
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#asset-list img.thumb'))
        .every((i) => i.complete && i.naturalWidth > 0));
      await page.waitForTimeout(100);
      const thumbs = await page.evaluate(() => Array.from(document.querySelectorAll('#asset-list button[data-id]')).map((b) => ({
        name: b.title, opaque: b.querySelector('.thumb').classList.contains('opaque'),
        meta: (b.querySelector('.fmeta') || {}).textContent || '' })));
      const byName = (n) => thumbs.filter((t) => t.name === n);
      check(byName('half-clear.png').every((t) => !t.opaque), 'transparent thumbnail lost its checkerboard');
      const same = byName('photo.jpg');
      check(same.length === 2 && same.every((t) => t.opaque), 'opaque thumbnails: ' + JSON.stringify(same));
      // the same name twice: each card says when and how big, so they differ
      check(thumbs.every((t) => /\d:\d\d/.test(t.meta) && /\d+(\.\d+)? (B|KiB|MiB)/.test(t.meta)), 'card meta ' + JSON.stringify(same));
      check(same.length === 2 && same[0].meta !== same[1].meta, 'two photo.jpg cards read the same: ' + JSON.stringify(same));
      // finished upload rows can be cleared
      await page.getByRole('button', { name: 'Clear finished uploads' }).click();
      check(await page.locator('#uploads li').count() === 0 && await page.locator('#uploads-clear').isHidden(), 'rows left');
      // the id is one line, at both widths
      await page.locator('#asset-list button[title="half-clear.png"]').click();
      for (const w of [1280, 390]) {
        await page.setViewportSize({ width: w, height: 844 });
        await page.waitForTimeout(100);
        const [h, fs_] = await page.locator('#meta dd.id code').evaluate((c) => [c.getBoundingClientRect().height, parseFloat(getComputedStyle(c).fontSize)]);
        check(h < 2 * fs_, w + 'px: the id wraps (' + h + ' px high at ' + fs_ + ' px type)');
      }
      await page.setViewportSize({ width: 1280, height: 800 });
      // the Format dropdown's labels fit its box
      const fits = await page.evaluate(() => {
        document.getElementById('output-options').open = true;
        const sel = document.getElementById('opt-format');
        const g = document.createElement('canvas').getContext('2d');
        g.font = getComputedStyle(sel).font;
        return Array.from(sel.options).map((o) => [o.text, g.measureText(o.text).width, sel.clientWidth]);
      });
      check(fits.every(([, tw, sw]) => tw + 24 <= sw), 'format labels: ' + JSON.stringify(fits));
      // the before/after divider sits on the picture where the handle is
      await page.locator('#asset-list button[title="photo.jpg"]').first().click();
      await page.getByLabel('Show the cut-out (get_image)').check();
      await page.getByRole('button', { name: 'Remove background' }).click();
      await page.locator('#result').waitFor({ state: 'visible' });
      await page.getByLabel('Before / after').fill('30');
      const [stage, div] = await Promise.all([page.locator('.stage').boundingBox(), page.locator('#compare-divider').boundingBox()]);
      check(div && Math.abs(div.x + div.width / 2 - (stage.x + 0.3 * stage.width)) < 3 && div.height > 0.9 * stage.height,
        'divider ' + JSON.stringify(div) + ' on ' + JSON.stringify(stage));
      await shot('09-papercuts');
    });

    await test('a read key (issue 30): it sees the library, is told its scope and is not offered changes', async () => {
      const readKey = execFileSync(BIN, ['keys', 'create', '--scope', 'read', '--data-dir', path.join(tmp, 'data')],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      await page.evaluate((k) => sessionStorage.setItem('assetd.key', k), readKey);
      await page.reload();
      await page.locator('#key-status', { hasText: 'scope read' }).waitFor();
      await page.locator('#asset-list button[data-id]').first().waitFor();
      check(await page.locator('.upload').isHidden(), 'the upload zone is offered to a read key');
      await page.locator('#asset-list button[data-id]').first().click();
      await page.locator('#detail-body').waitFor();
      check(await page.locator('#delete-asset').isHidden() && await page.locator('#custom-save').isHidden(),
        'delete or custom-data save offered to a read key');
      check(await page.getByLabel('Save only (save_image)').isHidden(), 'save modes offered to a read key');
      await shot('09-read-key');
      // back to the suite's key
      await page.evaluate((k) => sessionStorage.setItem('assetd.key', k), KEY);
      await page.reload();
      await page.locator('#key-status', { hasText: 'scope admin' }).waitFor();
    });

    await test('a key revoked while the console is open signs it out with the reason', async () => {
      await page.evaluate(() => sessionStorage.setItem('assetd.key', 'revoked-key'));
      await page.reload();
      await page.locator('#key-message', { hasText: 'refused' }).waitFor();
      check(await page.locator('#app').isHidden(), 'app still shown');
    });

    await test('no script errors in the page', async () => {
      // 401s and the deliberate 4xx are network answers, not script errors
      const real = pageErrors.filter((m) => !/Failed to load resource/.test(m));
      check(real.length === 0, real.join(' | '));
    });
  } finally {
    await browser.close();
    srv.child.kill('SIGTERM');
    await new Promise((r) => (srv.child.exitCode !== null ? r() : srv.child.on('exit', r)));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('screenshots in ' + ART);
  console.log('RESULT passed=' + passed + ' failed=' + failed + ' skipped=' + skipped);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log('FAIL harness: ' + (e && e.stack ? e.stack : e));
  console.log('RESULT passed=' + passed + ' failed=' + (failed + 1) + ' skipped=' + skipped);
  process.exit(1);
});
