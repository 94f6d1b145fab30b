// bt serve web UI: the torrent list kept live by /api/v1/events, a torrent's page (files, selection, player,
// limits, peers), and the settings. Plain modules, no build step, nothing fetched from anywhere but this server.

const $ = (id) => document.getElementById(id)
const state = { key: localStorage.getItem('bt-apikey') || '', torrents: new Map(), events: null, current: null, detailTimer: 0 }

// --- HTTP ------------------------------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) }
  if (state.key) headers['X-Api-Key'] = state.key
  let body = opts.body
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(body)
  }
  const res = await fetch(`/api/v1${path}`, { method: opts.method || (body ? 'POST' : 'GET'), headers, body })
  if (res.status === 401) throw new Unauthorized('API key needed')
  const json = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`)
  return json
}

const keyQuery = () => (state.key ? `?apikey=${encodeURIComponent(state.key)}` : '')
const streamUrl = (hash, path) => `/stream/${hash}/${path.split('/').map(encodeURIComponent).join('/')}${keyQuery()}`

// --- formatting ------------------------------------------------------------------------------------------------

function bytes(n) {
  if (!n) return '0 B'
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)))
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${u[i]}`
}
const rate = (n) => `${bytes(n)}/s`
function eta(s) {
  if (s === null || s === undefined) return ''
  if (s === 0) return ''
  if (s < 90) return `${s} s left`
  if (s < 5400) return `${Math.round(s / 60)} min left`
  return `${Math.round(s / 3600)} h left`
}
const pct = (p) => `${Math.floor(p * 1000) / 10}%`
const MEDIA = /\.(mp4|m4v|mkv|webm|mov|ogv|mp3|m4a|aac|flac|ogg|oga|opus|wav)$/i

function status(msg, error = false) {
  const el = $('status')
  el.textContent = msg || ''
  el.className = error ? 'error' : ''
}

async function run(fn) {
  try {
    status('')
    await fn()
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin()
    status(err.message, true)
  }
}

// --- views -----------------------------------------------------------------------------------------------------

function show(id) {
  for (const v of ['login', 'list-view', 'torrent-view', 'settings-view']) $(v).hidden = v !== id
}

function showLogin() {
  stopEvents()
  show('login')
  $('apikey').focus()
}

function route() {
  const hash = location.hash || '#/'
  clearInterval(state.detailTimer)
  const m = /^#\/t\/([0-9a-f]{40})$/.exec(hash)
  if (m) return run(() => openTorrent(m[1]))
  if (hash === '#/settings') return run(openSettings)
  state.current = null
  show('list-view')
  renderList()
}

// --- the list, kept live by SSE --------------------------------------------------------------------------------

function stopEvents() {
  state.events?.close()
  state.events = null
}

function startEvents() {
  stopEvents()
  const es = new EventSource(`/api/v1/events${keyQuery()}`)
  state.events = es
  es.addEventListener('snapshot', (e) => {
    state.torrents = new Map(JSON.parse(e.data).map((t) => [t.infoHash, t]))
    renderList()
  })
  for (const kind of ['added', 'changed', 'progress', 'done', 'error']) {
    es.addEventListener(kind, (e) => {
      const t = JSON.parse(e.data)
      state.torrents.set(t.infoHash, t)
      updateRow(t)
      if (state.current === t.infoHash) renderSummary(t)
    })
  }
  es.addEventListener('removed', (e) => {
    const { infoHash } = JSON.parse(e.data)
    state.torrents.delete(infoHash)
    document.querySelector(`li[data-hash="${infoHash}"]`)?.remove()
    $('empty').hidden = state.torrents.size > 0
    if (state.current === infoHash) location.hash = '#/'
  })
  es.onerror = () => {
    // EventSource retries by itself; a 401 closes it for good, so check the key.
    if (es.readyState === EventSource.CLOSED) run(() => api('/stats').then(startEvents))
  }
}

function renderList() {
  const ul = $('torrents')
  ul.replaceChildren()
  for (const t of [...state.torrents.values()].sort((a, b) => a.id - b.id)) ul.append(row(t))
  $('empty').hidden = state.torrents.size > 0
  renderRates()
}

function renderRates() {
  let d = 0
  let u = 0
  for (const t of state.torrents.values()) {
    d += t.downloadRate
    u += t.uploadRate
  }
  $('rates').textContent = `↓ ${rate(d)} ↑ ${rate(u)}`
}

function button(label, onClick, cls) {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = label
  if (cls) b.className = cls
  b.addEventListener('click', onClick)
  return b
}

