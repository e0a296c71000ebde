// sitetoken console: vanilla JavaScript, no library. Every value from the
// server reaches the page as text (textContent, never innerHTML), and every
// call carries the per-session token, kept in sessionStorage (per origin,
// so pages on other ports cannot read it).
'use strict';

const TOKEN = (() => {
  const meta = document.querySelector('meta[name="console-token"]');
  let t = meta ? meta.getAttribute('content') : '';
  if (t && t !== '__CONSOLE_TOKEN__') sessionStorage.setItem('consoleToken', t);
  else t = sessionStorage.getItem('consoleToken') || '';
  if (meta) meta.setAttribute('content', '');
  return t;
})();

// ---- helpers ------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

async function api(method, path, body) {
  const opts = { method, headers: { 'X-Console-Token': TOKEN }, cache: 'no-store',
                 credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch('/api/' + path, opts);
  const text = await r.text();
  let doc = null;
  try { doc = JSON.parse(text); } catch (e) { doc = { detail: text }; }
  if (!r.ok) {
    const err = new Error((doc && (doc.detail || doc.title)) || ('HTTP ' + r.status));
    err.code = doc && doc.code;
    err.status = r.status;
    throw err;
  }
  return doc;
}

function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

function say(msg, kind) {
  const s = document.getElementById('status');
  s.textContent = msg || '';
  s.className = kind || '';
}

function fail(e) {
  say((e.code ? e.code + ': ' : '') + e.message, 'error');
}

function when(t) {
  if (!t) return '—';
  return t.replace('T', ' ').replace('Z', ' UTC');
}

function badge(status) {
  return el('span', { class: 'badge s-' + status, 'data-status': status }, status);
}

// A confirmation that says what the action affects before it is done.
function confirmAction(title, text, impact) {
  return new Promise((resolve) => {
    const d = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-impact').textContent = impact || '';
    const ok = document.getElementById('confirm-ok');
    const cancel = document.getElementById('confirm-cancel');
    const done = (v) => {
      ok.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      d.removeEventListener('cancel', no);
      d.close();
      resolve(v);
    };
    const yes = () => done(true);
    const no = (ev) => { if (ev) ev.preventDefault(); done(false); };
    ok.addEventListener('click', yes);
    cancel.addEventListener('click', no);
    d.addEventListener('cancel', no);
    d.showModal();
  });
}

async function impactText(kind, id) {
  const i = await api('GET', 'impact' + q({ [kind]: id }));
  return 'Affects ' + i.devices + (i.devices === 1 ? ' device' : ' devices') + ' and ' +
    i.live_tokens + (i.live_tokens === 1 ? ' live token' : ' live tokens') + ': ' + i.effect + '.';
}

// Runs a destructive action after its confirmation, then re-renders.
async function guarded(title, text, kind, id, action, after) {
  try {
    const impact = await impactText(kind, id);
    if (!(await confirmAction(title, text, impact))) { say('Cancelled.'); return; }
    const doc = await action();
    say(title + ': done.', 'ok');
    if (after) await after(doc);
  } catch (e) { fail(e); }
}

function shownOnce(label, secret) {
  const code = el('code', { class: 'mono', id: 'shown-secret' }, secret);
  const copy = el('button', { type: 'button', class: 'secondary', id: 'copy-secret', onclick: async () => {
    try { await navigator.clipboard.writeText(secret); say('Copied.', 'ok'); }
    catch (e) { const r = document.createRange(); r.selectNodeContents(code);
      const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
      say('Selected: press Ctrl+C to copy.'); }
  } }, 'Copy');
  return el('div', { class: 'secret' }, el('strong', {}, label + ' (shown once; it is not stored):'), code, copy);
}

// A paged table: fetch(cursor) returns {items, next}; row(item) returns a <tr>.
function pagedTable(headers, fetchPage, row, id) {
  const body = el('tbody');
  const table = el('table', { id }, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), body);
  const more = el('button', { type: 'button', class: 'secondary', id: id + '-more', hidden: true }, 'More');
  const count = el('span', { class: 'muted' });
  let next = null, n = 0;
  async function load(reset) {
    try {
      if (reset) { body.replaceChildren(); next = null; n = 0; }
      const doc = await fetchPage(next);
      for (const it of doc.items) body.append(row(it));
      n += doc.items.length;
      next = doc.next;
      more.hidden = !next;
      count.textContent = n + (next ? ' shown, more on the server' : ' shown');
    } catch (e) { fail(e); }
  }
  more.addEventListener('click', () => load(false));
  return { node: el('div', {}, table, el('div', { class: 'pager' }, more, count)), load };
}

