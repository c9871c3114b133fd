// assetd console — a media library in plain JavaScript: no framework, no
// build step, nothing fetched from elsewhere.
//
// Every call goes to this server's API with the key the person pasted,
// kept in sessionStorage (gone when the tab closes; never in a URL or a
// cookie). Images are fetched with the key and shown through blob: URLs.
// Text from the server is only ever put in the page as text (textContent),
// never as HTML.
//
// The page's state that a person may bookmark or share (the section, the
// library's search and order, the open asset) lives in the URL's fragment,
// which the browser never sends to a server; the key never does.
'use strict';

(() => {
  const KEY_STORAGE = 'assetd.key';
  const PAGE_SIZE = 48;
  const THUMB_SIZE = 256;
  const JOB_POLL_MS = 700;
  const LIVE_DEBOUNCE_MS = 120;
  const SELECT_ALL_MAX = 2000;

  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem(KEY_STORAGE) || '';
  let scope = 'admin';

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, param, message) {
      super(message);
      this.status = status;
      this.code = code;
      this.param = param;
    }
    // "message (parameter: x, HTTP 400)"
    describe() {
      const bits = [];
      if (this.param) bits.push('parameter: ' + this.param);
      if (this.status) bits.push('HTTP ' + this.status);
      return this.message + (bits.length ? ' (' + bits.join(', ') + ')' : '');
    }
  }

  // The spec's error shape, or a sentence for anything else.
  function errorFrom(status, text) {
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
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', null, 'the server could not be reached (' + e.message + ')');
    }
    if (res.ok) return res;
    const err = errorFrom(res.status, await res.text());
    if (res.status === 401) signOut('The server refused this key: ' + err.message);
    throw err;
  }

  const apiJSON = async (path, options) => (await api(path, options)).json();
  const sendJSON = (method, body, type = 'application/json') =>
    ({ method, headers: { 'Content-Type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
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

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  // "06:05:53" today, "Dec 6, 06:05" before
  function shortWhen(iso) {
    const d = new Date(iso);
    const today = d.toDateString() === new Date().toDateString();
    return today ? d.toLocaleTimeString(undefined, { hour12: false })
      : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  }

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

  const extOf = (type) => ({ 'image/webp': '.webp', 'image/jpeg': '.jpg' }[type] || '.png');
  const typeName = (type) => ({ 'image/webp': 'WebP', 'image/jpeg': 'JPEG' }[type] || 'PNG');

  // Run fn over items, n at a time.
  async function pool(items, n, fn) {
    const queue = Array.from(items);
    const worker = async () => { while (queue.length) await fn(queue.shift()); };
    await Promise.all(Array.from({ length: Math.min(n, queue.length) }, worker));
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

  // Copy text, or say where it can be copied from.
  async function copyText(text) {
    try { await navigator.clipboard.writeText(text); return true; } catch (_) { return false; }
  }

  // ---------------------------------------------------------------- the URL

  // The fragment holds URLSearchParams: view, q, order (library), asset
  // (the open drawer), status and asset_id (jobs).
  const hashParams = () => new URLSearchParams(location.hash.replace(/^#/, ''));

  function setHash(p, push) {
    const h = p.toString();
    const url = location.pathname + location.search + (h ? '#' + h : '');
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  // ---------------------------------------------------------------- the key

  function signOut(message) {
    key = '';
    sessionStorage.removeItem(KEY_STORAGE);
    document.body.classList.remove('signed');
    for (const id of ['library', 'jobs', 'webhooks', 'nav']) $(id).hidden = true;
    if ($('drawer').open) $('drawer').close();
    $('intro').hidden = false;
    $('key-forget').hidden = true;
    $('key-status').hidden = true;
    setMessage('key-message', message);
    $('key-input').focus();
  }

  function setScope(s) {
    scope = s || 'admin';
    document.body.dataset.scope = scope;
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
    // what the key may do: the console offers only that
    setScope(res.headers.get('X-Key-Scope'));
    sessionStorage.setItem(KEY_STORAGE, key);
    document.body.classList.add('signed');
    $('key-input').value = '';
    $('key-forget').hidden = false;
    $('key-status').textContent = 'Signed in (key …' + key.slice(-4) + ', scope ' + scope +
      (scope === 'read' ? ': it can look, not change' : '') + ').';
    $('key-status').hidden = false;
    $('intro').hidden = true;
    $('nav').hidden = false;
    route(true);
  }

  // ---------------------------------------------------------------- sections

  let shownView = null;
  let libraryQuery = null; // the list query the grid shows

  function route(force) {
    if (!key) return;
    const p = hashParams();
    let view = p.get('view') || 'library';
    if (!['library', 'jobs', 'webhooks'].includes(view) || (view === 'webhooks' && scope !== 'admin')) view = 'library';
    for (const v of ['library', 'jobs', 'webhooks']) $(v).hidden = v !== view;
    for (const a of $('nav').querySelectorAll('a'))
      if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    const changed = view !== shownView;
    shownView = view;
    if (view === 'library') {
      $('search').value = p.get('q') || '';
      $('order').value = p.get('order') === 'oldest' ? 'oldest' : 'newest';
      const parsed = parseSearch($('search').value);
      const query = listQuery(parsed.params, $('order').value).toString();
      if (force || query !== libraryQuery) loadAssets(true);
      const id = p.get('asset');
      if (id && (!current || current.id !== id || !$('drawer').open)) openAsset(id, false);
      if (!id && $('drawer').open) $('drawer').close();
    } else if (view === 'jobs') {
      $('jobs-status').value = p.get('status') || '';
      $('jobs-asset').value = p.get('asset_id') || '';
      loadJobs(true);
    } else if (view === 'webhooks' && (changed || force)) {
      loadHooks();
    }
    jobsAutoRefresh(view === 'jobs');
  }

  // ---------------------------------------------------------------- search

  // The search bar's words as the list's filters. Words are a file name's
  // start; key=value is custom data; type:, after:, before:, has:, from:
  // name the other filters. The server validates every value (its 400
  // names the parameter), so nothing is second-guessed here.
  function parseSearch(text) {
    const params = new URLSearchParams();
    const words = [];
    const re = /([^\s"]+?[=:])"([^"]*)"|"([^"]*)"|(\S+)/g;
    let m;
    while ((m = re.exec(text)) !== null) {
      let tok, val = null;
      if (m[1] !== undefined) { tok = m[1]; val = m[2]; }
      else if (m[3] !== undefined) { words.push(m[3]); continue; }
      else tok = m[4];
      let name, value;
      if (val !== null) { name = tok.slice(0, -1); value = val; if (tok.endsWith(':')) name += ':'; else name += '='; }
      const full = val !== null ? name + value : tok;
      const op = /^(type|after|before|has|from):(.*)$/.exec(full);
      if (op) {
        const v = op[2];
        const date = (d) => (/^\d{4}-\d{2}-\d{2}$/.test(d) ? d + 'T00:00:00Z' : d);
        if (op[1] === 'type') params.append('content_type', v);
        else if (op[1] === 'after') params.append('created_after', date(v));
        else if (op[1] === 'before') params.append('created_before', date(v));
        else if (op[1] === 'has') params.append('has_conversion', v);
        else params.append('source_asset_id', v);
        continue;
      }
      const eq = full.indexOf('=');
      if (eq > 0) {
        params.append('custom_data.' + full.slice(0, eq), full.slice(eq + 1));
        continue;
      }
      words.push(full);
    }
    if (words.length) params.append('filename_prefix', words.join(' '));
    return { params };
  }

  function listQuery(filters, order) {
    const q = new URLSearchParams(filters);
    if (order === 'oldest') q.set('order', 'oldest');
    return q;
  }

  function runSearch(ev) {
    if (ev) ev.preventDefault();
    const p = hashParams();
    p.delete('view');
    p.delete('asset');
    const q = $('search').value.trim();
    if (q) p.set('q', q); else p.delete('q');
    if ($('order').value === 'oldest') p.set('order', 'oldest'); else p.delete('order');
    setHash(p, true);
    route(false);
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
      xhr.onload = () => {
        if (xhr.status === 201) {
          progress.value = 100;
          const asset = JSON.parse(xhr.responseText);
          state.className = 'state done';
          state.textContent = 'Uploaded. ';
          state.append(el('button', { type: 'button', class: 'linklike', text: 'Open', onclick: () => showAsset(asset.id) }));
          addTile(asset, true);
        } else {
          const err = errorFrom(xhr.status, xhr.responseText);
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
  const uploadAll = (files) => pool(files, 3, uploadOne);

  // ---------------------------------------------------------------- the grid

  const assets = new Map();  // id -> asset JSON, for the tiles shown
  const selected = new Set();
  let nextCursor = null;
  let listSeq = 0;           // a newer search drops an older one's pages
  let lastPicked = null;     // the tile a shift-click extends from
  const thumbURLs = new Map(); // asset id -> blob: URL

  // Thumbnails load as their tiles come into view, four at a time.
  const thumbQueue = [];
  let thumbsRunning = 0;
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      seen.unobserve(e.target);
      const a = assets.get(e.target.dataset.id);
      const img = e.target.querySelector('img.thumb');
      if (a && img) { thumbQueue.push([a, img]); pumpThumbs(); }
    }
  }, { rootMargin: '400px' });

  function pumpThumbs() {
    while (thumbsRunning < 4 && thumbQueue.length) {
      const [asset, img] = thumbQueue.shift();
      if (!img.isConnected) continue;
      thumbsRunning++;
      api(assetPath(asset.id) + '/preview?size=' + THUMB_SIZE)
        .then((r) => r.blob())
        .then((b) => {
          if (!img.isConnected) return; // a newer search replaced the grid
          const url = swapURL(thumbURLs.get(asset.id), b);
          thumbURLs.set(asset.id, url);
          img.onload = () => { if (!hasTransparency(img)) img.parentElement.classList.add('opaque'); img.dataset.loaded = '1'; };
          img.src = url;
        })
        .catch(() => { img.replaceWith(el('span', { class: 'none', text: 'no preview' })); })
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

  const tileOf = (id) => $('asset-list').querySelector('li.tile[data-id="' + id + '"]');

  function tileMeta(a) {
    const bits = [bytes(a.size), shortWhen(a.created_at)];
    if (a.conversions && a.conversions.length) bits.push(a.conversions.length + ' conv.');
    return bits.join(' · ');
  }

  function addTile(asset, atTop) {
    const list = $('asset-list');
    const empty = list.querySelector('li.help');
    if (empty) empty.remove();
    const old = tileOf(asset.id);
    if (old) old.remove();
    assets.set(asset.id, asset);
    const frame = el('span', { class: 'frame' },
      asset.width ? el('img', { class: 'thumb', alt: '', width: String(THUMB_SIZE), height: String(THUMB_SIZE) })
        : el('span', { class: 'none', text: asset.content_type }));
    const pick = el('input', { type: 'checkbox', class: 'pick', 'aria-label': 'Select ' + asset.filename });
    pick.checked = selected.has(asset.id);
    pick.addEventListener('click', (ev) => pickTile(asset.id, pick.checked, ev.shiftKey));
    const open = el('button', {
      type: 'button', class: 'open', 'data-id': asset.id, title: asset.filename,
      onclick: (ev) => {
        if (ev.shiftKey || ev.ctrlKey || ev.metaKey) {
          ev.preventDefault();
          pickTile(asset.id, ev.shiftKey ? true : !selected.has(asset.id), ev.shiftKey);
        } else {
          showAsset(asset.id);
        }
      },
    }, frame, el('span', { class: 'fname', text: asset.filename }),
    // the same name twice is told apart by size and time
    el('span', { class: 'fmeta', text: tileMeta(asset) }));
    const li = el('li', { class: 'tile' + (selected.has(asset.id) ? ' selected' : ''), 'data-id': asset.id }, pick, open);
    if (atTop) list.prepend(li); else list.append(li);
    if (asset.width) seen.observe(li);
  }

  function updateTile(a) {
    assets.set(a.id, a);
    const t = tileOf(a.id);
    if (t) t.querySelector('.fmeta').textContent = tileMeta(a);
  }

  function removeTile(id) {
    const t = tileOf(id);
    if (t) t.remove();
    assets.delete(id);
    selected.delete(id);
    const url = thumbURLs.get(id);
    if (url) { URL.revokeObjectURL(url); thumbURLs.delete(id); }
    syncSelection();
  }

  async function loadAssets(reset) {
    setMessage('assets-message', '');
    const parsed = parseSearch($('search').value);
    const query = listQuery(parsed.params, $('order').value);
    if (reset) {
      listSeq++;
      nextCursor = null;
      libraryQuery = query.toString();
      $('asset-list').textContent = '';
      seen.disconnect();
      thumbQueue.length = 0;
      for (const url of thumbURLs.values()) URL.revokeObjectURL(url);
      thumbURLs.clear();
      assets.clear();
      selected.clear();
      lastPicked = null;
      syncSelection();
      $('search-clear').hidden = !$('search').value;
    }
    const seq = listSeq;
    const q = new URLSearchParams(query);
    q.set('limit', String(PAGE_SIZE));
    if (nextCursor) q.set('cursor', nextCursor);
    let page;
    try {
      page = await apiJSON('/api/v1/assets?' + q.toString());
    } catch (e) {
      if (seq !== listSeq) return false;
      setMessage('assets-message', 'Could not list the assets: ' + e.describe());
      $('search-summary').textContent = '';
      $('load-more').hidden = true;
      return false;
    }
    if (seq !== listSeq) return false;
    for (const a of page.items) addTile(a, false);
    nextCursor = page.next_cursor;
    $('load-more').hidden = !nextCursor;
    const n = $('asset-list').querySelectorAll('li.tile').length;
    const filtered = libraryQuery.replace(/(^|&)order=oldest/, '') !== '';
    $('search-summary').textContent = (filtered ? 'Matching: ' : '') + n + (nextCursor ? '+' : '') +
      ' asset' + (n === 1 && !nextCursor ? '' : 's') + (nextCursor ? ' (scroll for more)' : '') +
      ($('order').value === 'oldest' ? ', oldest first' : ', newest first') + '.';
    if (!n)
      $('asset-list').append(el('li', { class: 'help', text: filtered ? 'Nothing matches this search.'
        : scope === 'read' ? 'No assets yet.' : 'No assets yet: upload images with “Upload…”, or drop them here.' }));
    return true;
  }

  // the next page when the end of the grid comes into view
  const endSeen = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && nextCursor && !$('library').hidden && !loadingMore) loadMore();
  }, { rootMargin: '600px' });
  let loadingMore = false;
  async function loadMore() {
    loadingMore = true;
    try { await loadAssets(false); } finally { loadingMore = false; }
  }

  // ---------------------------------------------------------------- selection

  function tileIds() { return Array.from($('asset-list').querySelectorAll('li.tile'), (li) => li.dataset.id); }

  function pickTile(id, on, extend) {
    if (extend && lastPicked && lastPicked !== id) {
      const ids = tileIds();
      const a = ids.indexOf(lastPicked), b = ids.indexOf(id);
      if (a >= 0 && b >= 0) for (const x of ids.slice(Math.min(a, b), Math.max(a, b) + 1)) selected.add(x);
    }
    if (on) selected.add(id); else selected.delete(id);
    lastPicked = id;
    syncSelection();
  }

  function syncSelection() {
    for (const li of $('asset-list').querySelectorAll('li.tile')) {
      const on = selected.has(li.dataset.id);
      li.classList.toggle('selected', on);
      li.querySelector('.pick').checked = on;
    }
    const n = selected.size;
    $('selection-bar').hidden = n === 0;
    $('selection-count').textContent = n + ' selected';
    $('select-all').textContent = nextCursor ? 'Select all results' : 'Select all ' + assets.size;
  }

  async function selectAll() {
    $('select-all').disabled = true;
    try {
      while (nextCursor && assets.size < SELECT_ALL_MAX) if (!(await loadAssets(false))) break;
      for (const id of assets.keys()) selected.add(id);
      syncSelection();
      if (nextCursor) setMessage('assets-message', 'Selected the first ' + assets.size + ' results; narrow the search to act on the rest.');
    } finally {
      $('select-all').disabled = false;
    }
  }

  // ---------------------------------------------------------------- batch work

  const batch = { jobs: new Map(), total: 0, sent: 0, refused: [], timer: null, newAssets: false };

  function batchText() {
    let done = 0, failed = 0;
    for (const s of batch.jobs.values()) { if (s === 'succeeded') done++; else if (s === 'failed') failed++; }
    failed += batch.refused.length;
    const finished = batch.sent === batch.total && done + failed === batch.total;
    $('batch-progress').max = batch.total || 1;
    $('batch-progress').value = done + failed;
    $('batch').className = 'batch' + (finished ? (failed ? ' failed' : ' done') : '');
    $('batch').dataset.state = finished ? 'finished' : 'running';
    $('batch-text').textContent = 'Background saves: ' + done + ' of ' + batch.total + ' done' +
      (failed ? ', ' + failed + ' failed' : '') + (batch.sent < batch.total ? ' (' + batch.sent + ' sent)' : '') +
      (batch.refused.length ? '. ' + batch.refused.slice(0, 3).join('; ') : '') + (finished ? '.' : '…');
    return finished;
  }

  // Output options as bg_remove's query, those at their default left out.
  function outputQuery(o) {
    const q = new URLSearchParams();
    if (o.preset !== 'default') q.set('preset', o.preset);
    if (o.format !== 'png') q.set('format', o.format);
    if (o.channels && o.channels !== 'rgba') q.set('channels', o.channels);
    if (o.bg) q.set('bg_color', o.bg);
    if (o.crop) {
      q.set('crop', 'true');
      if (o.margin && o.margin !== '0') q.set('crop_margin', o.margin);
    }
    if (o.maxSide !== '0') q.set('max_side', o.maxSide);
    return q;
  }

  // The studio's output options, and the batch dialog's.
  const outputOptions = () => outputQuery({
    preset: $('opt-preset').value, format: $('opt-format').value, channels: $('opt-channels').value, bg: bgColour(),
    crop: $('opt-crop').checked, margin: $('opt-margin').value.trim(), maxSide: $('opt-max-side').value,
  });
  const batchOptions = () => outputQuery({
    preset: $('batch-preset').value, format: $('batch-format').value, bg: $('batch-bg').value,
    crop: $('batch-crop').checked, maxSide: $('batch-max-side').value,
  });

  function bgColour() {
    const v = document.querySelector('input[name="bg"]:checked').value;
    return v === 'custom' ? $('opt-bg').value.slice(1) : v;
  }

  async function startBatch() {
    const ids = Array.from(selected).filter((id) => { const a = assets.get(id); return a && a.width; });
    const skipped = selected.size - ids.length;
    const as = document.querySelector('input[name="batch-as"]:checked').value;
    const q = batchOptions();
    q.set('mode', 'get_image_and_save');
    q.set('disposition', as);
    if (as === 'add_conversion') q.set('conversion_name', $('batch-name').value.trim());
    else q.set('metadata', 'inherit');
    Object.assign(batch, { jobs: new Map(), total: ids.length, sent: 0, refused: [], newAssets: as === 'add_new_asset' });
    if (skipped) batch.refused.push(skipped + ' not an image');
    batch.total += skipped;
    batch.sent += skipped;
    $('batch').hidden = false;
    batchText();
    pollBatch();
    // two at a time: the server's cut-out queue does the rest (a 503 is
    // waited out as its Retry-After says)
    await pool(ids, 2, async (id) => {
      for (let tries = 0; ; tries++) {
        try {
          const res = await api(assetPath(id) + '/addons/bg_remove?' + q.toString());
          const job = res.headers.get('X-Job-Id');
          await res.arrayBuffer(); // the picture shown is not needed here
          if (job) batch.jobs.set(job, 'queued');
          else batch.refused.push((assets.get(id) || {}).filename + ': no job');
          break;
        } catch (e) {
          if (e.status === 503 && tries < 5) { await new Promise((r) => setTimeout(r, 1000 * (tries + 1))); continue; }
          const name = (assets.get(id) || { filename: id }).filename;
          batch.refused.push(name + ': ' + (e.describe ? e.describe() : e.message));
          break;
        }
      }
      batch.sent++;
      batchText();
    });
  }

  // Progress from the jobs list (its newest hundred), each job not in it
  // asked for alone.
  async function pollBatch() {
    clearTimeout(batch.timer);
    const open = () => Array.from(batch.jobs).filter(([, s]) => s !== 'succeeded' && s !== 'failed').map(([id]) => id);
    try {
      if (open().length) {
        const page = await apiJSON('/api/v1/jobs?limit=100');
        for (const j of page.items) if (batch.jobs.has(j.id)) batch.jobs.set(j.id, j.status);
        for (const id of open().slice(0, 8)) {
          if (page.items.some((j) => j.id === id)) continue;
          const j = await apiJSON('/api/v1/jobs/' + encodeURIComponent(id));
          batch.jobs.set(id, j.status);
        }
      }
    } catch (_) { /* shown on the next tick */ }
    if (batchText()) {
      batch.timer = null;
      if (batch.newAssets) loadAssets(true);
      else for (const id of selected) refreshTile(id);
      if (!$('jobs').hidden) loadJobs(true);
      return;
    }
    batch.timer = setTimeout(pollBatch, JOB_POLL_MS);
  }

  async function refreshTile(id) {
    try { updateTile(await apiJSON(assetPath(id))); } catch (_) { /* gone */ }
  }

  async function deleteSelected() {
    const ids = Array.from(selected);
    const n = ids.length;
    if (!(await confirmDialog('Delete ' + n + ' asset' + (n > 1 ? 's' : '') + ' and their conversions? This cannot be undone.',
      'Delete ' + n))) return;
    const failures = [];
    await pool(ids, 4, async (id) => {
      try { await api(assetPath(id), { method: 'DELETE' }); removeTile(id); }
      catch (e) { if (e.status === 404) removeTile(id); else failures.push((assets.get(id) || {}).filename + ': ' + e.describe()); }
    });
    setMessage('assets-message', failures.length ? 'Not deleted: ' + failures.join('; ') : '');
    $('search-summary').textContent = 'Deleted ' + (n - failures.length) + ' of ' + n + '.';
  }

  async function linksForSelected() {
    const ids = Array.from(selected);
    const urls = new Map(), failures = [];
    $('links-text').value = '';
    $('links-status').textContent = 'Making ' + ids.length + ' links…';
    $('links-dialog').showModal();
    await pool(ids, 4, async (id) => {
      try {
        const j = await apiJSON(assetPath(id) + '/delivery_urls', sendJSON('POST', { variant: 'original', options: {} }));
        urls.set(id, j.url);
      } catch (e) { failures.push((assets.get(id) || {}).filename + ': ' + e.describe()); }
    });
    const text = ids.filter((id) => urls.has(id)).map((id) => urls.get(id)).join('\n');
    $('links-text').value = text;
    const copied = text && (await copyText(text));
    $('links-status').textContent = urls.size + ' public link' + (urls.size === 1 ? '' : 's') + ' (originals, never expiring)' +
      (copied ? ', copied to the clipboard.' : ': copy them below.') + (failures.length ? ' Not made: ' + failures.join('; ') : '');
    $('links-text').select();
  }

  // ---------------------------------------------------------------- the drawer

  let current = null;          // the open asset's JSON
  let customShown = null;      // its custom data as the editor was filled
  let originalURL = null;      // blob: URL of the open asset's file
  let cutoutURL = null;        // blob: URL of the result shown
  let live = false;            // the studio re-renders on each change
  let renderSeq = 0;
  let renderAbort = null;
  let liveTimer = null;
  let openerTile = null;       // focus goes back here when the drawer closes

  function showAsset(id) {
    const p = hashParams();
    p.set('asset', id);
    setHash(p, true);
    openerTile = document.activeElement;
    openAsset(id, true);
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
  }

  async function renderLineage(a) {
    const from = $('lineage-from');
    from.textContent = '';
    if (a.source_asset_id) {
      from.append('Made from: ', el('button', {
        type: 'button', class: 'linklike', id: 'source-link', text: 'the source asset ' + a.source_asset_id.slice(0, 8) + '…',
        'aria-label': 'Open the source asset ' + a.source_asset_id, onclick: () => showAsset(a.source_asset_id),
      }));
    } else {
      from.textContent = 'Made from: an upload.';
    }
    const to = $('lineage-to');
    to.textContent = '';
    let page;
    try { page = await apiJSON('/api/v1/assets?limit=20&source_asset_id=' + a.id); } catch (_) { return; }
    if (!current || current.id !== a.id) return;
    if (!page.items.length) { to.append(el('p', { text: 'Used to make: nothing yet.' })); return; }
    const ul = el('ul', { id: 'made-list', 'aria-label': 'Assets made from this one' });
    for (const m of page.items)
      ul.append(el('li', {}, el('button', { type: 'button', class: 'linklike', text: m.filename + ' (' + shortWhen(m.created_at) + ')',
        onclick: () => showAsset(m.id) })));
    to.append(el('p', { text: 'Used to make:' }), ul, el('button', {
      type: 'button', id: 'made-search', text: 'Show them in the library',
      onclick: () => { $('drawer').close(); $('search').value = 'from:' + a.id; runSearch(); },
    }));
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
          try { await showResult(await (await api(path)).blob(), 'conversion ' + c.name); }
          catch (e) { setMessage('detail-message', 'Could not load the conversion: ' + e.describe()); }
        },
      });
      const dl = el('button', {
        type: 'button', text: 'Download', 'aria-label': 'Download conversion ' + c.name,
        onclick: async () => {
          try { const b = await (await api(path)).blob(); saveBlob(b, baseName(a.filename) + '-' + c.name + extOf(b.type)); }
          catch (e) { setMessage('detail-message', 'Could not download: ' + e.describe()); }
        },
      });
      const link = el('button', {
        type: 'button', text: 'Copy link', 'aria-label': 'Copy a public link to conversion ' + c.name, 'data-needs': 'write',
        onclick: () => { $('link-of').value = 'conversion/' + c.name; makeLink('conversion/' + c.name); },
      });
      const del = el('button', {
        type: 'button', class: 'danger', text: 'Delete…', 'aria-label': 'Delete conversion ' + c.name, 'data-needs': 'write',
        onclick: async () => {
          if (!(await confirmDialog('Delete the conversion “' + c.name + '” of ' + a.filename + '?', 'Delete conversion'))) return;
          try {
            await api(path, { method: 'DELETE' });
            await refreshCurrent();
            $('save-status').textContent = 'Conversion “' + c.name + '” deleted.';
          } catch (e) { setMessage('detail-message', 'Could not delete: ' + e.describe()); }
        },
      });
      body.append(el('tr', { 'data-name': c.name },
        el('td', {}, el('code', { text: c.name })), el('td', { text: c.content_type }), el('td', { text: bytes(c.size) }),
        el('td', {}, el('div', { class: 'actions' }, view, dl, link, del))));
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
    renderMeta(a);
    renderConversions(a);
    renderLinkChoices(a);
    renderLineage(a);
    updateTile(a);
  }

  async function refreshCurrent() {
    if (!current) return;
    try { renderAsset(await apiJSON(assetPath(current.id))); }
    catch (e) { setMessage('detail-message', 'Could not reload the asset: ' + e.describe()); }
  }

  function fillCustom(a) {
    customShown = a.custom_data;
    $('custom-data').value = JSON.stringify(a.custom_data, null, 2);
    $('custom-data').removeAttribute('aria-invalid');
  }

  async function openAsset(id, focus) {
    setMessage('detail-message', '');
    let a;
    try {
      a = await apiJSON(assetPath(id));
    } catch (e) {
      setMessage('assets-message', 'Could not open the asset: ' + e.describe());
      const p = hashParams();
      p.delete('asset');
      setHash(p, false);
      return;
    }
    if (renderAbort) renderAbort.abort();
    renderSeq++;
    live = false;
    cutoutURL = swapURL(cutoutURL, null);
    originalURL = swapURL(originalURL, null);
    fillCustom(a);
    $('custom-data').readOnly = scope === 'read';
    for (const m of ['custom-error', 'bg-error', 'link-error']) setMessage(m, '');
    for (const s of ['custom-status', 'bg-status', 'save-status']) $(s).textContent = '';
    $('bg-run').hidden = !a.width;
    $('bg-run').disabled = false;
    $('bg-form').hidden = !a.width;
    $('download-cutout').hidden = true;
    $('link-cutout').hidden = true;
    $('result').removeAttribute('data-mask');
    if (!a.width) $('bg-status').textContent = 'Background removal needs an image.';
    setSaveButtons(false);
    renderAsset(a);
    syncSteps();
    if (!$('drawer').open) $('drawer').showModal();
    if (focus) $('drawer-close').focus();
    showOriginal(a);
  }

  // The asset beside the open one in the grid (dir -1: before, +1: after);
  // the next page is loaded when the last tile is passed.
  async function stepAsset(dir) {
    if (!current) return;
    let ids = tileIds();
    let i = ids.indexOf(current.id);
    if (i < 0) return;
    if (dir > 0 && i === ids.length - 1 && nextCursor) {
      await loadMore();
      ids = tileIds();
    }
    const next = ids[i + dir];
    if (!next) return;
    const p = hashParams();
    p.set('asset', next);
    setHash(p, false);
    const t = tileOf(next);
    if (t) openerTile = t.querySelector('button.open');
    await openAsset(next, false);
  }

  function syncSteps() {
    const ids = tileIds(), i = current ? ids.indexOf(current.id) : -1;
    $('drawer-prev').disabled = i <= 0;
    $('drawer-next').disabled = i < 0 || (i === ids.length - 1 && !nextCursor);
  }

  function closeDrawer() {
    const p = hashParams();
    if (p.has('asset')) { p.delete('asset'); setHash(p, false); }
    if (renderAbort) renderAbort.abort();
    clearTimeout(liveTimer);
    const back = current && tileOf(current.id);
    const target = (openerTile && openerTile.isConnected) ? openerTile : back && back.querySelector('button.open');
    if (target) target.focus();
    openerTile = null;
  }

  // ---------------------------------------------------------------- custom data

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

  // RFC 7396: the patch that turns before into after (null removes a key;
  // arrays and scalars are replaced whole).
  function mergePatch(before, after) {
    const patch = {};
    for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
    for (const [k, v] of Object.entries(after)) {
      if (isObject(v) && isObject(before[k])) {
        const sub = mergePatch(before[k], v);
        if (Object.keys(sub).length) patch[k] = sub;
      } else if (!(k in before) || JSON.stringify(before[k]) !== JSON.stringify(v)) {
        patch[k] = v;
      }
    }
    return patch;
  }

  async function saveCustomData(ev) {
    ev.preventDefault();
    if (!current) return;
    setMessage('custom-error', '');
    $('custom-data').removeAttribute('aria-invalid');
    const text = $('custom-data').value;
    let body;
    try {
      const edited = JSON.parse(text);
      if (!isObject(edited)) throw new Error('not an object');
      const patch = mergePatch(customShown || {}, edited);
      if (!Object.keys(patch).length) { $('custom-status').textContent = 'Nothing changed.'; return; }
      body = JSON.stringify(patch);
    } catch (_) {
      body = text; // not an object: the server's refusal is the one shown
    }
    $('custom-status').textContent = 'saving…';
    try {
      const a = await apiJSON(assetPath(current.id) + '/custom_data', sendJSON('PATCH', body, 'application/merge-patch+json'));
      renderAsset(a);
      fillCustom(a);
      $('custom-status').textContent = 'Saved.';
    } catch (e) {
      $('custom-status').textContent = '';
      $('custom-data').setAttribute('aria-invalid', 'true');
      setMessage('custom-error', 'Not saved: ' + e.describe());
    }
  }

  // ---------------------------------------------------------------- the studio

  function setCompare(v) {
    $('before-clip').style.clipPath = 'inset(0 ' + (100 - v) + '% 0 0)';
    $('compare-divider').style.left = v + '%';
    $('compare-range').setAttribute('aria-valuetext', v + '% of the original shown');
  }

  async function originalBlobURL(a) {
    if (!originalURL) originalURL = swapURL(null, await (await api(assetPath(a.id) + '/file')).blob());
    return originalURL;
  }

  const loaded = async (img) => {
    if (!img.getAttribute('src')) return;
    try { await img.decode(); } catch (_) { /* shown as broken */ }
  };

  function showCompare(on, caption) {
    for (const id of ['before-clip', 'compare-divider', 'compare-range', 'compare-label']) $(id).hidden = !on;
    $('stage').style.cursor = on ? '' : 'default';
    $('compare-caption').textContent = caption;
  }

  // The original alone, before a cut-out.
  async function showOriginal(a) {
    const after = $('after-img');
    after.removeAttribute('src');
    after.classList.add('opaque');
    showCompare(false, a.width ? 'The original. “Remove background” cuts it out; then every option shows at once.' : '');
    if (!a.width) return;
    try {
      const url = await originalBlobURL(a);
      if (current !== a) return;
      after.src = url;
      after.alt = 'The original image';
    } catch (e) {
      setMessage('detail-message', 'Could not load the image: ' + e.describe());
    }
  }

  // Show a result (a cut-out or a conversion) against the original.
  async function showResult(blob, label) {
    const a = current;
    cutoutURL = swapURL(cutoutURL, blob);
    const after = $('after-img'), before = $('before-img');
    after.src = cutoutURL;
    after.alt = 'The cut-out; a checkerboard shows where it is transparent';
    try { before.src = await originalBlobURL(a); } catch (_) { before.removeAttribute('src'); }
    await Promise.all([loaded(after), loaded(before)]);
    if (current !== a) return;
    after.classList.toggle('opaque', !hasTransparency(after));
    const link = $('download-cutout');
    link.href = cutoutURL;
    link.download = baseName(a.filename) + '-' + (label && label.startsWith('conversion ') ? label.slice(11) : 'cutout') + extOf(blob.type);
    link.textContent = 'Download ' + typeName(blob.type);
    link.hidden = false;
    // a cropped result does not line up with the original: shown alone
    const aligned = Math.abs(after.naturalWidth / after.naturalHeight - a.width / a.height) < 0.01;
    showCompare(aligned, (aligned ? 'Left of the handle: the original. Right: ' : 'Cropped, so shown alone: ') +
      (label || 'the cut-out') + ', ' + after.naturalWidth + ' × ' + after.naturalHeight + ' px, ' + bytes(blob.size) + '.');
    setCompare(Number($('compare-range').value));
  }

  function setSaveButtons(on) {
    for (const id of ['save-conversion', 'save-asset']) $(id).disabled = !on;
  }

  // Render the cut-out with the options shown; a newer change cancels an
  // older render still on its way.
  async function render() {
    if (!current || !current.width) return;
    const a = current;
    const seq = ++renderSeq;
    if (renderAbort) renderAbort.abort();
    renderAbort = new AbortController();
    const q = outputOptions();
    q.set('mode', 'get_image');
    setMessage('bg-error', '');
    $('stage').classList.add('pending');
    $('bg-status').textContent = live ? 'Rendering…' : 'Removing the background…';
    $('bg-run').disabled = true;
    const t0 = performance.now();
    try {
      const res = await api(assetPath(a.id) + '/addons/bg_remove?' + q.toString(), { signal: renderAbort.signal });
      const blob = await res.blob();
      const tAnswer = performance.now();
      if (seq !== renderSeq || current !== a) return;
      await showResult(blob, null);
      if (seq !== renderSeq || current !== a) return;
      const tShown = performance.now();
      const mask = res.headers.get('X-Mask') || '';
      const r = $('result');
      r.dataset.mask = mask;
      r.dataset.query = q.toString();
      r.dataset.answerMs = (tAnswer - t0).toFixed(1);
      r.dataset.paintMs = (tShown - tAnswer).toFixed(1);
      r.dataset.seq = String(seq);
      const server = res.headers.get('X-Processing-Time-Ms');
      $('bg-status').className = 'status ok';
      $('bg-status').textContent = (mask === 'stored' ? 'From the stored mask' : 'Cut out (a model pass)') + ' in ' +
        Math.round(tShown - t0) + ' ms' + (Number(server) > 0 ? ' (' + server + ' ms on the server)' : '') + '.';
      const box = ['Width', 'Height'].map((k) => res.headers.get('X-Foreground-' + k));
      if (box[0] && box[0] !== '0') $('bg-status').textContent += ' Subject ' + box[0] + ' × ' + box[1] + ' px.';
      live = true;
      $('bg-run').hidden = true;
      $('link-cutout').hidden = false;
      setSaveButtons(true);
    } catch (e) {
      if (e.name === 'AbortError' || seq !== renderSeq) return;
      $('bg-status').className = 'status';
      $('bg-status').textContent = '';
      setMessage('bg-error', 'Background removal failed: ' + e.describe());
    } finally {
      if (seq === renderSeq) {
        $('stage').classList.remove('pending');
        $('bg-run').disabled = false;
      }
    }
  }

  function optionsChanged() {
    $('opt-margin').disabled = !$('opt-crop').checked;
    if (!live) return;
    clearTimeout(liveTimer);
    liveTimer = setTimeout(render, LIVE_DEBOUNCE_MS);
  }

  // Save what the studio shows: save_image answers once it is durable.
  async function saveStudio(disposition) {
    if (!current) return;
    const a = current;
    const q = outputOptions();
    q.set('mode', 'save_image');
    q.set('disposition', disposition);
    if (disposition === 'add_conversion') q.set('conversion_name', $('conversion-name').value.trim());
    else if ($('inherit').checked) q.set('metadata', 'inherit');
    setMessage('bg-error', '');
    const st = $('save-status');
    st.className = 'status';
    st.textContent = 'Saving…';
    setSaveButtons(false);
    try {
      const j = await apiJSON(assetPath(a.id) + '/addons/bg_remove?' + q.toString());
      st.className = 'status ok';
      if (j.disposition === 'add_conversion') {
        st.textContent = 'Saved as conversion “' + j.conversion_name + '”.';
        if (current === a) await refreshCurrent();
      } else {
        st.textContent = 'Saved as a new asset. ';
        st.append(el('button', { type: 'button', class: 'linklike', id: 'open-new-asset', text: 'Open it',
          onclick: () => showAsset(j.new_asset_id) }));
        try { if (!$('search').value) addTile(await apiJSON(assetPath(j.new_asset_id)), $('order').value !== 'oldest'); }
        catch (_) { /* shown when opened */ }
        if (current === a) renderLineage(a);
      }
    } catch (e) {
      st.textContent = '';
      setMessage('bg-error', 'Not saved: ' + e.describe());
    } finally {
      setSaveButtons(live);
    }
  }

  // ---------------------------------------------------------------- public links

  // The options of a public link (POST .../delivery_urls): the size and
  // format asked for; for the cut-out, the studio's options.
  function linkRequest(variant) {
    const options = {};
    const w = $('link-width').value.trim();
    if (w) options.w = Number(w);
    if ($('link-format').value !== 'auto' || w || variant === 'bg_remove') options.format = $('link-format').value;
    if (variant === 'bg_remove') {
      const o = outputOptions();
      options.preset = $('opt-preset').value;
      options.channels = $('opt-channels').value;
      if (o.get('bg_color')) options.bg_color = o.get('bg_color');
      if (o.get('crop')) options.crop = true;
      if (o.get('crop_margin')) options.crop_margin = o.get('crop_margin');
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
      j = await apiJSON(assetPath(current.id) + '/delivery_urls', sendJSON('POST', linkRequest(variant)));
    } catch (e) {
      $('link-status').textContent = '';
      setMessage('link-error', 'Could not make the link: ' + e.describe());
      return;
    }
    const out = $('link-url');
    out.value = j.url;
    out.hidden = false;
    const until = j.expires_at ? ' It works until ' + when(j.expires_at) + '.' : '';
    if (await copyText(j.url)) {
      $('link-status').textContent = 'Copied to the clipboard.' + until;
    } else {
      out.select();
      $('link-status').textContent = 'Copy the link below.' + until;
    }
  }

  // ---------------------------------------------------------------- jobs

  let jobsCursor = null;
  let jobsTimer = null;

  function jobResult(j) {
    if (j.status === 'failed') return document.createTextNode(j.error || 'failed');
    const r = j.result || {};
    if (r.new_asset_id)
      return el('button', { type: 'button', class: 'linklike', text: 'new asset ' + r.new_asset_id.slice(0, 8) + '…',
        onclick: () => { location.hash = 'asset=' + r.new_asset_id; } });
    if (r.conversion_name) return document.createTextNode('conversion “' + r.conversion_name + '”');
    return document.createTextNode(j.status === 'succeeded' ? 'done' : '');
  }

  async function loadJobs(reset) {
    setMessage('jobs-message', '');
    const q = new URLSearchParams({ limit: '50' });
    if ($('jobs-status').value) q.set('status', $('jobs-status').value);
    if ($('jobs-asset').value.trim()) q.set('asset_id', $('jobs-asset').value.trim());
    if (!reset && jobsCursor) q.set('cursor', jobsCursor);
    let page;
    try { page = await apiJSON('/api/v1/jobs?' + q.toString()); }
    catch (e) { setMessage('jobs-message', 'Could not list the jobs: ' + e.describe()); return; }
    const body = $('jobs-table').tBodies[0];
    if (reset) body.textContent = '';
    for (const j of page.items) {
      const asset = j.asset_id ? el('button', { type: 'button', class: 'linklike', text: j.asset_id.slice(0, 8) + '…',
        'aria-label': 'Open asset ' + j.asset_id, onclick: () => { location.hash = 'asset=' + j.asset_id; } }) : '';
      if (asset) assetName(j.asset_id).then((n) => { if (n) asset.textContent = n; });
      body.append(el('tr', { 'data-id': j.id, 'data-status': j.status },
        el('td', {}, el('code', { text: j.id.slice(0, 8), title: j.id })),
        el('td', {}, el('span', { class: 'badge ' + j.status, text: j.status })),
        el('td', {}, asset), el('td', { text: j.kind }), el('td', { text: shortWhen(j.created_at) }),
        el('td', { text: j.finished_at ? shortWhen(j.finished_at) : '' }), el('td', {}, jobResult(j))));
    }
    jobsCursor = page.next_cursor;
    $('jobs-more').hidden = !jobsCursor;
    $('jobs-empty').hidden = body.children.length > 0;
  }

  // An asset's file name for the jobs table: from the grid, else asked
  // once (a deleted asset keeps its id).
  const names = new Map();
  function assetName(id) {
    if (assets.has(id)) return Promise.resolve(assets.get(id).filename);
    if (!names.has(id)) names.set(id, apiJSON(assetPath(id)).then((a) => a.filename, () => null));
    return names.get(id);
  }

  function jobsAutoRefresh(on) {
    clearInterval(jobsTimer);
    jobsTimer = null;
    if (on) jobsTimer = setInterval(() => {
      if (document.hidden) return;
      if ($('jobs-table').querySelector('tr[data-status="queued"], tr[data-status="running"]') || batch.timer) loadJobs(true);
    }, 2000);
  }

  // ---------------------------------------------------------------- webhooks

  let hookShown = null;

  async function loadHooks() {
    setMessage('hook-error', '');
    let page;
    try { page = await apiJSON('/api/v1/webhooks'); }
    catch (e) { setMessage('hook-error', 'Could not list the webhooks: ' + e.describe()); return; }
    const body = $('hooks-table').tBodies[0];
    body.textContent = '';
    for (const w of page.items) {
      body.append(el('tr', { 'data-id': w.id },
        el('td', {}, el('code', { text: w.url })), el('td', { text: w.events.join(', ') }),
        el('td', { text: w.description || '' }), el('td', { text: shortWhen(w.created_at) }),
        el('td', {}, el('div', { class: 'actions' },
          el('button', { type: 'button', text: 'Deliveries', 'aria-label': 'Deliveries of ' + w.url, onclick: () => loadDeliveries(w) }),
          el('button', { type: 'button', class: 'danger', text: 'Delete…', 'aria-label': 'Delete the webhook to ' + w.url,
            onclick: () => deleteHook(w) })))));
    }
    $('hooks-empty').hidden = page.items.length > 0;
    $('hooks-table').hidden = page.items.length === 0;
    if (hookShown && !page.items.some((w) => w.id === hookShown.id)) { hookShown = null; $('deliveries').hidden = true; }
  }

  async function createHook(ev) {
    ev.preventDefault();
    setMessage('hook-error', '');
    const events = Array.from(document.querySelectorAll('input[name="event"]:checked'), (c) => c.value);
    const body = { url: $('hook-url').value.trim(), events: events.includes('*') ? ['*'] : events,
      description: $('hook-desc').value.trim() };
    let w;
    try { w = await apiJSON('/api/v1/webhooks', sendJSON('POST', body)); }
    catch (e) { setMessage('hook-error', 'Not created: ' + e.describe()); return; }
    $('hook-secret-value').value = w.secret;
    $('hook-secret').hidden = false;
    $('hook-url').value = '';
    $('hook-desc').value = '';
    await loadHooks();
    loadDeliveries(w);
  }

  async function deleteHook(w) {
    if (!(await confirmDialog('Delete the webhook to ' + w.url + '? Its pending deliveries stop.', 'Delete webhook'))) return;
    try { await api('/api/v1/webhooks/' + encodeURIComponent(w.id), { method: 'DELETE' }); }
    catch (e) { setMessage('hook-error', 'Could not delete: ' + e.describe()); return; }
    $('hook-secret').hidden = true;
    loadHooks();
  }

  async function loadDeliveries(w) {
    hookShown = w;
    $('deliveries').hidden = false;
    $('deliveries-title').textContent = 'Deliveries to ' + w.url;
    let page;
    try { page = await apiJSON('/api/v1/webhooks/' + encodeURIComponent(w.id) + '/deliveries?limit=50'); }
    catch (e) { setMessage('hook-error', 'Could not list the deliveries: ' + e.describe()); return; }
    const body = $('deliveries-table').tBodies[0];
    body.textContent = '';
    for (const d of page.items)
      body.append(el('tr', { 'data-type': d.type, 'data-status': String(d.status || '') },
        el('td', {}, el('code', { text: d.event_id.slice(0, 12), title: d.event_id })), el('td', { text: d.type }),
        el('td', { text: String(d.attempt) }), el('td', { text: d.status ? 'HTTP ' + d.status : d.error || '' }),
        el('td', { text: d.duration_ms + ' ms' }), el('td', { text: shortWhen(d.created_at) })));
    $('deliveries-empty').hidden = page.items.length > 0;
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
    const next = tileOf(a.id) && (tileOf(a.id).nextElementSibling || tileOf(a.id).previousElementSibling);
    openerTile = next && next.querySelector('button.open');
    removeTile(a.id);
    current = null;
    $('drawer').close();
    $('search-summary').textContent = '“' + a.filename + '” was deleted.';
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    // a select that offers another's choices gets copies of them (declared once, in the studio)
    for (const sel of document.querySelectorAll('select[data-choices]'))
      for (const o of $(sel.dataset.choices).options) sel.append(new Option(o.text, o.value, o.defaultSelected, o.defaultSelected));
    // the batch's backgrounds are the studio's swatches (the picker aside)
    for (const r of document.querySelectorAll('input[name="bg"]:not([value="custom"])'))
      $('batch-bg').append(new Option(r.parentElement.textContent.trim().toLowerCase(), r.value, r.defaultChecked, r.defaultChecked));
    $('key-form').addEventListener('submit', (ev) => { ev.preventDefault(); useKey($('key-input').value.trim()); });
    $('key-forget').addEventListener('click', () => signOut('Key forgotten. Paste a key to continue.'));
    window.addEventListener('hashchange', () => route(false));
    window.addEventListener('popstate', () => route(false));

    // the library
    $('search-form').addEventListener('submit', runSearch);
    $('order').addEventListener('change', runSearch);
    $('search-clear').addEventListener('click', () => { $('search').value = ''; runSearch(); });
    $('load-more').addEventListener('click', loadMore);
    endSeen.observe($('list-end'));
    $('uploads-clear').addEventListener('click', () => {
      // the finished rows go; those still uploading stay
      for (const li of Array.from($('uploads').children))
        if (li.querySelector('.done, .failed')) li.remove();
      $('uploads-clear').hidden = $('uploads').children.length === 0;
    });
    $('file-input').addEventListener('change', (ev) => { uploadAll(ev.target.files); ev.target.value = ''; });
    // files dropped anywhere on the library are uploaded
    const lib = $('library');
    lib.classList.add('library-drop');
    const dropOk = () => scope !== 'read';
    for (const target of [lib, $('drop')]) {
      target.addEventListener('dragover', (ev) => { ev.preventDefault(); if (dropOk()) lib.classList.add('over'); });
      target.addEventListener('dragleave', (ev) => { if (ev.target === lib) lib.classList.remove('over'); });
      target.addEventListener('drop', (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
        lib.classList.remove('over');
        if (dropOk() && ev.dataTransfer && ev.dataTransfer.files.length) uploadAll(ev.dataTransfer.files);
      });
    }
    // a file dropped elsewhere must not navigate away from the page
    window.addEventListener('dragover', (ev) => ev.preventDefault());
    window.addEventListener('drop', (ev) => ev.preventDefault());

    // the selection
    $('select-all').addEventListener('click', selectAll);
    $('sel-clear').addEventListener('click', () => { selected.clear(); syncSelection(); });
    $('sel-delete').addEventListener('click', deleteSelected);
    $('sel-links').addEventListener('click', linksForSelected);
    $('sel-cutout').addEventListener('click', () => {
      const n = selected.size;
      $('batch-n').textContent = String(n);
      setMessage('batch-error', '');
      $('batch-dialog').returnValue = '';
      $('batch-dialog').showModal();
    });
    $('batch-dialog').addEventListener('close', () => { if ($('batch-dialog').returnValue === 'ok') startBatch(); });
    $('batch-name').addEventListener('input', () => setMessage('batch-error', ''));
    $('batch-start').addEventListener('click', (ev) => {
      const as = document.querySelector('input[name="batch-as"]:checked').value;
      if (as === 'add_conversion' && !/^[a-zA-Z0-9_-]{1,30}$/.test($('batch-name').value.trim())) {
        ev.preventDefault();
        setMessage('batch-error', 'A conversion name is 1 to 30 of A–Z, a–z, 0–9, _ and - (parameter: conversion_name).');
      }
    });
    document.addEventListener('keydown', (ev) => {
      // Escape clears a selection when no dialog is open
      if (ev.key === 'Escape' && selected.size && !document.querySelector('dialog[open]')) { selected.clear(); syncSelection(); }
    });

    // the drawer
    $('drawer-close').addEventListener('click', () => $('drawer').close());
    $('drawer-prev').addEventListener('click', () => stepAsset(-1));
    $('drawer-next').addEventListener('click', () => stepAsset(1));
    // arrow keys step through the library, unless a field wants them
    $('drawer').addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
      if (ev.target.closest('input, select, textarea')) return;
      ev.preventDefault();
      stepAsset(ev.key === 'ArrowLeft' ? -1 : 1);
    });
    $('drawer').addEventListener('close', closeDrawer);
    $('download-original').addEventListener('click', async () => {
      if (!current) return;
      try { saveBlob(await (await api(assetPath(current.id) + '/file')).blob(), current.filename); }
      catch (e) { setMessage('detail-message', 'Could not download: ' + e.describe()); }
    });
    $('delete-asset').addEventListener('click', deleteAsset);
    $('custom-form').addEventListener('submit', saveCustomData);
    $('link-form').addEventListener('submit', (ev) => { ev.preventDefault(); if (current) makeLink($('link-of').value); });
    $('link-cutout').addEventListener('click', () => {
      if (!current) return;
      $('link-of').value = 'bg_remove';
      makeLink('bg_remove');
      $('link-form').scrollIntoView({ block: 'nearest' });
    });
    $('bg-run').addEventListener('click', render);
    $('bg-form').addEventListener('submit', (ev) => ev.preventDefault());
    $('bg-form').addEventListener('change', optionsChanged);
    $('opt-bg').addEventListener('input', () => { $('bg-custom').checked = true; optionsChanged(); });
    $('opt-margin').addEventListener('input', optionsChanged);
    $('save-conversion').addEventListener('click', () => saveStudio('add_conversion'));
    $('save-asset').addEventListener('click', () => saveStudio('add_new_asset'));
    $('compare-range').addEventListener('input', (ev) => setCompare(Number(ev.target.value)));
    // drag the divider on the picture itself
    const stage = $('stage');
    const dragTo = (ev) => {
      const r = stage.getBoundingClientRect();
      const v = Math.max(0, Math.min(100, Math.round((100 * (ev.clientX - r.left)) / r.width)));
      $('compare-range').value = String(v);
      setCompare(v);
    };
    stage.addEventListener('pointerdown', (ev) => {
      if ($('before-clip').hidden) return;
      ev.preventDefault(); // no text selection, no image drag
      stage.setPointerCapture(ev.pointerId);
      dragTo(ev);
    });
    stage.addEventListener('pointermove', (ev) => { if (stage.hasPointerCapture(ev.pointerId)) dragTo(ev); });

    // jobs and webhooks
    $('jobs-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams({ view: 'jobs' });
      if ($('jobs-status').value) p.set('status', $('jobs-status').value);
      if ($('jobs-asset').value.trim()) p.set('asset_id', $('jobs-asset').value.trim());
      setHash(p, true);
      route(false);
    });
    $('jobs-status').addEventListener('change', () => $('jobs-form').requestSubmit());
    $('jobs-refresh').addEventListener('click', () => loadJobs(true));
    $('jobs-more').addEventListener('click', () => loadJobs(false));
    $('hook-form').addEventListener('submit', createHook);
    $('deliveries-refresh').addEventListener('click', () => { if (hookShown) loadDeliveries(hookShown); });
  }

  wire();
  if (key) useKey(key);
  else $('key-input').focus();
})();