function row(t) {
  const li = document.createElement('li')
  li.dataset.hash = t.infoHash
  li.innerHTML = `<div class="top"><a class="name"></a><span class="meta state"></span></div>
    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div></div></div>
    <div class="meta info"></div><div class="actions"></div>`
  const actions = li.querySelector('.actions')
  actions.append(
    button('', () => run(() => toggle(state.torrents.get(t.infoHash))), 'toggle'),
    button('Verify', () => run(() => api(`/torrents/${t.infoHash}/verify`, { method: 'POST' }))),
    button('Remove…', () => confirmRemove(state.torrents.get(t.infoHash)), 'danger'),
  )
  fillRow(li, t)
  return li
}

function fillRow(li, t) {
  li.className = `state-${t.state}`
  const a = li.querySelector('.name')
  a.textContent = t.name
  a.href = `#/t/${t.infoHash}`
  li.querySelector('.state').textContent = t.error ? `error: ${t.error}` : t.state
  const bar = li.querySelector('.progress')
  bar.setAttribute('aria-valuenow', String(Math.floor(t.progress * 100)))
  bar.setAttribute('aria-label', `${t.name}: ${pct(t.progress)}`)
  bar.firstElementChild.style.width = pct(t.progress)
  li.querySelector('.info').textContent = `${pct(t.progress)} of ${bytes(t.size)} · ↓ ${rate(t.downloadRate)} ↑ ${rate(t.uploadRate)} · ${t.peers} peers · ratio ${t.ratio.toFixed(2)} ${eta(t.eta)}`
  li.querySelector('.toggle').textContent = t.paused || t.state === 'stopped' || t.state === 'error' ? 'Resume' : 'Pause'
}

function updateRow(t) {
  const li = document.querySelector(`li[data-hash="${t.infoHash}"]`)
  if (li) fillRow(li, t)
  else if (!$('list-view').hidden) renderList()
  $('empty').hidden = state.torrents.size > 0
  renderRates()
}

async function toggle(t) {
  const stopped = t.paused || t.state === 'stopped' || t.state === 'error'
  const next = await api(`/torrents/${t.infoHash}/${stopped ? 'start' : 'stop'}`, { method: 'POST' })
  state.torrents.set(next.infoHash, next)
  updateRow(next)
  if (state.current === next.infoHash) renderSummary(next)
}

function confirmRemove(t) {
  const dlg = $('remove-dialog')
  $('remove-name').textContent = t.name
  $('remove-data').checked = false
  dlg.returnValue = ''
  dlg.onclose = () => {
    if (dlg.returnValue !== 'remove') return
    run(() => api(`/torrents/${t.infoHash}${$('remove-data').checked ? '?deleteData=true' : ''}`, { method: 'DELETE' }).then(() => {
      state.torrents.delete(t.infoHash)
      if (state.current === t.infoHash) location.hash = '#/'
      else renderList()
    }))
  }
  dlg.showModal()
}

// --- adding ----------------------------------------------------------------------------------------------------

async function add(ev) {
  ev.preventDefault()
  const uri = $('add-uri').value.trim()
  const file = $('add-file').files[0]
  const paused = $('add-paused').checked
  if (!uri && !file) return status('Give a magnet link or URL, or choose a .torrent file', true)
  let t
  if (file) {
    const form = new FormData()
    form.set('paused', String(paused))
    form.set('torrent', file, file.name)
    t = await api('/torrents', { body: form })
  } else {
    t = await api('/torrents', { body: { uri, paused } })
  }
  $('add-form').reset()
  state.torrents.set(t.infoHash, t)
  updateRow(t)
  status(`Added ${t.name}`)
}

// --- a torrent's page ------------------------------------------------------------------------------------------

function renderSummary(t) {
  $('t-name').textContent = t.name
  $('t-bar').style.width = pct(t.progress)
  $('t-summary').textContent = `${t.error ? `error: ${t.error} · ` : ''}${t.state} · ${pct(t.progress)} of ${bytes(t.size)} · ↓ ${rate(t.downloadRate)} ↑ ${rate(t.uploadRate)} · ${t.peers} peers · ${t.infoHash}`
  $('t-toggle').textContent = t.paused || t.state === 'stopped' || t.state === 'error' ? 'Resume' : 'Pause'
}

async function openTorrent(hash) {
  const t = await api(`/torrents/${hash}`)
  state.current = hash
  state.torrents.set(hash, t)
  show('torrent-view')
  $('player-box').hidden = true
  $('player').removeAttribute('src')
  renderDetails(t)
  $('t-name').focus?.()
  // Files and peers change without events of their own: refresh them while the page is open.
  state.detailTimer = setInterval(() => {
    if (state.current !== hash) return
    api(`/torrents/${hash}`).then(renderDetails, () => {})
  }, 2000)
}