// ---- overview ---------------------------------------------------------------

function chart(pm) {
  const n = pm.minutes, w = 1000, h = 170, pad = 22;
  const issued = pm.issued_client.map((c, i) => c + pm.issued_access[i]);
  const max = Math.max(1, ...issued, ...pm.refusals);
  const bw = (w - pad) / n;
  const s = svg('svg', { class: 'chart', viewBox: '0 0 ' + w + ' ' + h, preserveAspectRatio: 'none',
                         role: 'img', 'aria-label': 'issuances and refusals per minute', id: 'chart' });
  for (let i = 0; i < n; i++) {
    const x = pad + i * bw;
    if (issued[i] > 0) {
      const bh = (h - pad) * issued[i] / max;
      s.append(svg('rect', { class: 'issued', x, y: h - pad - bh, width: Math.max(bw * 0.5, 1), height: bh,
                             'data-minute': i, 'data-issued': issued[i] }));
    }
    if (pm.refusals[i] > 0) {
      const bh = (h - pad) * pm.refusals[i] / max;
      s.append(svg('rect', { class: 'refused', x: x + bw * 0.5, y: h - pad - bh, width: Math.max(bw * 0.5, 1),
                             height: bh, 'data-minute': i, 'data-refusals': pm.refusals[i] }));
    }
  }
  const t1 = svg('text', { x: 2, y: 10 }); t1.textContent = String(max); s.append(t1);
  const t2 = svg('text', { x: pad, y: h - 6 }); t2.textContent = when(pm.start); s.append(t2);
  const t3 = svg('text', { x: w - 60, y: h - 6 }); t3.textContent = 'now'; s.append(t3);
  return { node: s, issued };
}

async function pageOverview(root) {
  const hoursSel = el('select', { id: 'hours' }, [1, 6, 24].map((v) => el('option', { value: v, selected: v === 6 }, v + ' h')));
  const box = el('div');
  root.append(el('h2', {}, 'Overview'), box);
  async function render() {
    const [ov, keys, st] = await Promise.all([api('GET', 'overview' + q({ hours: hoursSel.value })),
                                              api('GET', 'keys'), api('GET', 'status')]);
    document.getElementById('site').textContent = st.site_code + ' · ' + st.issuer + ' · v' + st.version;
    const c = ov.counts;
    const stats = [['devices', 'Devices'], ['devices_blocked', 'Blocked devices'], ['tokens_unexpired', 'Unexpired tokens'],
                   ['bulk_live', 'Live bulk tokens'], ['bulk_tokens', 'Bulk tokens'], ['mps', 'MPs']];
    const grid = el('div', { class: 'grid', id: 'counts' },
      stats.map(([k, label]) => el('div', { class: 'stat', 'data-key': k, 'data-value': c[k] },
        el('div', { class: 'v' }, c[k].toLocaleString()), el('div', { class: 'k' }, label))),
      el('div', { class: 'stat', 'data-key': 'feed_serial', 'data-value': ov.feed.serial },
        el('div', { class: 'v mono' }, String(ov.feed.serial)), el('div', { class: 'k' }, 'Revocation feed serial')),
      el('div', { class: 'stat', 'data-key': 'subscribers', 'data-value': ov.feed.subscribers },
        el('div', { class: 'v' }, String(ov.feed.subscribers)), el('div', { class: 'k' }, 'Event-stream subscribers')));
    const pm = ov.per_minute;
    const ch = chart(pm);
    const totalIssued = ch.issued.reduce((a, b) => a + b, 0);
    const totalRefused = pm.refusals.reduce((a, b) => a + b, 0);
    const rows = [];
    const start = Date.parse(pm.start);
    for (let i = pm.minutes - 1; i >= 0; i--) {
      if (ch.issued[i] === 0 && pm.refusals[i] === 0) continue;
      const t = new Date(start + i * 60000).toISOString().slice(0, 16).replace('T', ' ');
      rows.push(el('tr', { 'data-minute': t, 'data-issued': ch.issued[i], 'data-refusals': pm.refusals[i] },
        el('td', {}, t), el('td', {}, pm.issued_client[i]), el('td', {}, pm.issued_access[i]), el('td', {}, pm.refusals[i])));
    }
    const series = el('table', { id: 'series', 'data-issued': totalIssued, 'data-refusals': totalRefused },
      el('thead', {}, el('tr', {}, el('th', {}, 'minute (UTC)'), el('th', {}, 'client tokens'),
        el('th', {}, 'access tokens'), el('th', {}, 'refusals'))), el('tbody', {}, rows));
    const order = { next: 0, active: 1, retired: 2, tainted: 3 };
    const ks = keys.items.slice().sort((a, b) => (order[a.status] - order[b.status]) || (a.created_at < b.created_at ? 1 : -1));
    const timeline = el('ol', { class: 'timeline', id: 'key-timeline' }, ks.map((k) => el('li', { 'data-kid': k.kid, 'data-status': k.status },
      badge(k.status), ' ', el('span', { class: 'mono' }, k.kid), el('br'),
      el('span', { class: 'muted' }, k.alg + ' · created ' + when(k.created_at)), el('br'),
      k.status === 'next' ? 'activates ' + when(k.activates_at) : k.status === 'active' ? 'active since ' + when(k.activates_at) :
        'retired ' + when(k.retired_at) + (k.removed_after ? ', unpublished after ' + when(k.removed_after) : ''))));
    box.replaceChildren(grid,
      el('div', { class: 'card' }, el('h3', {}, 'Issuances and refusals per minute, last ', hoursSel),
        el('div', { class: 'legend' }, el('span', {}, el('span', { class: 'sw issued' }), 'issued (' + totalIssued + ')'),
          el('span', {}, el('span', { class: 'sw refused' }), 'refused (' + totalRefused + ')')),
        ch.node, el('details', { class: 'series' }, el('summary', {}, 'The numbers (minutes with any)'), series)),
      el('div', { class: 'card' }, el('h3', {}, 'Signing keys: next → active → retired'), timeline));
  }
  hoursSel.addEventListener('change', () => render().catch(fail));
  await render();
}

