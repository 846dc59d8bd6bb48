// Trục operations dashboard: polls /api/summary and draws it. No framework, no build step,
// nothing from a CDN (the hub's machines may have no internet). Every value that came from
// the hub is put in the page with textContent, never as HTML: reasons and names travel in
// messages that agencies (or attackers) wrote.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const params = new URLSearchParams(location.search);
  const refreshSeconds = Math.max(1, Number(params.get('refresh')) || 5);
  let timer = null;

  // -- token: from the URL fragment (never sent to the server), kept for this tab only ------
  function takeToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem('truc-token', decodeURIComponent(match[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('truc-token');
  }

  // -- small DOM helpers ------------------------------------------------------------------
  function $(selector) { return document.querySelector(selector); }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') node.className = v; else node.setAttribute(k, String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function num(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
  function pct(rate) { return rate === null || rate === undefined ? '–' : (rate * 100).toFixed(1) + '%'; }
  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0; let v = Number(n || 0);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
  }
  function age(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    const s = Math.round(seconds);
    if (s < 120) return s + 's';
    if (s < 7200) return Math.round(s / 60) + 'm';
    if (s < 172800) return Math.round(s / 3600) + 'h';
    return Math.round(s / 86400) + 'd';
  }
  function since(iso, now) {
    if (!iso) return 'never';
    return age((now - Date.parse(iso)) / 1000) + ' ago';
  }
  function time(iso) { return iso ? new Date(iso).toLocaleString('en-GB') : '–'; }
  function replaceBody(table, rows, emptyText, columns) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      body.append(el('tr', { class: 'empty' }, el('td', { colspan: columns }, emptyText)));
    }
    for (const row of rows) body.append(row);
  }
  function kpi(id, value, rawValue, sub, level) {
    const card = document.getElementById(id);
    const valueNode = card.querySelector('.value');
    valueNode.textContent = value;
    valueNode.dataset.value = rawValue === null || rawValue === undefined ? '' : String(rawValue);
    card.querySelector('.sub').textContent = sub || '';
    card.classList.remove('good', 'warn', 'bad');
    if (level) card.classList.add(level);
  }

  // -- charts -----------------------------------------------------------------------------
  // Horizontal bars, one group per row, one bar per series; labels on the left.
  function barChart(container, rows, series, emptyText) {
    container.replaceChildren();
    if (!rows.length) { container.append(el('div', { class: 'empty' }, emptyText)); return; }
    // Drawn at the container's own pixel width, so text keeps its size on any screen.
    const width = Math.max(320, container.clientWidth || 600); const labelWidth = 120;
    const barHeight = 14; const gap = 10;
    const groupHeight = series.length * barHeight + gap;
    const height = rows.length * groupHeight + 6;
    const max = Math.max(1, ...rows.flatMap(r => series.map(s => Number(r[s.key] || 0))));
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
    rows.forEach((row, i) => {
      const y0 = i * groupHeight + 4;
      const label = svg('text', { x: 0, y: y0 + (series.length * barHeight) / 2 + 4 }, row.label);
      chart.append(label);
      series.forEach((s, j) => {
        const value = Number(row[s.key] || 0);
        const w = ((width - labelWidth - 50) * value) / max;
        const bar = svg('rect', {
          x: labelWidth, y: y0 + j * barHeight, width: Math.max(w, value ? 1 : 0),
          height: barHeight - 2, rx: 2, class: row.cls && row.cls[s.key] ? row.cls[s.key] : s.cls,
          'data-series': s.key, 'data-label': row.label, 'data-value': value,
        });
        bar.append(svg('title', {}, `${row.label} ${s.name}: ${value}`));
        chart.append(bar);
        chart.append(svg('text', { x: labelWidth + w + 4, y: y0 + j * barHeight + barHeight - 3 }, num(value)));
      });
    });
    container.append(chart);
  }

  function perMinuteChart(container, points, now) {
    container.replaceChildren();
    const width = Math.max(320, container.clientWidth || 900); const height = 150; const left = 34; const bottom = 20;
    const max = Math.max(1, ...points.map(p => p.count));
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
    const step = (width - left) / Math.max(points.length, 1);
    chart.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }));
    chart.append(svg('text', { x: 0, y: 12 }, num(max)));
    chart.append(svg('text', { x: 0, y: height - bottom }, '0'));
    points.forEach((p, i) => {
      const h = ((height - bottom - 16) * p.count) / max;
      const bar = svg('rect', {
        x: left + i * step + 1, y: height - bottom - h, width: Math.max(step - 2, 1), height: h,
        class: 'f-bar', 'data-minute': p.minute, 'data-value': p.count,
      });
      bar.append(svg('title', {}, `${new Date(p.minute).toLocaleTimeString('en-GB')}: ${p.count}`));
      chart.append(bar);
      if (i % 15 === 0) {
        const minutesAgo = Math.round((now - Date.parse(p.minute)) / 60000);
        chart.append(svg('text', { x: left + i * step, y: height - 4 }, minutesAgo ? `-${minutesAgo} min` : 'now'));
      }
    });
    chart.append(svg('text', { x: width - 24, y: height - 4 }, 'now'));
    container.append(chart);
  }

  function donut(container, figures) {
    container.replaceChildren();
    const parts = [['on_time', 'on time'], ['late', 'late'], ['overdue', 'overdue'], ['open', 'open']];
    const total = parts.reduce((sum, [k]) => sum + Number(figures[k] || 0), 0);
    const chart = svg('svg', { viewBox: '0 0 100 100', role: 'img' });
    const r = 38; const c = 2 * Math.PI * r;
    chart.append(svg('circle', { cx: 50, cy: 50, r, fill: 'none', 'stroke-width': 14, class: 'r-none' }));
    let offset = 0;
    for (const [key, name] of parts) {
      const value = Number(figures[key] || 0);
      if (!value) continue;
      const length = (c * value) / total;
      const arc = svg('circle', {
        cx: 50, cy: 50, r, fill: 'none', 'stroke-width': 14, class: 'r-' + key,
        'stroke-dasharray': `${length} ${c - length}`, 'stroke-dashoffset': -offset,
        transform: 'rotate(-90 50 50)', 'data-part': key, 'data-value': value,
      });
      arc.append(svg('title', {}, `${name}: ${value}`));
      chart.append(arc);
      offset += length;
    }
    chart.append(svg('text', { x: 50, y: 54, 'text-anchor': 'middle', class: 'big' }, pct(figures.on_time_rate)));
    container.append(chart);
    container.append(el('div', { class: 'donut-legend' },
      ...parts.map(([key, name]) => el('span', {}, `${name} ${num(figures[key] || 0)}`))));
  }

  // -- render -----------------------------------------------------------------------------
  function render(data) {
    const now = Date.parse(data.taken_at) || Date.now();
    $('#hub-name').textContent = data.hub && data.hub.name ? data.hub.name : '';
    $('#updated').textContent = new Date(now).toLocaleTimeString('en-GB');
    $('#updated').dateTime = data.taken_at || '';

    const problems = data.problems || [];
    const health = $('#health');
    health.className = 'pill ' + (data.nats_error ? 'pill-bad' : problems.length ? 'pill-warn' : 'pill-ok');
    health.textContent = data.nats_error ? 'NATS unreachable' : problems.length ? `${problems.length} to look at` : 'all well';
    $('#problems').hidden = !problems.length;
    $('#problem-list').replaceChildren(...problems.map(p => el('li', {}, p)));

    const activity = data.activity || null;
    const ledgerSize = data.ledger ? data.ledger.size : null;
    kpi('kpi-ledger-size', num(ledgerSize), ledgerSize, data.ledger && data.ledger.error ? data.ledger.error : 'recorded events');
    const lastHour = activity ? activity.per_minute.reduce((s, p) => s + p.count, 0) : null;
    kpi('kpi-last-hour', num(lastHour), lastHour, 'messages recorded');

    const consumers = data.consumers || [];
    const deliveries = consumers.filter(c => c.role === 'delivery');
    const worst = consumers.reduce((w, c) => (w === null || c.lag > w.lag ? c : w), null);
    kpi('kpi-max-lag', worst ? num(worst.lag) : '–', worst ? worst.lag : null,
      !worst ? '' : worst.lag ? `${worst.member || 'hub intake'} (${worst.name})` : 'every consumer caught up',
      worst && worst.lag > 1000 ? 'bad' : worst && worst.lag > 0 ? 'warn' : 'good');

    const dead = data.dead_letters || { count: 0, recent: [], readable: false };
    if (dead.readable) {
      kpi('kpi-dead-letters', num(dead.count), dead.count,
        dead.recent.length ? `newest ${since(dead.recent[0].time, now)}` : 'none', dead.count ? 'warn' : 'good');
    } else {
      kpi('kpi-dead-letters', '–', null, 'unknown: NATS unreachable', 'bad');
    }

    const documents = activity ? activity.documents : null;
    kpi('kpi-doc-on-time', documents ? pct(documents.on_time_rate) : '–', documents ? documents.on_time_rate : null,
      documents ? `${num(documents.overdue)} overdue · ${num(documents.with_due_date)} with a due date` : '',
      documents && documents.overdue ? 'bad' : null);
    const dossiers = activity ? activity.dossiers : null;
    if (dossiers && dossiers.total) {
      kpi('kpi-dossier-on-time', pct(dossiers.on_time_rate), dossiers.on_time_rate,
        `${num(dossiers.overdue)} overdue · ${num(dossiers.total)} dossiers`, dossiers.overdue ? 'bad' : null);
    } else {
      kpi('kpi-dossier-on-time', 'not yet', 0, dossiers ? dossiers.note : '');
    }

    const cp = data.checkpoint;
    if (cp) {
      kpi('kpi-checkpoint', num(cp.size), cp.size,
        `${age(cp.age_seconds)} old · ${cp.cosignatures.length} cosignature(s)`,
        problems.some(p => p.includes('checkpoint')) ? 'warn' : null);
    } else {
      kpi('kpi-checkpoint', 'none', null, 'no checkpoint issued yet');
    }

    perMinuteChart($('#chart-per-minute'), activity ? activity.per_minute : [], now);

    const volumes = activity ? activity.volumes : [];
    barChart($('#chart-volumes'), volumes.map(v => ({ label: v.member, sent: v.sent, received: v.received, statuses: v.statuses })),
      [{ key: 'sent', name: 'sent', cls: 'f-sent' }, { key: 'received', name: 'received', cls: 'f-received' },
        { key: 'statuses', name: 'statuses', cls: 'f-statuses' }], 'nothing exchanged yet');

    barChart($('#chart-lag'), deliveries.map(c => {
      const receipts = consumers.find(r => r.role === 'receipts' && r.member === c.member);
      return {
        label: c.member || c.name, deliveries: c.lag, receipts: receipts ? receipts.lag : 0,
        cls: { deliveries: c.lag > 1000 ? 'f-bad' : 'f-lag', receipts: 'f-received' },
      };
    }).concat(consumers.filter(c => c.role === 'hub').map(c => ({ label: 'hub intake', deliveries: c.lag, receipts: 0 }))),
    [{ key: 'deliveries', name: 'deliveries', cls: 'f-lag' }, { key: 'receipts', name: 'receipts', cls: 'f-received' }],
    data.nats_error ? 'NATS unreachable' : 'no consumers');

    const reasons = activity ? Object.entries(activity.refused_by_reason) : [];
    barChart($('#chart-rejections'), reasons.map(([reason, count]) => ({ label: reason, count })),
      [{ key: 'count', name: 'refused', cls: 'f-bad' }], 'no refusals recorded');

    for (const [kind, figures] of [['documents', documents], ['dossiers', dossiers]]) {
      const chart = document.getElementById('chart-' + kind);
      const table = document.getElementById('table-' + kind);
      if (!figures || !figures.with_due_date) {
        chart.replaceChildren(el('div', { class: 'empty' },
          kind === 'dossiers' && (!figures || !figures.total) ? 'not yet: no dossier recorded' : 'nothing with a due date yet'));
        replaceBody(table, [], '–', 5);
        continue;
      }
      donut(chart, figures);
      replaceBody(table, figures.by_member.map(m => el('tr', { 'data-member': m.member, class: m.overdue ? 'bad' : m.late ? 'warn' : null },
        el('td', {}, m.member), el('td', { class: 'num on-time' }, num(m.on_time)), el('td', { class: 'num late' }, num(m.late)),
        el('td', { class: 'num overdue' }, num(m.overdue)), el('td', { class: 'num open' }, num(m.open)))), '–', 5);
    }

    const facts = $('#checkpoint');
    facts.replaceChildren();
    const cosigTable = $('#table-cosignatures');
    if (cp) {
      for (const [k, v] of [['origin', cp.origin], ['tree size', num(cp.size)], ['root hash', cp.root_hash],
        ['issued', time(cp.issued_at)], ['age', age(cp.age_seconds)],
        ['cosignatures', `${cp.cosignatures.length}${cp.cosignatures_verified ? ' (verified by the hub)' : ''}`]]) {
        facts.append(el('dt', {}, k), el('dd', {}, v));
      }
      replaceBody(cosigTable, cp.cosignatures.map(s => el('tr', { 'data-witness': s.witness },
        el('td', {}, s.witness), el('td', {}, s.key_id), el('td', {}, time(s.signed_at)))), 'no witness has cosigned yet', 3);
    } else {
      facts.append(el('dt', {}, 'status'), el('dd', {}, 'no checkpoint issued yet'));
      replaceBody(cosigTable, [], '–', 3);
    }

    replaceBody($('#table-consumers'), consumers.map(c => el('tr', {
      'data-consumer': c.name, class: (data.problems || []).some(p => p.startsWith(c.name)) ? 'bad' : null,
    },
    el('td', {}, c.name), el('td', {}, c.member || (c.role === 'hub' ? 'hub intake' : '')),
    el('td', { class: 'num pending' }, num(c.pending)), el('td', { class: 'num ack-pending' }, num(c.ack_pending)),
    el('td', { class: 'num redelivered' }, num(c.redelivered)), el('td', { class: 'num' }, num(c.waiting)),
    el('td', {}, since(c.last_active, now)))), data.nats_error || 'no consumers', 7);

    replaceBody($('#table-streams'), (data.streams || []).map(s => el('tr', { 'data-stream': s.name, class: s.present ? null : 'bad' },
      el('td', {}, s.name), el('td', {}, s.subjects.join(' ')),
      el('td', { class: 'num messages' }, s.present ? num(s.messages) : 'missing'), el('td', { class: 'num' }, bytes(s.bytes)),
      el('td', { class: 'num' }, num(s.first_seq)), el('td', { class: 'num' }, num(s.last_seq)))), data.nats_error || '–', 6);

    replaceBody($('#table-dead-letters'), dead.recent.map(d => el('tr', { 'data-seq': d.seq },
      el('td', { class: 'num' }, d.seq), el('td', {}, since(d.time, now)), el('td', {}, d.member || 'unknown'),
      el('td', { class: 'code' }, d.code), el('td', { class: 'reason' }, d.reason), el('td', {}, d.message_id))), 'none', 6);

    document.body.dataset.position = activity ? String(activity.position) : '';
    document.body.dataset.takenAt = data.taken_at || '';
  }

  function showError(text) {
    const banner = $('#error');
    banner.hidden = !text;
    banner.textContent = text || '';
  }

  async function refresh() {
    const token = takeToken();
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    try {
      const response = await fetch('/api/summary', { headers, cache: 'no-store' });
      if (response.status === 401) {
        $('#auth').hidden = false;
        showError(token ? 'The token was refused.' : '');
        document.body.dataset.state = 'auth';
        return;
      }
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      $('#auth').hidden = true;
      showError('');
      render(data);
      document.body.dataset.state = 'ready';
    } catch (error) {
      showError('Cannot read the hub: ' + error.message);
      $('#health').className = 'pill pill-bad';
      $('#health').textContent = 'hub unreachable';
      document.body.dataset.state = 'error';
    } finally {
      clearTimeout(timer);
      timer = setTimeout(refresh, refreshSeconds * 1000);
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('#refresh-seconds').textContent = String(refreshSeconds);
    $('#auth-form').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem('truc-token', $('#auth-token').value);
      refresh();
    });
    refresh();
  });
}());
