// The Strata dashboard in the browser: listens to /v1/events (server-sent snapshots of the cluster,
// see broker/dashboard/cluster-snapshot.ts) and redraws the cluster, topics and groups sections from
// each one; the message browser reads /v1/topics/:topic/partitions/:p/records on demand. Charts are
// inline SVG drawn here. Plain JavaScript, no build step, no dependencies.
//
// When the stream breaks (this broker stopped or is unreachable) a banner says so and the browser
// reconnects on its own (EventSource retries; after a refused stream this file retries itself), the
// last picture staying on screen.

const $ = (id) => document.getElementById(id);
const STALE_AFTER_MS = 5000;
const RETRY_AFTER_MS = 2000;

let lastSnapshot = null;
let lastSnapshotAt = 0;
let source = null;

// ------------------------------------------------------------------------------------------------
// Formatting

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function num(n) {
  return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function rate(n) {
  if (n === null || n === undefined) return '–';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0';
}

function list(ids) {
  return ids === null ? '?' : ids.length === 0 ? '–' : ids.join(', ');
}

// ------------------------------------------------------------------------------------------------
// Charts: a few polylines in one small SVG, scaled to the largest value shown.

function chart(lines, { width = 220, height = 44 } = {}) {
  const length = Math.max(0, ...lines.map((l) => l.values.length));
  const max = Math.max(0, ...lines.flatMap((l) => l.values));
  const x = (i) => (length <= 1 ? width : (i * width) / (length - 1));
  const y = (v) => height - 2 - (max === 0 ? 0 : (v / max) * (height - 4));
  const paths = lines
    .map((line) => {
      if (line.values.length === 0) return '';
      const offset = length - line.values.length;
      const points = line.values.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`);
      const area = line.fill ? `<path class="${line.fill}" d="M${x(offset).toFixed(1)},${height} L${points.join(' L')} L${width},${height} Z"/>` : '';
      return `${area}<polyline class="${line.cls}" fill="none" stroke-width="1.6" stroke-linejoin="round" points="${points.join(' ')}"/>`;
    })
    .join('');
  const empty = length < 2 ? `<text x="${width / 2}" y="${height / 2 + 4}" text-anchor="middle" font-size="11" fill="currentColor" opacity=".6">collecting samples…</text>` : '';
  return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"><title>peak ${rate(max)}</title>
    <line x1="0" x2="${width}" y1="${height - 0.5}" y2="${height - 0.5}" stroke="currentColor" opacity=".15"/>${paths}${empty}</svg>`;
}

// ------------------------------------------------------------------------------------------------
// Sections

function renderMeta(s) {
  $('meta').textContent = `served by broker ${s.servedBy} · metadata leader ${s.metadataLeader ?? 'none'} · controller term ${s.metadataTerm}`;
}

function renderBrokers(s) {
  $('brokers').innerHTML = s.brokers
    .map((b) => {
      const controller = b.nodeId === s.metadataLeader ? '<span class="pill ctl">controller</span>' : '';
      return `<div class="card broker" data-testid="broker-${b.nodeId}" data-state="${b.state}">
        <div class="head"><h3>Broker ${b.nodeId}</h3><span class="pill ${b.state}" data-field="state">${b.state}</span>${controller}</div>
        <div class="row"><span>address</span><b class="mono">${escapeHtml(b.address)}</b></div>
        <div class="row"><span>http</span><b class="mono">${escapeHtml(b.http ?? '–')}</b></div>
        <div class="row"><span>partitions led</span><b data-field="led">${num(b.partitionsLed)}</b></div>
        <div class="row"><span>disk used</span><b>${bytes(b.diskBytes)}</b></div>
        ${b.problem ? `<div class="problem">${escapeHtml(b.problem)}</div>` : ''}
      </div>`;
    })
    .join('');
}

function latest(traffic, field) {
  const last = traffic[traffic.length - 1];
  return last === undefined ? null : last[field];
}

function renderTopics(s) {
  if (s.topics.length === 0) {
    $('topics').innerHTML = '<p class="empty">No topics yet.</p>';
    return;
  }
  $('topics').innerHTML = s.topics
    .map((t) => {
      const size = t.partitions.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0);
      const rows = t.partitions
        .map(
          (p) => `<tr data-testid="partition-${escapeHtml(t.name)}-${p.partition}">
            <td>${p.partition}</td>
            <td data-field="leader">${p.leader ?? '<span class="pill offline">none</span>'}</td>
            <td>${list(p.replicas)}</td>
            <td data-field="isr">${list(p.isr)}</td>
            <td class="num" data-field="logStartOffset">${num(p.logStartOffset)}</td>
            <td class="num" data-field="highWatermark">${num(p.highWatermark)}</td>
            <td class="num" data-field="logEndOffset">${num(p.logEndOffset)}</td>
            <td class="num">${bytes(p.sizeBytes)}</td>
            <td class="num">${rate(latest(p.traffic, 'producedPerSec'))}</td>
            <td class="num">${rate(latest(p.traffic, 'fetchedPerSec'))}</td>
          </tr>`,
        )
        .join('');
      const produced = t.traffic.map((x) => x.producedPerSec);
      const fetched = t.traffic.map((x) => x.fetchedPerSec);
      return `<div class="card topic" data-testid="topic-${escapeHtml(t.name)}">
        <div class="head">
          <h3>${escapeHtml(t.name)}</h3>
          <div class="stats"><span><b>${t.partitions.length}</b> partitions</span><span><b>${bytes(size)}</b></span>
            <span>in <b>${rate(latest(t.traffic, 'producedPerSec'))}</b>/s</span><span>out <b>${rate(latest(t.traffic, 'fetchedPerSec'))}</b>/s</span></div>
          <div class="chart"><span class="legend"><i class="a"></i>produce<i class="b"></i>fetch</span>
            ${chart([{ values: produced, cls: 'line-a', fill: 'fill-a' }, { values: fetched, cls: 'line-b' }])}</div>
        </div>
        <table><thead><tr><th>partition</th><th>leader</th><th>replicas</th><th>in sync</th><th class="num">log start</th>
          <th class="num">high watermark</th><th class="num">log end</th><th class="num">size</th><th class="num">produce/s</th><th class="num">fetch/s</th></tr></thead>
          <tbody>${rows}</tbody></table>
      </div>`;
    })
    .join('');
}

function renderGroups(s) {
  if (s.groups.length === 0) {
    $('groups').innerHTML = '<p class="empty">No consumer groups.</p>';
    return;
  }
  $('groups').innerHTML = s.groups
    .map((g) => {
      const members = g.members.length === 0
        ? 'no members'
        : g.members.map((m) => `<code>${escapeHtml(m.clientId || m.memberId)}</code> (${escapeHtml(m.clientHost)}) → ${m.assignment.length === 0 ? 'nothing' : escapeHtml(m.assignment.join(', '))}`).join('<br>');
      const rows = g.partitions
        .map(
          (p) => `<tr data-testid="group-${escapeHtml(g.groupId)}-${escapeHtml(p.topic)}-${p.partition}">
            <td>${escapeHtml(p.topic)}-${p.partition}</td>
            <td class="mono">${escapeHtml(p.member ?? '–')}</td>
            <td class="num">${p.committedOffset < 0 ? '–' : num(p.committedOffset)}</td>
            <td class="num">${num(p.highWatermark)}</td>
            <td class="num" data-field="lag">${num(p.lag)}</td>
          </tr>`,
        )
        .join('');
      const state = g.state === 'Stable' ? 'Stable' : g.state === 'Dead' ? 'down' : 'other';
      return `<div class="card group" data-testid="group-${escapeHtml(g.groupId)}">
        <div class="head">
          <h3>${escapeHtml(g.groupId)}</h3><span class="pill ${state}">${escapeHtml(g.state)}</span>
          <div class="stats"><span><b>${g.members.length}</b> members</span><span>lag <b data-field="totalLag">${num(g.totalLag)}</b></span>
            <span>coordinator <b>${g.coordinator}</b></span></div>
          <div class="chart"><span class="legend"><i class="lag"></i>lag</span>
            ${chart([{ values: g.lagHistory.map((x) => x.lag), cls: 'line-lag', fill: 'fill-lag' }])}</div>
        </div>
        <div class="members">${members}</div>
        <table><thead><tr><th>partition</th><th>member</th><th class="num">committed</th><th class="num">high watermark</th><th class="num">lag</th></tr></thead>
          <tbody>${rows}</tbody></table>
      </div>`;
    })
    .join('');
}

// ------------------------------------------------------------------------------------------------
// Message browser

const browser = { pages: [], topic: null, partition: null };

function setOptions(select, values, labels = values) {
  const current = select.value;
  const wanted = values.map(String);
  const existing = [...select.options].map((o) => o.value);
  if (wanted.length === existing.length && wanted.every((v, i) => v === existing[i])) return;
  select.innerHTML = wanted.map((v, i) => `<option value="${escapeHtml(v)}">${escapeHtml(labels[i])}</option>`).join('');
  if (wanted.includes(current)) select.value = current;
}

function renderBrowserChoices(s) {
  const topic = $('browse-topic');
  setOptions(topic, s.topics.map((t) => t.name));
  const chosen = s.topics.find((t) => t.name === topic.value);
  const partitions = chosen ? chosen.partitions.map((p) => p.partition) : [];
  setOptions($('browse-partition'), partitions);
}

function showBytes(b, format) {
  if (b === null) return '<span class="nul">null</span>';
  let shown;
  const as = format === 'auto' ? (b.text === null ? 'hex' : 'json') : format;
  if (as === 'hex' || b.text === null) shown = b.hex.replace(/(..)/g, '$1 ').trim();
  else if (as === 'json') {
    try {
      shown = JSON.stringify(JSON.parse(b.text), null, 2);
    } catch {
      shown = b.text;
    }
  } else shown = b.text;
  const more = b.truncated ? `\n… ${num(b.size)} bytes in all` : '';
  return `<pre>${escapeHtml(shown + more)}</pre>`;
}

async function readPage(query) {
  const topic = $('browse-topic').value;
  const partition = $('browse-partition').value;
  const out = $('records');
  if (!topic || partition === '') {
    out.innerHTML = '<p class="empty">Choose a topic and a partition.</p>';
    return;
  }
  out.innerHTML = '<p class="empty">Reading…</p>';
  const params = new URLSearchParams({ ...query, limit: $('browse-limit').value });
  let answer;
  try {
    const response = await fetch(`/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?${params}`);
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? `${answer.error.name}: ${answer.error.message}` : `HTTP ${response.status}`);
  } catch (error) {
    out.innerHTML = `<p class="error">Could not read ${escapeHtml(topic)}-${escapeHtml(partition)}: ${escapeHtml(error.message)}</p>`;
    return;
  }
  browser.pages.push(query);
  const format = $('browse-format').value;
  const rows = answer.records
    .map(
      (r) => `<tr><td class="num">${num(r.offset)}</td><td class="mono">${new Date(r.timestamp).toISOString()}</td>
        <td>${showBytes(r.key, format === 'auto' ? 'text' : format)}</td><td>${showBytes(r.value, format)}</td>
        <td>${r.headers.length === 0 ? '' : r.headers.map((h) => `<code>${escapeHtml(h.key)}</code>: ${showBytes(h.value, 'text')}`).join('')}</td></tr>`,
    )
    .join('');
  const first = answer.records[0]?.offset;
  const last = answer.records[answer.records.length - 1]?.offset;
  const range = answer.records.length === 0 ? 'no records here yet' : `offsets ${num(first)} to ${num(last)}`;
  out.innerHTML = `<div class="pager">
      <button type="button" class="quiet" id="browse-prev" ${browser.pages.length > 1 ? '' : 'disabled'}>← Previous</button>
      <button type="button" class="quiet" id="browse-next">Next →</button>
      <span>${range} · log start ${num(answer.logStartOffset)} · high watermark ${num(answer.highWatermark)}</span>
    </div>
    <div class="card records"><table data-testid="records"><thead><tr><th class="num">offset</th><th>timestamp</th><th>key</th><th>value</th><th>headers</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  $('browse-next').onclick = () => readPage({ offset: String(answer.nextOffset) });
  $('browse-prev').onclick = () => {
    browser.pages.pop();
    readPage(browser.pages.pop());
  };
}

function startQuery() {
  const from = $('browse-from').value;
  if (from === 'offset') return { offset: String(Math.max(0, Math.floor(Number($('browse-offset').value) || 0))) };
  if (from === 'timestamp') {
    const ms = new Date($('browse-time').value).getTime();
    return Number.isFinite(ms) ? { timestamp: String(ms) } : {};
  }
  return {};
}

function setUpBrowser() {
  $('browse-from').addEventListener('change', () => {
    $('browse-offset-label').hidden = $('browse-from').value !== 'offset';
    $('browse-time-label').hidden = $('browse-from').value !== 'timestamp';
  });
  $('browse-topic').addEventListener('change', () => lastSnapshot && renderBrowserChoices(lastSnapshot));
  $('browse').addEventListener('submit', (event) => {
    event.preventDefault();
    browser.pages = [];
    readPage(startQuery());
  });
}

// ------------------------------------------------------------------------------------------------
// Live connection

function setLive(state, text) {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function showBanner(message) {
  const banner = $('banner');
  banner.textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

function render(snapshot) {
  lastSnapshot = snapshot;
  lastSnapshotAt = Date.now();
  renderMeta(snapshot);
  renderBrokers(snapshot);
  renderTopics(snapshot);
  renderGroups(snapshot);
  renderBrowserChoices(snapshot);
}

function connect() {
  source = new EventSource('/v1/events');
  source.addEventListener('open', () => setLive('live', 'live'));
  source.addEventListener('snapshot', (event) => {
    hideBanner();
    setLive('live', 'live');
    render(JSON.parse(event.data));
  });
  source.addEventListener('problem', (event) => showBanner(JSON.parse(event.data).message));
  source.addEventListener('error', () => {
    setLive('retrying', 'reconnecting');
    showBanner(`Lost the connection to this broker (${location.host}); retrying… The figures below are from ${lastSnapshot ? new Date(lastSnapshotAt).toLocaleTimeString() : 'no snapshot yet'}.`);
    // EventSource retries by itself unless the server refused the stream; then retry here.
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, RETRY_AFTER_MS);
    }
  });
}

// A stream that stays open but goes quiet (a broker stuck) is shown too.
setInterval(() => {
  if (lastSnapshot === null || source === null || source.readyState !== EventSource.OPEN) return;
  const age = Date.now() - lastSnapshotAt;
  if (age > STALE_AFTER_MS) {
    setLive('retrying', 'stale');
    showBanner(`No update from this broker for ${Math.round(age / 1000)} s; waiting…`);
  }
}, 1000);

setUpBrowser();
connect();