// ---- bulk tokens --------------------------------------------------------------

function usesCell(b) {
  if (b.max_uses) return el('td', {}, el('progress', { max: b.max_uses, value: Math.min(b.uses, b.max_uses) }), ' ' + b.uses + ' / ' + b.max_uses);
  return el('td', {}, b.uses + ' (no cap)');
}

async function pageBulk(root) {
  const lifetime = el('input', { type: 'number', min: 1, id: 'bulk-lifetime', placeholder: '4320' });
  const maxUses = el('input', { type: 'number', min: 1, id: 'bulk-max-uses', placeholder: 'no cap' });
  const note = el('input', { type: 'text', maxlength: 256, id: 'bulk-note', size: 30 });
  const created = el('div', { id: 'bulk-created' });
  let table;
  const form = el('form', { class: 'inline', id: 'bulk-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = {};
    if (lifetime.value) body.lifetime_minutes = Number(lifetime.value);
    if (maxUses.value) body.max_uses = Number(maxUses.value);
    if (note.value) body.note = note.value;
    try {
      const doc = await api('POST', 'bulk-tokens', body);
      created.replaceChildren(el('p', {}, 'Bulk token ', el('span', { class: 'mono', id: 'bulk-created-id' }, doc.id),
        ', valid until ' + when(doc.expires_at) + '.'), shownOnce('The token', doc.token));
      say('Bulk token created.', 'ok');
      table.load(true);
    } catch (e) { fail(e); }
  } }, el('label', {}, 'Lifetime (minutes)', lifetime), el('label', {}, 'Max uses', maxUses),
  el('label', {}, 'Note', note), el('button', { type: 'submit', id: 'bulk-create' }, 'Create bulk token'));
  table = pagedTable(['ID', 'Status', 'Uses', 'Created', 'Expires', 'Last use', 'Note', ''],
    (after) => api('GET', 'bulk-tokens' + q({ after, limit: 50 })),
    (b) => el('tr', { 'data-id': b.id, 'data-status': b.status },
      el('td', { class: 'mono' }, b.id), el('td', {}, badge(b.status)), usesCell(b),
      el('td', {}, when(b.created_at)), el('td', {}, when(b.expires_at)), el('td', {}, when(b.last_used_at)),
      el('td', { class: 'note' }, b.note),
      el('td', {}, b.status === 'blocked'
        ? el('button', { type: 'button', class: 'secondary', 'data-action': 'unblock', onclick: () =>
          guarded('Unblock bulk token', 'Unblock ' + b.id + '? Exchanges with it are allowed again.', 'bulk_id', b.id,
            () => api('POST', 'bulk-tokens/' + encodeURIComponent(b.id) + '/unblock'), () => table.load(true)) }, 'Unblock')
        : el('button', { type: 'button', class: 'danger', 'data-action': 'block', onclick: () =>
          guarded('Block bulk token', 'Block ' + b.id + (b.note ? ' (' + b.note + ')' : '') + '?', 'bulk_id', b.id,
            () => api('POST', 'bulk-tokens/' + encodeURIComponent(b.id) + '/block', {}), () => table.load(true)) }, 'Block'))),
    'bulk-table');
  root.append(el('h2', {}, 'Bulk tokens'), el('div', { class: 'card' }, el('h3', {}, 'New bulk token'), form, created),
    table.node);
  await table.load(true);
}