function renderDetails(t) {
  renderSummary(t)
  $('t-playlist').href = `/playlist/${t.infoHash}.m3u${keyQuery()}`
  $('t-down').value = String(Math.round(t.downloadLimit / 1024))
  if (document.activeElement !== $('t-up')) $('t-up').value = String(Math.round(t.uploadLimit / 1024))
  const body = $('t-files')
  const focused = document.activeElement?.dataset?.index
  const checked = new Map([...body.querySelectorAll('input[type=checkbox]')].map((c) => [c.dataset.index, c.checked]))
  const dirty = body.dataset.dirty === '1'
  body.replaceChildren()
  for (const f of t.files) {
    const tr = document.createElement('tr')
    tr.innerHTML = `<td><input type="checkbox"></td><td class="path"></td><td class="num"></td><td class="num"></td><td></td>`
    const box = tr.querySelector('input')
    box.dataset.index = String(f.index)
    box.checked = dirty && checked.has(String(f.index)) ? checked.get(String(f.index)) : f.selected
    box.setAttribute('aria-label', `Download ${f.path}`)
    box.addEventListener('change', () => (body.dataset.dirty = '1'))
    tr.children[1].textContent = f.path
    tr.children[2].textContent = bytes(f.length)
    tr.children[3].textContent = pct(f.length ? f.bytesCompleted / f.length : 1)
    if (MEDIA.test(f.path)) tr.children[4].append(button('Play', () => play(t, f)))
    body.append(tr)
  }
  if (focused) body.querySelector(`input[data-index="${focused}"]`)?.focus()
  $('t-peers').replaceChildren(...(t.peerList.length ? t.peerList : [{ address: 'no peers connected' }]).map((p) => {
    const li = document.createElement('li')
    li.textContent = p.downloadRate === undefined ? p.address : `${p.address} · ${pct(p.progress)} · ↓ ${rate(p.downloadRate)} ↑ ${rate(p.uploadRate)}`
    return li
  }))
}

function play(t, f) {
  const v = $('player')
  $('player-title').textContent = f.path
  $('player-box').hidden = false
  v.src = streamUrl(t.infoHash, f.path)
  v.focus()
  v.play().catch(() => {}) // autoplay may be refused; the controls are there
}

async function saveFiles(ev) {
  ev.preventDefault()
  const hash = state.current
  const files = [...$('t-files').querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => Number(c.dataset.index))
  const t = await api(`/torrents/${hash}`, { method: 'PATCH', body: { files } })
  $('t-files').dataset.dirty = '0'
  renderDetails(t)
  status('Selection saved')
}

async function saveLimits(ev) {
  ev.preventDefault()
  const t = await api(`/torrents/${state.current}`, { method: 'PATCH', body: { downloadLimit: Number($('t-down').value || 0) * 1024, uploadLimit: Number($('t-up').value || 0) * 1024 } })
  renderDetails(t)
  status('Limits saved')
}

// --- settings --------------------------------------------------------------------------------------------------

async function openSettings() {
  const s = await api('/settings')
  state.current = null
  show('settings-view')
  $('s-dir').value = s.downloadDir
  $('s-down').value = String(Math.round(s.downloadLimit / 1024))
  $('s-up').value = String(Math.round(s.uploadLimit / 1024))
  $('s-start').checked = s.startAddedTorrents
}

async function saveSettings(ev) {
  ev.preventDefault()
  await api('/settings', {
    method: 'PATCH',
    body: { downloadDir: $('s-dir').value.trim(), downloadLimit: Number($('s-down').value || 0) * 1024, uploadLimit: Number($('s-up').value || 0) * 1024, startAddedTorrents: $('s-start').checked },
  })
  status('Settings saved')
}

// --- start -----------------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  state.key = $('apikey').value
  run(async () => {
    await api('/stats')
    localStorage.setItem('bt-apikey', state.key)
    $('login-form').reset()
    startEvents()
    route()
  })
})
$('logout').addEventListener('click', () => {
  localStorage.removeItem('bt-apikey')
  state.key = ''
  showLogin()
})
$('add-form').addEventListener('submit', (ev) => run(() => add(ev)))
$('files-form').addEventListener('submit', (ev) => run(() => saveFiles(ev)))
$('t-limits').addEventListener('submit', (ev) => run(() => saveLimits(ev)))
$('settings-form').addEventListener('submit', (ev) => run(() => saveSettings(ev)))
$('t-toggle').addEventListener('click', () => run(() => toggle(state.torrents.get(state.current))))
$('t-verify').addEventListener('click', () => run(() => api(`/torrents/${state.current}/verify`, { method: 'POST' })))
$('t-remove').addEventListener('click', () => confirmRemove(state.torrents.get(state.current)))
window.addEventListener('hashchange', route)

run(async () => {
  await api('/stats')
  startEvents()
  route()
})
