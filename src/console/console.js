// assetd console — plain JavaScript, no framework, no build step.
//
// Every call goes to this server's API with the key the person pasted,
// kept in sessionStorage (gone when the tab closes; never in a URL or a
// cookie). Images are fetched with the key and shown through blob: URLs.
// Text from the server is only ever put in the page as text (textContent),
// never as HTML.
'use strict';

(() => {
  const KEY_STORAGE = 'assetd.key';
  const PAGE_SIZE = 24;
  const THUMB_SIZE = 256;
  const JOB_POLL_MS = 600;

  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem(KEY_STORAGE) || '';
  let nextCursor = null;
  let current = null;          // the open asset's JSON
  let originalURL = null;      // blob: URL of the open asset's file
  let cutoutURL = null;        // blob: URL of the last cut-out
  let jobTimer = null;
  const thumbURLs = new Map(); // asset id -> blob: URL

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, param, message) {
      super(message);
      this.status = status;
      this.code = code;
      this.param = param;
    }
    // "message (param: x, HTTP 400)"
    describe() {
      const bits = [];
      if (this.param) bits.push('parameter: ' + this.param);
      if (this.status) bits.push('HTTP ' + this.status);
      return this.message + (bits.length ? ' (' + bits.join(', ') + ')' : '');
    }
  }

  // The spec's error shape, or a sentence for anything else.
  async function errorFrom(status, text) {
    try {
      const e = JSON.parse(text).error;
      if (e && e.message) return new ApiError(status, e.code, e.param, e.message);
    } catch (_) { /* not JSON */ }
    return new ApiError(status, 'http_' + status, null, 'the server answered HTTP ' + status);
  }

  // fetch with the key; a refused key signs the console out. Resolves to
  // the Response when it is 2xx/304, else throws an ApiError.
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('Authorization', 'Bearer ' + key);
    let res;
    try {
      res = await fetch(path, { ...options, headers, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', null, 'the server could not be reached (' + e.message + ')');
    }
    if (res.ok) return res;
    const err = await errorFrom(res.status, await res.text());
    if (res.status === 401) signOut('The server refused this key: ' + err.message);
    throw err;
  }

  const apiJSON = async (path, options) => (await api(path, options)).json();
  const assetPath = (id) => '/api/v1/assets/' + encodeURIComponent(id);

  // ---------------------------------------------------------------- helpers

  function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB'];
    let v = n, i = -1;
    do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
    return v.toFixed(v < 10 ? 1 : 0) + ' ' + units[i];
  }

  const when = (iso) => new Date(iso).toLocaleString();

  function setMessage(id, text) { $(id).textContent = text || ''; }

  function swapURL(old, blob) {
    if (old) URL.revokeObjectURL(old);
    return blob ? URL.createObjectURL(blob) : null;
  }

  // Save a blob under a name (a temporary link; the blob URL is freed after).
  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function baseName(filename) {
    const dot = filename.lastIndexOf('.');
    return dot > 0 ? filename.slice(0, dot) : filename;
  }

  // A modal question; resolves true when confirmed.
  function confirmDialog(text, action) {
    const d = $('confirm');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = action;
    d.returnValue = '';
    return new Promise((resolve) => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
      d.showModal();
      $('confirm-cancel').focus();
    });
  }

  // ---------------------------------------------------------------- the key

  function signOut(message) {
    key = '';
    sessionStorage.removeItem(KEY_STORAGE);
    $('app').hidden = true;
    $('intro').hidden = false;
    $('key-forget').hidden = true;
    $('key-status').hidden = true;
    setMessage('key-message', message);
    $('key-input').focus();
  }

  // Check a key with the cheapest authenticated call before keeping it.
  async function useKey(candidate) {
    setMessage('key-message', '');
    if (!candidate) {
      setMessage('key-message', 'Paste an API key first.');
      return;
    }
    key = candidate;
    let res;
    try {
      res = await api('/api/v1/assets?limit=1');
    } catch (e) {
      if (e.status !== 401) signOut('Could not check the key: ' + e.describe());
      return;
    }
    // what the key may do: a read key sees, and is not offered what it cannot do
    const scope = res.headers.get('X-Key-Scope') || 'admin';
    document.body.dataset.scope = scope;
    sessionStorage.setItem(KEY_STORAGE, key);
    $('key-input').value = '';
    $('key-forget').hidden = false;
    $('key-status').textContent = 'Signed in: the server accepted this key (…' + key.slice(-4) + ', scope ' + scope +
      (scope === 'read' ? ': it can look, not change' : '') + '). Paste another to switch.';
    $('key-status').hidden = false;
    $('intro').hidden = true;
    $('app').hidden = false;
    loadAssets(true);
  }

  // ---------------------------------------------------------------- upload

  const looksLikeImage = (f) => f.type ? f.type.startsWith('image/') : /\.(jpe?g|png|webp|gif|tiff?|heic|avif)$/i.test(f.name);

  function uploadOne(file) {
    const progress = el('progress', { max: '100', value: '0', 'aria-label': 'Upload of ' + file.name });
    const state = el('span', { class: 'state', text: 'waiting…' });
    const item = el('li', {}, el('span', { class: 'name', text: file.name, title: file.name }), progress, state);
    $('uploads').prepend(item);
    $('uploads-clear').hidden = false;
    if (!looksLikeImage(file)) {
      progress.remove();
      state.className = 'state failed';
      state.textContent = 'Refused: not an image (' + (file.type || 'unknown type') + '); the console uploads images.';
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // XMLHttpRequest: fetch cannot report upload progress
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/assets?filename=' + encodeURIComponent(file.name));
      xhr.setRequestHeader('Authorization', 'Bearer ' + key);
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable) progress.value = Math.round((100 * ev.loaded) / ev.total);
        state.textContent = 'uploading ' + progress.value + '%';
      };
      xhr.onload = async () => {
        if (xhr.status === 201) {
          progress.value = 100;
          const asset = JSON.parse(xhr.responseText);
          state.className = 'state done';
          state.textContent = 'Uploaded. ';
          state.append(el('button', { type: 'button', class: 'linklike', text: 'Open', onclick: () => openAsset(asset.id, true) }));
          addAssetCard(asset, true);
          if (!current) openAsset(asset.id, false);
        } else {
          const err = await errorFrom(xhr.status, xhr.responseText);
          progress.remove();
          state.className = 'state failed';
          state.textContent = 'Refused: ' + err.describe();
          if (xhr.status === 401) signOut('The server refused this key: ' + err.message);
        }
        resolve();
      };
      xhr.onerror = () => {
        progress.remove();
        state.className = 'state failed';
        state.textContent = 'Failed: the connection was closed before the server answered.';
        resolve();
      };
      state.textContent = 'uploading…';
      xhr.send(file);
    });
  }

  // Three at a time: enough to fill the line, few enough to show progress.
  async function uploadAll(files) {
    const queue = Array.from(files);
    const worker = async () => { while (queue.length) await uploadOne(queue.shift()); };
    await Promise.all([worker(), worker(), worker()]);
  }

  // ---------------------------------------------------------------- list

  const thumbQueue = [];
  let thumbsRunning = 0;

  function loadThumb(asset, img) {
    thumbQueue.push([asset, img]);
    pumpThumbs();
  }

  function pumpThumbs() {
    while (thumbsRunning < 4 && thumbQueue.length) {
      const [asset, img] = thumbQueue.shift();
      thumbsRunning++;
      api(assetPath(asset.id) + '/preview?size=' + THUMB_SIZE)
        .then((r) => r.blob())
        .then((b) => {
          const url = swapURL(thumbURLs.get(asset.id), b);
          thumbURLs.set(asset.id, url);
          img.onload = () => { if (!hasTransparency(img)) img.classList.add('opaque'); };
          img.src = url;
        })
        .catch(() => { img.replaceWith(el('span', { class: 'thumb none', text: 'no preview' })); })
        .finally(() => { thumbsRunning--; pumpThumbs(); });
    }
  }

  // Does a loaded picture have any pixel that is not fully opaque? (read
  // back small through a canvas; a blob: URL is same-origin)
  function hasTransparency(img) {
    try {
      const c = document.createElement('canvas');
      const w = (c.width = Math.min(64, img.naturalWidth)), h = (c.height = Math.min(64, img.naturalHeight));
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0, w, h);
      const d = g.getImageData(0, 0, w, h).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] < 255) return true;
      return false;
    } catch (_) {
      return true;
    }
  }

  // "06:05:53" today, "Dec 6, 06:05" before
  function shortWhen(iso) {
    const d = new Date(iso);
    const today = d.toDateString() === new Date().toDateString();
    return today ? d.toLocaleTimeString(undefined, { hour12: false })
      : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  }

  function addAssetCard(asset, atTop) {
    const list = $('asset-list');
    const empty = list.querySelector('li.help');
    if (empty) empty.remove();
    const old = list.querySelector('[data-id="' + asset.id + '"]');
    if (old) old.closest('li').remove();
    const thumb = asset.width
      ? el('img', { class: 'thumb', alt: '', width: '96', height: '96' })
      : el('span', { class: 'thumb none', text: asset.content_type });
    const button = el('button', {
      type: 'button', 'data-id': asset.id, title: asset.filename,
      'aria-current': current && current.id === asset.id ? 'true' : 'false',
      onclick: () => openAsset(asset.id, true),
    }, thumb, el('span', { class: 'fname', text: asset.filename }),
    // the same name twice is told apart by when and how big
    el('span', { class: 'fmeta', text: bytes(asset.size) + ' · ' + shortWhen(asset.created_at) }));
    const li = el('li', {}, button);
    if (atTop) list.prepend(li); else list.append(li);
    if (asset.width) loadThumb(asset, thumb);
  }

  async function loadAssets(reset) {
    setMessage('assets-message', '');
    if (reset) {
      nextCursor = null;
      $('asset-list').textContent = '';
    }
    let page;
    try {
      let path = '/api/v1/assets?limit=' + PAGE_SIZE;
      if (nextCursor) path += '&cursor=' + encodeURIComponent(nextCursor);
      page = await apiJSON(path);
    } catch (e) {
      setMessage('assets-message', 'Could not list the assets: ' + e.describe());
      return;
    }
    for (const a of page.items) addAssetCard(a, false);
    nextCursor = page.next_cursor;
    $('load-more').hidden = !nextCursor;
    if (!page.items.length && reset)
      $('asset-list').append(el('li', { class: 'help', text: 'No assets yet: upload an image above.' }));
  }

  // ---------------------------------------------------------------- detail

  function markCurrent() {
    for (const b of $('asset-list').querySelectorAll('button[data-id]'))
      b.setAttribute('aria-current', current && b.dataset.id === current.id ? 'true' : 'false');
  }

  function renderMeta(a) {
    const meta = $('meta');
    meta.textContent = '';
    const row = (name, value, cls) => meta.append(el('dt', { text: name }), el('dd', cls ? { class: cls } : {}, value));
    row('ID', el('code', { text: a.id }), 'id');
    row('File name', a.filename);
    row('Type', a.content_type);
    row('Size', bytes(a.size));
    row('Dimensions', a.width ? a.width + ' × ' + a.height + ' px' : 'not an image');
    row('Created', when(a.created_at));
    row('SHA-256', el('code', { text: a.sha256 }));
    if (a.source_asset_id) {
      row('Made from', el('button', {
        type: 'button', class: 'linklike', id: 'source-link', text: 'source asset ' + a.source_asset_id.slice(0, 8) + '…',
        'aria-label': 'Open the source asset ' + a.source_asset_id,
        onclick: () => openAsset(a.source_asset_id, true),
      }));
    } else {
      row('Made from', 'an upload');
    }
  }

  function renderConversions(a) {
    const table = $('conversions');
    const body = table.tBodies[0];
    body.textContent = '';
    $('no-conversions').hidden = a.conversions.length > 0;
    table.hidden = a.conversions.length === 0;
    for (const c of a.conversions) {
      const path = assetPath(a.id) + '/conversions/' + encodeURIComponent(c.name);
      const view = el('button', {
        type: 'button', text: 'View', 'aria-label': 'View conversion ' + c.name,
        onclick: async () => {
          try { showResult(await (await api(path)).blob(), null, 'conversion ' + c.name); }
          catch (e) { setMessage('detail-message', 'Could not load the conversion: ' + e.describe()); }
        },
      });
      const dl = el('button', {
        type: 'button', text: 'Download', 'aria-label': 'Download conversion ' + c.name,
        onclick: async () => {
          try {
            const b = await (await api(path)).blob();
            saveBlob(b, baseName(a.filename) + '-' + c.name + ({ 'image/webp': '.webp', 'image/jpeg': '.jpg' }[b.type] || '.png'));
          }
          catch (e) { setMessage('detail-message', 'Could not download: ' + e.describe()); }
        },
      });
      const del = el('button', {
        type: 'button', class: 'danger', text: 'Delete…', 'aria-label': 'Delete conversion ' + c.name,
        onclick: async () => {
          if (!(await confirmDialog('Delete the conversion “' + c.name + '” of ' + a.filename + '?', 'Delete conversion'))) return;
          try {
            await api(path, { method: 'DELETE' });
            await refreshCurrent();
            $('bg-status').textContent = 'Conversion “' + c.name + '” deleted.';
          } catch (e) { setMessage('detail-message', 'Could not delete: ' + e.describe()); }
        },
      });
      const link = el('button', {
        type: 'button', text: 'Copy link', 'aria-label': 'Copy a public link to conversion ' + c.name,
        onclick: () => { $('link-of').value = 'conversion/' + c.name; makeLink('conversion/' + c.name); },
      });
      body.append(el('tr', { 'data-name': c.name },
        el('td', {}, el('code', { text: c.name })), el('td', { text: c.content_type }),
        el('td', { text: bytes(c.size) }), el('td', { text: when(c.created_at) }),
        el('td', {}, view, ' ', dl, ' ', link, ' ', del)));
    }
  }

  // The options of a public link (POST .../delivery_urls): the size and
  // format asked for; for the cut-out, the output options of the form
  // above that a link takes (its format is the link's).
  function linkRequest(variant) {
    const options = {};
    const w = $('link-width').value.trim();
    if (w) options.w = Number(w);
    if ($('link-format').value !== 'auto' || w || variant === 'bg_remove') options.format = $('link-format').value;
    if (variant === 'bg_remove') {
      options.preset = $('opt-preset').value;
      options.channels = $('opt-channels').value;
      if ($('opt-bg-on').checked) options.bg_color = $('opt-bg').value.slice(1);
      if ($('opt-crop').checked) {
        options.crop = true;
        if ($('opt-margin').value.trim() && $('opt-margin').value.trim() !== '0') options.crop_margin = $('opt-margin').value.trim();
      }
    }
    const body = { variant, options };
    if ($('link-expiry').value) body.expires_in = Number($('link-expiry').value);
    return body;
  }

  async function makeLink(variant) {
    setMessage('link-error', '');
    $('link-status').textContent = 'Making the link…';
    let j;
    try {
      j = await apiJSON(assetPath(current.id) + '/delivery_urls', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(linkRequest(variant)),
      });
    } catch (e) {
      $('link-status').textContent = '';
      setMessage('link-error', 'Could not make the link: ' + e.describe());
      return;
    }
    const out = $('link-url');
    out.value = j.url;
    out.hidden = false;
    const until = j.expires_at ? ' It works until ' + when(j.expires_at) + '.' : '';
    try {
      await navigator.clipboard.writeText(j.url);
      $('link-status').textContent = 'Copied to the clipboard.' + until;
    } catch (e) {
      out.select();
      $('link-status').textContent = 'Copy the link below.' + until;
    }
  }

  function renderLinkChoices(a) {
    const sel = $('link-of');
    for (const o of [...sel.options]) if (o.value.startsWith('conversion/')) o.remove();
    for (const c of a.conversions) sel.append(el('option', { value: 'conversion/' + c.name, text: 'conversion ' + c.name }));
    $('link-url').hidden = true;
    $('link-status').textContent = '';
    setMessage('link-error', '');
  }

  function renderAsset(a) {
    current = a;
    $('detail-title').textContent = a.filename;
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
    renderMeta(a);
    renderConversions(a);
    renderLinkChoices(a);
    markCurrent();
  }

  async function refreshCurrent() {
    if (!current) return;
    try { renderAsset(await apiJSON(assetPath(current.id))); }
    catch (e) { setMessage('detail-message', 'Could not reload the asset: ' + e.describe()); }
  }

  async function openAsset(id, focus) {
    setMessage('detail-message', '');
    let a;
    try {
      a = await apiJSON(assetPath(id));
    } catch (e) {
      setMessage(current ? 'detail-message' : 'assets-message', 'Could not open the asset: ' + e.describe());
      return;
    }
    if (jobTimer) clearTimeout(jobTimer);
    $('job').hidden = true;
    $('result').hidden = true;
    cutoutURL = swapURL(cutoutURL, null);
    originalURL = swapURL(originalURL, null);
    $('custom-data').value = JSON.stringify(a.custom_data, null, 2);
    setMessage('custom-error', '');
    $('custom-status').textContent = '';
    setMessage('bg-error', '');
    $('bg-status').textContent = '';
    $('bg-run').disabled = !a.width;
    if (!a.width) $('bg-status').textContent = 'Background removal needs an image.';
    renderAsset(a);
    if (focus) $('detail').focus();
  }

  // ---------------------------------------------------------------- custom data

  async function saveCustomData(ev) {
    ev.preventDefault();
    if (!current) return;
    setMessage('custom-error', '');
    $('custom-status').textContent = 'saving…';
    $('custom-data').removeAttribute('aria-invalid');
    try {
      // the text goes as it is: the server's validation is the one shown
      const a = await apiJSON(assetPath(current.id) + '/custom_data', {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: $('custom-data').value,
      });
      renderAsset(a);
      $('custom-data').value = JSON.stringify(a.custom_data, null, 2);
      $('custom-status').textContent = 'Saved.';
    } catch (e) {
      $('custom-status').textContent = '';
      $('custom-data').setAttribute('aria-invalid', 'true');
      setMessage('custom-error', 'Not saved: ' + e.describe());
    }
  }

  // ---------------------------------------------------------------- bg_remove

  function syncBgForm() {
    const f = $('bg-form');
    const mode = f.elements.mode.value;
    const disposition = f.elements.disposition.value;
    $('save-options').disabled = mode === 'get_image';
    $('conversion-name').disabled = disposition !== 'add_conversion';
    $('inherit').disabled = disposition !== 'add_new_asset';
    $('opt-bg').disabled = !$('opt-bg-on').checked;
    $('opt-margin').disabled = !$('opt-crop').checked;
  }

  function bgQuery() {
    const f = $('bg-form');
    const q = new URLSearchParams({ mode: f.elements.mode.value });
    if (q.get('mode') !== 'get_image') {
      const d = f.elements.disposition.value;
      q.set('disposition', d);
      if (d === 'add_conversion') q.set('conversion_name', $('conversion-name').value);
      if (d === 'add_new_asset' && $('inherit').checked) q.set('metadata', 'inherit');
    }
    // the output options, only when not their default (the server's
    // validation is the one shown, as for the spec's parameters)
    if ($('opt-preset').value !== 'default') q.set('preset', $('opt-preset').value);
    if ($('opt-format').value !== 'png') q.set('format', $('opt-format').value);
    if ($('opt-channels').value !== 'rgba') q.set('channels', $('opt-channels').value);
    if ($('opt-bg-on').checked) q.set('bg_color', $('opt-bg').value.replace('#', ''));
    if ($('opt-crop').checked) {
      q.set('crop', 'true');
      if ($('opt-margin').value.trim() !== '0') q.set('crop_margin', $('opt-margin').value.trim());
    }
    if ($('opt-max-side').value.trim() !== '0') q.set('max_side', $('opt-max-side').value.trim());
    return q;
  }

  function setCompare(v) {
    $('before-clip').style.clipPath = 'inset(0 ' + (100 - v) + '% 0 0)';
    $('compare-divider').style.left = v + '%';
    $('compare-range').setAttribute('aria-valuetext', v + '% of the original shown');
  }

  async function originalBlobURL(a) {
    if (!originalURL) originalURL = swapURL(null, await (await api(assetPath(a.id) + '/file')).blob());
    return originalURL;
  }

  const loaded = (img) => (img.complete && img.naturalWidth ? Promise.resolve() :
    new Promise((ok) => { img.onload = ok; img.onerror = ok; }));

  async function showResult(blob, info, label) {
    const a = current;
    cutoutURL = swapURL(cutoutURL, blob);
    const after = $('after-img'), before = $('before-img');
    after.src = cutoutURL;
    try { before.src = await originalBlobURL(a); } catch (_) { before.removeAttribute('src'); }
    await Promise.all([loaded(after), loaded(before)]);
    const link = $('download-cutout');
    link.href = cutoutURL;
    const ext = { 'image/webp': '.webp', 'image/jpeg': '.jpg' }[blob.type] || '.png';
    link.download = baseName(a.filename) + '-' + (label && label.startsWith('conversion ') ? label.slice(11) : 'cutout') + ext;
    $('result-info').textContent = (info ? info + ' · ' : '') + after.naturalWidth + ' × ' + after.naturalHeight + ' px' +
      (label ? ' · ' + label : '') + ' · ' + bytes(blob.size);
    // a cropped or shrunk result does not line up with the original: shown alone
    const aligned = after.naturalWidth === a.width && after.naturalHeight === a.height;
    $('before-clip').hidden = !aligned;
    $('compare-divider').hidden = !aligned;
    $('compare-range').hidden = !aligned;
    $('compare-label').hidden = !aligned;
    $('compare-caption').textContent = aligned ? 'Left of the handle: the original. Right: the cut-out.'
      : 'The result is cropped or resized, so it is shown alone.';
    link.textContent = 'Download ' + ({ 'image/webp': 'WebP', 'image/jpeg': 'JPEG' }[blob.type] || 'PNG');
    $('result').hidden = false;
    setCompare(Number($('compare-range').value));
  }

  function followJob(jobId, newAssetId, conversionName) {
    const box = $('job');
    box.hidden = false;
    box.className = 'job';
    const started = performance.now();
    const poll = async () => {
      let job;
      try {
        job = await apiJSON('/api/v1/jobs/' + encodeURIComponent(jobId));
      } catch (e) {
        box.className = 'job failed';
        box.textContent = 'Could not follow job ' + jobId + ': ' + e.describe();
        return;
      }
      box.textContent = 'Background save (job ' + jobId.slice(0, 8) + '…): ' + job.status;
      box.dataset.status = job.status;
      if (job.status === 'succeeded') {
        box.className = 'job succeeded';
        box.textContent += ' in ' + ((performance.now() - started) / 1000).toFixed(1) + ' s. ';
        if (newAssetId) {
          box.append(el('button', { type: 'button', class: 'linklike', id: 'open-new-asset', text: 'Open the new asset',
            onclick: () => openAsset(newAssetId, true) }));
          try { addAssetCard(await apiJSON(assetPath(newAssetId)), true); } catch (_) { /* shown when opened */ }
        } else {
          box.textContent += 'Conversion “' + conversionName + '” saved.';
        }
        await refreshCurrent();
      } else if (job.status === 'failed') {
        box.className = 'job failed';
        box.textContent += ': ' + (job.error || 'no reason given');
      } else {
        jobTimer = setTimeout(poll, JOB_POLL_MS);
      }
    };
    poll();
  }

  async function runBgRemove(ev) {
    ev.preventDefault();
    if (!current) return;
    const a = current;
    const q = bgQuery();
    setMessage('bg-error', '');
    if (jobTimer) clearTimeout(jobTimer);
    $('job').hidden = true;
    $('bg-run').disabled = true;
    $('bg-status').className = 'status';
    $('bg-status').textContent = 'Removing the background…';
    const t0 = performance.now();
    try {
      const res = await api(assetPath(a.id) + '/addons/bg_remove?' + q.toString());
      const type = res.headers.get('Content-Type') || '';
      if (type.startsWith('image/')) {
        const blob = await res.blob();
        const secs = ((performance.now() - t0) / 1000).toFixed(2);
        const cached = res.headers.get('X-Cache') === 'hit';
        const server = res.headers.get('X-Processing-Time-Ms');
        $('bg-status').textContent = 'Done in ' + secs + ' s' + (cached ? ' (from the cache)' : server ? ' (' + server + ' ms on the server)' : '') + '.';
        if (current !== a) return;
        const box = ['Width', 'Height'].map((k) => res.headers.get('X-Foreground-' + k));
        await showResult(blob, 'processed in ' + secs + ' s' + (cached ? ' (cached)' : '') +
          (box[0] && box[0] !== '0' ? ' · subject ' + box[0] + ' × ' + box[1] + ' px' : ''), null);
        const job = res.headers.get('X-Job-Id');
        if (job) followJob(job, res.headers.get('X-New-Asset-Id'), q.get('conversion_name'));
      } else {
        const j = await res.json();
        const secs = ((performance.now() - t0) / 1000).toFixed(2);
        $('bg-status').className = 'status ok';
        if (j.disposition === 'add_conversion') {
          $('bg-status').textContent = 'Saved as conversion “' + j.conversion_name + '” in ' + secs + ' s.';
          await refreshCurrent();
        } else {
          $('bg-status').textContent = 'Saved as a new asset in ' + secs + ' s. ';
          $('bg-status').append(el('button', { type: 'button', class: 'linklike', id: 'open-new-asset', text: 'Open it',
            onclick: () => openAsset(j.new_asset_id, true) }));
          try { addAssetCard(await apiJSON(assetPath(j.new_asset_id)), true); } catch (_) { /* shown when opened */ }
        }
      }
    } catch (e) {
      $('bg-status').textContent = '';
      setMessage('bg-error', 'Background removal failed: ' + e.describe());
    } finally {
      $('bg-run').disabled = !(current && current.width);
    }
  }

  // ---------------------------------------------------------------- delete

  async function deleteAsset() {
    const a = current;
    if (!a) return;
    const n = a.conversions.length;
    const text = 'Delete “' + a.filename + '”' + (n ? ' and its ' + n + ' conversion' + (n > 1 ? 's' : '') : '') +
      '? This cannot be undone.';
    if (!(await confirmDialog(text, 'Delete asset'))) return;
    try {
      await api(assetPath(a.id), { method: 'DELETE' });
    } catch (e) {
      setMessage('detail-message', 'Could not delete: ' + e.describe());
      return;
    }
    const card = $('asset-list').querySelector('[data-id="' + a.id + '"]');
    if (card) card.closest('li').remove();
    current = null;
    $('detail-title').textContent = 'No asset open';
    $('detail-body').hidden = true;
    $('detail-empty').hidden = false;
    $('detail-empty').textContent = '“' + a.filename + '” was deleted. Choose another asset from the list.';
    $('asset-list').querySelector('button') ? $('asset-list').querySelector('button').focus() : $('detail').focus();
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $('uploads-clear').addEventListener('click', () => {
      // the finished rows go; those still uploading stay
      for (const li of Array.from($('uploads').children))
        if (li.querySelector('.done, .failed')) li.remove();
      $('uploads-clear').hidden = $('uploads').children.length === 0;
    });
    $('key-form').addEventListener('submit', (ev) => { ev.preventDefault(); useKey($('key-input').value.trim()); });
    $('key-forget').addEventListener('click', () => signOut('Key forgotten. Paste a key to continue.'));

    const drop = $('drop');
    $('file-input').addEventListener('change', (ev) => { uploadAll(ev.target.files); ev.target.value = ''; });
    drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      if (ev.dataTransfer && ev.dataTransfer.files.length) uploadAll(ev.dataTransfer.files);
    });
    // a file dropped outside the zone must not navigate away from the page
    window.addEventListener('dragover', (ev) => ev.preventDefault());
    window.addEventListener('drop', (ev) => ev.preventDefault());

    $('refresh').addEventListener('click', () => loadAssets(true));
    $('load-more').addEventListener('click', () => loadAssets(false));
    $('download-original').addEventListener('click', async () => {
      if (!current) return;
      try { saveBlob(await (await api(assetPath(current.id) + '/file')).blob(), current.filename); }
      catch (e) { setMessage('detail-message', 'Could not download: ' + e.describe()); }
    });
    $('delete-asset').addEventListener('click', deleteAsset);
    $('custom-form').addEventListener('submit', saveCustomData);
    $('link-form').addEventListener('submit', (ev) => { ev.preventDefault(); if (current) makeLink($('link-of').value); });
    // the cut-out shown, with the output options that made it
    $('link-cutout').addEventListener('click', () => {
      if (!current) return;
      $('link-of').value = 'bg_remove';
      makeLink('bg_remove');
      $('link-form').scrollIntoView({ block: 'nearest' });
    });
    $('bg-form').addEventListener('submit', runBgRemove);
    $('bg-form').addEventListener('change', syncBgForm);
    $('compare-range').addEventListener('input', (ev) => setCompare(Number(ev.target.value)));
    syncBgForm();
  }

  wire();
  if (key) useKey(key);
  else $('key-input').focus();
})();