// ---- devices ------------------------------------------------------------------

function tokenRow(t, after) {
  const reason = el('input', { type: 'text', size: 12, placeholder: 'reason', 'aria-label': 'reason', maxlength: 128 });
  const live = t.status === 'active' || t.status === 'device_blocked';
  return el('tr', { 'data-jti': t.jti, 'data-status': t.status },
    el('td', { class: 'mono' }, t.jti), el('td', {}, t.kind), el('td', {}, badge(t.status)),
    el('td', {}, t.gen === undefined ? '—' : t.gen), el('td', {}, when(t.issued_at)), el('td', {}, when(t.expires_at)),
    el('td', { class: 'mono' }, t.device_id),
    el('td', {}, live ? [reason, ' ', el('button', { type: 'button', class: 'danger', 'data-action': 'revoke', onclick: () =>
      guarded('Revoke token', 'Revoke ' + t.jti + ' and its whole family (renewals and access tokens)?', 'jti', t.jti,
        () => api('POST', 'tokens/' + encodeURIComponent(t.jti) + '/revoke', reason.value ? { reason: reason.value } : {}),
        after) }, 'Revoke')] : (t.revoke_reason ? 'reason: ' + t.revoke_reason : '')));
}

const TOKEN_HEADERS = ['JTI', 'Kind', 'Status', 'Gen', 'Issued', 'Expires', 'Device', ''];

async function showDevice(panel, id) {
  try {
    const [d, audit] = await Promise.all([api('GET', 'devices/' + encodeURIComponent(id)),
      api('GET', 'audit/recent' + q({ subject: id, limit: 20 }))]);
    const reload = () => showDevice(panel, id);
    const fields = [['ID', d.id], ['Name', d.name], ['Hardware id', d.hardware_id], ['Registration', d.reg],
      ['Bulk token', d.bulk_id], ['MP', d.mp_id], ['Key thumbprint', d.jkt], ['Created', when(d.created_at)], ['Last seen', when(d.last_seen_at)]];
    const action = d.status === 'blocked'
      ? el('button', { type: 'button', class: 'secondary', id: 'device-unblock', onclick: () => guarded('Unblock device',
        'Unblock ' + d.name + ' (' + d.id + ')?', 'device_id', d.id, () => api('POST', 'devices/' + encodeURIComponent(d.id) + '/unblock'), reload) }, 'Unblock')
      : el('button', { type: 'button', class: 'danger', id: 'device-block', onclick: () => guarded('Block device',
        'Block ' + d.name + ' (' + d.id + ')?', 'device_id', d.id, () => api('POST', 'devices/' + encodeURIComponent(d.id) + '/block', {}), reload) }, 'Block');
    panel.replaceChildren(el('div', { class: 'card', id: 'device-detail', 'data-id': d.id, 'data-status': d.status },
      el('h3', {}, 'Device ', el('span', { class: 'device-name' }, d.name), ' ', badge(d.status), ' ', action),
      el('table', {}, el('tbody', {}, fields.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { class: 'mono' }, v || '—'))))),
      el('h3', {}, 'Tokens (newest first)'),
      el('table', { id: 'device-tokens' }, el('thead', {}, el('tr', {}, TOKEN_HEADERS.map((h) => el('th', {}, h)))),
        el('tbody', {}, d.tokens.map((t) => tokenRow(t, reload)))),
      d.tokens_next ? el('p', { class: 'muted' }, 'More on the Tokens page.') : null,
      el('h3', {}, 'Audit records'),
      el('table', { id: 'device-audit' }, el('tbody', {}, audit.items.map((a) => el('tr', {},
        el('td', {}, a.seq), el('td', {}, when(a.time)), el('td', {}, a.action), el('td', {}, a.actor),
        el('td', { class: 'mono' }, JSON.stringify(a.detail))))))));
  } catch (e) { fail(e); }
}

