// The sovereign dev console's one script. The pages work without it (tables rendered on the
// server); it draws the traffic charts as inline SVG and refreshes what changes, from the console's
// own JSON. It writes text with textContent and builds elements with createElement: no markup
// from data is ever parsed.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var body = document.body;
  var page = body.getAttribute('data-page');

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } }).then(function (answer) {
      if (!answer.ok) throw new Error('HTTP ' + answer.status);
      return answer.json();
    });
  }

  function element(name, attributes, text) {
    var node = document.createElement(name);
    for (var key in attributes) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgElement(name, attributes) {
    var node = document.createElementNS(SVG, name);
    for (var key in attributes) node.setAttribute(key, String(attributes[key]));
    return node;
  }

  function formatMs(v) {
    return v === null || v === undefined ? '–' : v < 10 ? v.toFixed(1) + ' ms' : Math.round(v) + ' ms';
  }

  function setText(root, field, value, className) {
    var cell = root && root.querySelector('[data-field="' + field + '"]');
    if (!cell) return;
    if (cell.textContent !== String(value)) cell.textContent = String(value);
    if (className !== undefined) cell.className = className;
  }

  var METRICS = {
    rps: { label: 'requests/s', value: function (p) { return p.rps; }, format: function (v) { return v.toFixed(2); } },
    errors: { label: 'errors', value: function (p) { return p.errors; }, format: String },
    p99: { label: 'p99 ms', value: function (p) { return p.p99 === null ? 0 : p.p99; }, format: function (v) { return formatMs(v); } },
    throttled: { label: 'throttled', value: function (p) { return p.throttled; }, format: String },
  };

  var WIDTH = 300;
  var HEIGHT = 80;
  var PAD = 14;

  // One bar per minute, the current minute last; the tallest bar fills the height.
  function drawChart(figure, points, metricName) {
    var metric = METRICS[metricName];
    var values = points.map(metric.value);
    var max = Math.max.apply(null, values.concat([0]));
    var svg = svgElement('svg', { viewBox: '0 0 ' + WIDTH + ' ' + HEIGHT, width: WIDTH, height: HEIGHT, role: 'img' });
    var latest = values.length ? values[values.length - 1] : 0;
    svg.setAttribute('aria-label', metric.label + ' per minute: latest ' + metric.format(latest) + ', highest ' + metric.format(max));
    svg.setAttribute('data-values', values.join(','));
    svg.appendChild(svgElement('line', { x1: 0, y1: HEIGHT - PAD, x2: WIDTH, y2: HEIGHT - PAD, class: 'axis' }));
    var step = WIDTH / Math.max(1, values.length);
    values.forEach(function (v, i) {
      var h = max > 0 ? ((HEIGHT - 2 * PAD) * v) / max : 0;
      var bar = svgElement('rect', { x: (i * step + 1).toFixed(1), y: (HEIGHT - PAD - h).toFixed(1), width: Math.max(1, step - 2).toFixed(1), height: h.toFixed(1), class: i === values.length - 1 ? 'bar current' : 'bar' });
      var title = svgElement('title', {});
      title.textContent = points[i].minute.slice(11, 16) + ' UTC: ' + metric.format(v);
      bar.appendChild(title);
      svg.appendChild(bar);
    });
    var top = svgElement('text', { x: 2, y: PAD - 3, class: 'label' });
    top.textContent = 'max ' + metric.format(max);
    svg.appendChild(top);
    var now = svgElement('text', { x: WIDTH - 2, y: HEIGHT - 2, class: 'label', 'text-anchor': 'end' });
    now.textContent = 'now ' + metric.format(latest);
    svg.appendChild(now);
    var plot = figure.querySelector('.plot');
    plot.replaceChildren(svg);
  }

  function statusClass(t) {
    return t.suspended ? 'bad' : t.status === 'active' ? 'ok' : 'muted';
  }

  function knownTenants() {
    return Array.prototype.map.call(document.querySelectorAll('#tenants tbody tr[data-tenant]'), function (row) {
      return row.getAttribute('data-tenant');
    });
  }

  function rowOf(selector, id) {
    var rows = document.querySelectorAll(selector + ' tr[data-tenant]');
    for (var i = 0; i < rows.length; i += 1) if (rows[i].getAttribute('data-tenant') === id) return rows[i];
    return null;
  }

  function updateOverview(doc) {
    var ids = doc.tenants.map(function (t) { return t.id; });
    // A tenant added or removed: the server renders the new set of rows.
    if (ids.join('\n') !== knownTenants().join('\n')) return void location.reload();
    doc.tenants.forEach(function (t) {
      var row = rowOf('#tenants', t.id);
      setText(row, 'status', t.status, statusClass(t));
      setText(row, 'process', t.process);
      setText(row, 'environments', t.environments);
      setText(row, 'restarts', t.restarts);
      var sums = t.series.reduce(function (s, p) { return { requests: s.requests + p.requests, errors: s.errors + p.errors, throttled: s.throttled + p.throttled }; }, { requests: 0, errors: 0, throttled: 0 });
      var traffic = rowOf('#traffic', t.id);
      setText(traffic, 'rps', t.totals.rps.toFixed(1));
      setText(traffic, 'requests', sums.requests);
      setText(traffic, 'errors', sums.errors);
      setText(traffic, 'p99', formatMs(t.totals.p99));
      setText(traffic, 'throttled', sums.throttled);
      var section = null;
      var sections = document.querySelectorAll('#charts .tenant-charts');
      for (var i = 0; i < sections.length; i += 1) if (sections[i].getAttribute('data-tenant') === t.id) section = sections[i];
      if (!section) return;
      Array.prototype.forEach.call(section.querySelectorAll('figure.chart'), function (figure) {
        drawChart(figure, t.series, figure.getAttribute('data-metric'));
      });
    });
    var audit = document.getElementById('audit-badge');
    setText(audit, 'audit', doc.audit.text);
    audit.className = doc.audit.ok ? 'ok' : 'bad';
  }

  function updateLogs(doc) {
    var tbody = document.querySelector('#logs tbody');
    var rows = doc.lines.map(function (l) {
      var row = element('tr', { class: 'level-' + l.level });
      row.appendChild(element('td', {}, l.time.slice(11, 23)));
      row.appendChild(element('td', {}, l.tenant));
      row.appendChild(element('td', {}, l.level));
      row.appendChild(element('td', {}, l.extension || ''));
      row.appendChild(element('td', {}, l.message));
      var fields = element('td', {});
      fields.appendChild(element('code', {}, l.fields));
      row.appendChild(fields);
      return row;
    });
    if (rows.length === 0) {
      var empty = element('tr', {});
      empty.appendChild(element('td', { colspan: '6', class: 'muted' }, 'No matching log lines.'));
      rows.push(empty);
    }
    tbody.replaceChildren.apply(tbody, rows);
  }

  // Polls `url` every `ms` (never two requests at once) and hands each answer to `apply`.
  function poll(url, ms, apply) {
    var status = element('p', { id: 'live', class: 'muted', 'aria-live': 'polite' }, 'live');
    document.querySelector('main').prepend(status);
    function tick() {
      getJson(url())
        .then(function (doc) {
          apply(doc);
          status.textContent = 'live · updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
          status.className = 'muted';
        })
        .catch(function (error) {
          status.textContent = 'not updating: ' + error.message + ' (is sovereign dev still running? reopen the URL it printed)';
          status.className = 'bad';
        })
        .finally(function () {
          setTimeout(tick, ms);
        });
    }
    tick();
  }

  if (page === 'overview') {
    var minutes = body.getAttribute('data-minutes') || '15';
    poll(function () { return '/_sovereign/console/api/overview?minutes=' + encodeURIComponent(minutes); }, 1000, updateOverview);
  } else if (page === 'logs') {
    var form = document.getElementById('log-filter');
    poll(function () { return '/_sovereign/console/api/logs?' + new URLSearchParams(new FormData(form)).toString(); }, 2000, updateLogs);
  }
})();
