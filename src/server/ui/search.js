// bt serve web UI, search page: the index through /api/v1/search (bt search's grammar), facet chips that add
// filters, sortable results, and per result copy magnet, download (adds to this bt serve) and stream (adds, then
// opens the torrent's page, whose player starts once metadata is in). State lives in the URL so a search is a link.

const $ = (id) => document.getElementById(id)
const PAGE = 50
const state = { key: localStorage.getItem('bt-apikey') || '', q: '', sort: '', offset: 0, filters: new Map(), last: null }

class Unauthorized extends Error {}

async function api(path, opts = {}) {
  const headers = {}
  if (state.key) headers['X-Api-Key'] = state.key
  let body
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  const res = await fetch(`/api/v1${path}`, { method: opts.method || (body ? 'POST' : 'GET'), headers, body })
  if (res.status === 401) throw new Unauthorized('API key needed')
  const json = await res.json().catch(() => ({}))
  if (!res.ok) {
    const err = new Error(json.error || `HTTP ${res.status}`)
    err.status = res.status
    throw err
  }
  return json
}

function status(msg, error = false) {
  $('status').textContent = msg || ''
  $('status').className = error ? 'error' : ''
}

function bytes(n) {
  if (!n) return '0 B'
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)))
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${u[i]}`
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v
    else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v)
    else e[k] = v
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c)
  return e
}

// --- URL state ---------------------------------------------------------------------------------------------------

const FACETS = [
  ['type', 'type', 'Type'],
  ['resolution', 'res', 'Resolution'],
  ['year', 'year', 'Year'],
  ['source', 'source', 'Source'],
  ['language', 'lang', 'Language'],
]

function readUrl() {
  const p = new URLSearchParams(location.search)
  state.q = p.get('q') || ''
  state.sort = p.get('sort') || ''
  state.offset = Number(p.get('offset')) || 0
  state.filters = new Map()
  for (const [, param] of FACETS) if (p.get(param)) state.filters.set(param, p.get(param))
  $('q').value = state.q
}

function params() {
  const p = new URLSearchParams()
  if (state.q) p.set('q', state.q)
  if (state.sort) p.set('sort', state.sort)
  if (state.offset) p.set('offset', String(state.offset))
  for (const [k, v] of state.filters) p.set(k, v)
  return p
}

// --- rendering -----------------------------------------------------------------------------------------------------

function renderChips(facets) {
  const box = $('chips')
  box.replaceChildren()
  if (!facets) return
  for (const [name, param, label] of FACETS) {
    const active = state.filters.get(param)
    const values = (facets[name] || []).slice(0, name === 'year' ? 8 : 10)
    if (!values.length && !active) continue
    box.append(el('span', { class: 'group' }, label))
    // The active chip stays even when the facet (narrowed by it) lists only it.
    const list = values.map((v) => ({ value: String(v.value), count: v.count }))
    if (active && !list.some((v) => v.value === active)) list.unshift({ value: active, count: 0 })
    for (const v of list) {
      const on = active === v.value
      const b = el('button', { type: 'button', class: 'chip', 'aria-pressed': String(on), 'data-param': param, 'data-value': v.value },
        v.value.replace('_', ' '), el('span', { class: 'count' }, String(v.count)))
      b.title = on ? `Remove the filter ${param}:${v.value}` : `Only ${param}:${v.value}`
      b.addEventListener('click', () => {
        if (on) state.filters.delete(param)
        else state.filters.set(param, v.value)
        state.offset = 0
        search()
      })
      box.append(b)
    }
  }
}

/** File types held by the matches: counts only (the index cannot filter by them yet), so plain text, not chips. */
function renderFileTypes(facets) {
  const box = $('filetypes')
  if (!box) return
  const values = (facets && facets.fileType) || []
  box.replaceChildren()
  box.hidden = values.length === 0
  if (!values.length) return
  box.append(el('span', { class: 'group' }, 'Files'))
  for (const v of values.slice(0, 8)) box.append(el('span', { class: 'filetype' }, String(v.value), el('span', { class: 'count' }, String(v.count))))
}

function tagsOf(t) {
  const c = t.classification
  const pad = (n) => String(n).padStart(2, '0')
  const ep = c.seasons.length ? `S${pad(c.seasons[0])}${c.episodes.length ? `E${pad(c.episodes[0])}` : ''}` : ''
  return [c.contentType.replace('_', ' '), c.year, ep, c.resolution, c.source, c.releaseGroup].filter(Boolean).join(' · ')
}

async function addTorrent(t) {
  try {
    await api('/torrents', { body: { uri: t.magnet } })
    return true
  } catch (err) {
    if (err.status === 409) return false // already there
    throw err
  }
}

function row(t) {
  const copy = el('button', { type: 'button', class: 'copy' }, 'Copy magnet')
  copy.addEventListener('click', () => act(async () => {
    try {
      await navigator.clipboard.writeText(t.magnet)
    } catch {
      // No clipboard permission (plain http on a LAN address): show the link to copy by hand.
      window.prompt('Magnet link', t.magnet)
    }
    status(`Magnet link of ${t.name} copied`)
  }))
  const dl = el('button', { type: 'button', class: 'download' }, 'Download')
  dl.addEventListener('click', () => act(async () => {
    const added = await addTorrent(t)
    status(added ? `Added ${t.name}` : `${t.name} is already in bt`)
    dl.disabled = true
  }))
  const play = el('button', { type: 'button', class: 'stream' }, 'Stream')
  play.addEventListener('click', () => act(async () => {
    await addTorrent(t)
    location.href = `/#/t/${t.infoHash}`
  }))
  return el('tr', { 'data-hash': t.infoHash },
    el('td', { class: 'name' }, el('div', {}, t.name), el('div', { class: 'tags' }, tagsOf(t))),
    el('td', { class: 'num size' }, bytes(t.size)),
    el('td', { class: 'num seeders' }, t.seeders === undefined ? '–' : String(t.seeders)),
    el('td', { class: 'num date' }, new Date(t.publishedAt).toISOString().slice(0, 10)),
    el('td', { class: 'act' }, el('div', { class: 'actions' }, copy, dl, play)),
  )
}