async function pageDevices(root) {
  const by = el('select', { id: 'device-by' }, el('option', { value: 'name' }, 'name'),
    el('option', { value: 'hardware_id' }, 'hardware id'), el('option', { value: 'id' }, 'device id'));
  const text = el('input', { type: 'search', id: 'device-q', size: 30, placeholder: 'starts with…' });
  const panel = el('div', { id: 'device-panel' });
  const table = pagedTable(['Name', 'Hardware id', 'Status', 'Reg', 'Last seen', 'ID'],
    (after) => api('GET', 'search/devices' + q({ by: by.value, q: text.value, after, limit: 50 })),
    (d) => el('tr', { 'data-id': d.id, 'data-status': d.status },
      el('td', { class: 'device-name' }, el('a', { href: '#devices', onclick: (ev) => { ev.preventDefault(); showDevice(panel, d.id); } }, d.name)),
      el('td', { class: 'mono' }, d.hardware_id), el('td', {}, badge(d.status)), el('td', {}, d.reg),
      el('td', {}, when(d.last_seen_at)), el('td', { class: 'mono' }, d.id)), 'device-table');
  const form = el('form', { class: 'inline', id: 'device-search', onsubmit: (ev) => { ev.preventDefault(); table.load(true); } },
    el('label', {}, 'Search by', by), el('label', {}, 'Prefix', text), el('button', { type: 'submit' }, 'Search'));
  root.append(el('h2', {}, 'Devices'), form, el('div', { class: 'split' }, table.node, panel));
  await table.load(true);
}

// ---- tokens --------------------------------------------------------------------

async function pageTokens(root) {
  const dev = el('input', { type: 'text', id: 'token-device', size: 44, placeholder: 'GUID:…' });
  let table;
  table = pagedTable(TOKEN_HEADERS, (after) => api('GET', 'tokens' + q({ device_id: dev.value.trim(), after, limit: 50 })),
    (t) => tokenRow(t, () => table.load(true)), 'token-table');
  const form = el('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); table.load(true); } },
    el('label', {}, 'Device id (optional)', dev), el('button', { type: 'submit' }, 'List'));
  root.append(el('h2', {}, 'Tokens'), form, table.node);
  await table.load(true);
}

// ---- MPs -------------------------------------------------------------------------

async function pageMps(root) {
  const name = el('input', { type: 'text', id: 'mp-name', size: 24, maxlength: 128 });
  const created = el('div', { id: 'mp-created' });
  let table;
  const form = el('form', { class: 'inline', id: 'mp-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const doc = await api('POST', 'mps', { name: name.value });
      created.replaceChildren(el('p', {}, 'MP ' + doc.name + ' (' + doc.id + ')'), shownOnce('Its API key', doc.api_key));
      say('MP added.', 'ok');
      table.load(true);
    } catch (e) { fail(e); }
  } }, el('label', {}, 'Name', name), el('button', { type: 'submit', id: 'mp-add' }, 'Add MP'));
  table = pagedTable(['Name', 'ID', 'Created', ''], (after) => api('GET', 'mps' + q({ after })),
    (m) => el('tr', { 'data-id': m.id }, el('td', {}, m.name), el('td', { class: 'mono' }, m.id), el('td', {}, when(m.created_at)),
      el('td', {}, el('button', { type: 'button', class: 'danger', 'data-action': 'remove', onclick: () =>
        guarded('Remove MP', 'Remove MP ' + m.name + '? Its key stops working at once.', 'mp_id', m.id,
          () => api('DELETE', 'mps/' + encodeURIComponent(m.id)), () => table.load(true)) }, 'Remove'))), 'mp-table');
  root.append(el('h2', {}, 'Management points'), el('div', { class: 'card' }, form, created), table.node);
  await table.load(true);
}

// ---- keys ----------------------------------------------------------------------------

async function pageKeys(root) {
  const box = el('div');
  async function render(doc) {
    doc = doc || await api('GET', 'keys');
    box.replaceChildren(el('table', { id: 'key-table' }, el('thead', {}, el('tr', {},
      ['KID', 'Alg', 'Status', 'Created', 'Activates', 'Retired', 'Unpublished after'].map((h) => el('th', {}, h)))),
      el('tbody', {}, doc.items.map((k) => el('tr', { 'data-kid': k.kid, 'data-status': k.status },
        el('td', { class: 'mono' }, k.kid), el('td', {}, k.alg), el('td', {}, badge(k.status)), el('td', {}, when(k.created_at)),
        el('td', {}, when(k.activates_at)), el('td', {}, when(k.retired_at)), el('td', {}, when(k.removed_after)))))));
  }
  async function rotate(now) {
    const text = now ? 'A new key signs at once; the active key retires and stays published until nothing it signed is valid. Gateways that have not fetched the new key yet refetch it on the unknown kid.'
      : 'A new key is published as next and activates after the prepublish period; nothing changes for devices now.';
    if (!(await confirmAction(now ? 'Rotate now' : 'Rotate', text, 'Affects every gateway (new key to fetch); no device or token is revoked.'))) { say('Cancelled.'); return; }
    try { const doc = await api('POST', 'keys/rotate', { now }); say('Rotated: ' + (doc.changed || 'nothing changed'), 'ok'); await render(doc); }
    catch (e) { fail(e); }
  }
  root.append(el('h2', {}, 'Signing keys'), el('div', { class: 'inline' },
    el('button', { type: 'button', id: 'key-rotate', onclick: () => rotate(false) }, 'Rotate (prepublish)'), ' ',
    el('button', { type: 'button', class: 'danger', id: 'key-rotate-now', onclick: () => rotate(true) }, 'Rotate now')), box);
  await render();
}

// ---- audit -------------------------------------------------------------------------------

async function pageAudit(root) {
  const action = el('input', { type: 'text', id: 'audit-action', size: 18, placeholder: 'e.g. device. or bulk.block' });
  const subject = el('input', { type: 'text', id: 'audit-subject', size: 40 });
  const actor = el('input', { type: 'text', id: 'audit-actor', size: 16 });
  const result = el('div', { id: 'verify-result' });
  const table = pagedTable(['Seq', 'Time', 'Actor', 'Action', 'Subject', 'Detail'],
    (before) => api('GET', 'audit/recent' + q({ before, action: action.value, subject: subject.value, actor: actor.value, limit: 50 })),
    (a) => el('tr', { 'data-seq': a.seq, 'data-action': a.action }, el('td', {}, a.seq), el('td', {}, when(a.time)),
      el('td', {}, a.actor), el('td', {}, a.action), el('td', { class: 'mono' }, a.subject),
      el('td', { class: 'mono' }, JSON.stringify(a.detail))), 'audit-table');
  const verify = el('button', { type: 'button', id: 'audit-verify', class: 'secondary', onclick: async () => {
    result.textContent = 'Verifying…';
    try {
      const v = await api('GET', 'audit/verify');
      result.dataset.ok = String(v.ok);
      result.className = v.ok ? 's-active' : 's-blocked';
      result.textContent = v.ok ? 'Chain intact: ' + v.records + ' records, head ' + v.head
        : 'Chain BROKEN at seq ' + v.first_bad_seq + ' (' + v.records + ' records)';
    } catch (e) { fail(e); }
  } }, 'Verify chain');
  const form = el('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); table.load(true); } },
    el('label', {}, 'Action', action), el('label', {}, 'Subject', subject), el('label', {}, 'Actor', actor),
    el('button', { type: 'submit' }, 'Filter'), verify);
  root.append(el('h2', {}, 'Audit trail (newest first)'), form, result, table.node);
  await table.load(true);
}

// ---- router ----------------------------------------------------------------------------------

const PAGES = { overview: pageOverview, bulk: pageBulk, devices: pageDevices, tokens: pageTokens,
                mps: pageMps, keys: pageKeys, audit: pageAudit };

async function route() {
  const name = (location.hash || '#overview').slice(1);
  const page = PAGES[name] ? name : 'overview';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.page === page);
  const root = document.getElementById('page');
  const fresh = el('div', { id: 'page-' + page });
  root.replaceChildren(fresh);
  root.dataset.loading = '1';
  say('');
  try { await PAGES[page](fresh); } catch (e) { fail(e); }
  delete root.dataset.loading;
  root.dataset.page = page;
}

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  if (!TOKEN) { say('This page has no session token: run sitetokenctl ui again and open the new URL.', 'error'); return; }
  route();
});