function render(r) {
  state.last = r
  $('rows').replaceChildren(...r.items.map(row))
  $('results').hidden = r.items.length === 0
  const from = r.items.length ? state.offset + 1 : 0
  $('summary').textContent = r.items.length
    ? `${from}–${state.offset + r.items.length} of ${r.totalIsEstimate ? 'about ' : ''}${r.total}`
    : 'No matches'
  for (const b of document.querySelectorAll('button.sort')) b.setAttribute('aria-pressed', String(b.dataset.sort === state.sort))
  renderChips(r.facets)
  renderFileTypes(r.facets)
  $('prev').hidden = state.offset === 0
  $('next').hidden = !r.hasMore
}

async function act(fn) {
  try {
    status('')
    await fn()
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin()
    status(err.message, true)
  }
}

function showLogin() {
  $('login').hidden = false
  $('search-view').hidden = true
  $('apikey').focus()
}

function search(push = true) {
  const p = params()
  if (push) history.replaceState(null, '', `${location.pathname}${p.size ? `?${p}` : ''}`)
  p.set('limit', String(PAGE))
  return act(async () => {
    $('search-view').setAttribute('aria-busy', 'true')
    try {
      render(await api(`/search?${p}`))
    } finally {
      $('search-view').removeAttribute('aria-busy')
    }
  })
}

// --- events --------------------------------------------------------------------------------------------------------

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault()
  state.q = $('q').value.trim()
  state.offset = 0
  search()
})
for (const b of document.querySelectorAll('button.sort')) {
  b.addEventListener('click', () => {
    state.sort = state.sort === b.dataset.sort ? '' : b.dataset.sort
    state.offset = 0
    search()
  })
}
$('prev').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - PAGE)
  search()
})
$('next').addEventListener('click', () => {
  state.offset += PAGE
  search()
})
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault()
  state.key = $('apikey').value
  localStorage.setItem('bt-apikey', state.key)
  $('login').hidden = true
  $('search-view').hidden = false
  search(false)
})

readUrl()
search(false)
