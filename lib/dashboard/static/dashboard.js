// The dashboard page: plain JavaScript, no build step. Views are chosen by the URL hash
// (#/workers, #/worker/<name>, #/queues, #/schedules, #/tasks, #/task/<id>, #/charts); data comes from the JSON API next to this page and
// live updates from its server-sent event stream. All text goes in with textContent.
(function () {
  'use strict';
  const BASE = window.DASHBOARD_BASE;
  const api = (path) => `${BASE}/api/${path}`;
  const $ = (selector) => document.querySelector(selector);

  const state = { workers: new Map(), tasks: new Map(), progress: {}, filter: {}, view: null, taskId: null, charts: null };

  // ---- helpers ----------------------------------------------------------------------------
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child == null ? '' : String(child)));
    return node;
  }
  const time = (seconds) => (seconds == null ? '' : new Date(seconds * 1000).toLocaleString());
  const stateBadge = (name) => el('span', { class: `state state-${name}` }, name);
  // A running task's reported progress (updateState / setProgress, Python's update_state), read
  // from the result backend: a bar when it says how far, its custom state's name otherwise.
  function progressBar(task) {
    const progress = task.state === 'STARTED' ? state.progress[task.uuid] : undefined;
    if (!progress) return '';
    const label = [progress.percent == null ? progress.state : `${progress.percent}%`, progress.description].filter(Boolean).join(' · ');
    return el('span', { class: 'progress', 'data-progress': progress.percent ?? '' },
      progress.percent == null ? '' : el('progress', { max: 100, value: progress.percent, title: progress.description || undefined }),
      el('span', { class: 'progress-label' }, label));
  }

  async function request(method, path, body) {
    const response = await fetch(api(path), {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error((data && (Array.isArray(data.message) ? data.message.join('; ') : data.message)) || `${response.status} ${response.statusText}`);
    return data;
  }
  function showMessage(text) {
    const message = $('#message');
    message.textContent = text;
    message.hidden = !text;
  }

  // ---- overview and live stream -----------------------------------------------------------
  async function loadOverview() {
    const overview = await request('GET', 'overview');
    $('#overview').textContent = `Broker ${overview.broker} · results ${overview.resultBackend} · history in ${overview.history} · ${overview.workers.online}/${overview.workers.total} workers online · ${overview.tasks} tasks`;
  }

  function connectStream() {
    const source = new EventSource(api('stream'), { withCredentials: true });
    const live = $('#live');
    source.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
    source.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'live off'; };
    source.addEventListener('workers', (message) => {
      state.workers = new Map(JSON.parse(message.data).map((worker) => [worker.hostname, worker]));
      renderWorkers();
    });
    source.addEventListener('worker', (message) => {
      const worker = JSON.parse(message.data);
      state.workers.set(worker.hostname, worker);
      renderWorkers();
    });
    source.addEventListener('task', (message) => onTaskChanged(JSON.parse(message.data)));
    source.addEventListener('progress', (message) => {
      state.progress = JSON.parse(message.data);
      if (state.view === 'tasks') renderTasks();
      if (state.view === 'task' && state.tasks.has(state.taskId)) renderTask(state.tasks.get(state.taskId));
    });
  }

  // ---- workers -----------------------------------------------------------------------------
  function renderWorkers() {
    const workers = [...state.workers.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
    const rows = workers.map((worker) =>
      el('tr', { 'data-worker': worker.hostname },
        el('td', {}, el('a', { href: `#/worker/${encodeURIComponent(worker.hostname)}` }, worker.hostname)),
        el('td', {}, el('span', { class: `state status-${worker.online ? 'online' : 'offline'}`, 'data-status': worker.online ? 'online' : 'offline' }, worker.online ? 'online' : 'offline')),
        el('td', {}, worker.heartbeatAgeSeconds == null ? '—' : `${worker.heartbeatAgeSeconds.toFixed(1)} s ago`),
        el('td', { 'data-field': 'active' }, worker.active ?? ''),
        el('td', { 'data-field': 'processed' }, worker.processed ?? ''),
        el('td', {}, (worker.loadavg || []).join(' ')),
        el('td', {}, [worker.swIdent, worker.swVer].filter(Boolean).join(' ')),
        el('td', {}, el('button', { class: 'shutdown', disabled: !worker.online, onclick: () => shutdownWorker(worker.hostname) }, 'Shut down')),
      ),
    );
    $('#workers-table tbody').replaceChildren(...rows);
    for (const select of document.querySelectorAll('select[name=worker]')) {
      const chosen = select.value;
      const first = select.options[0];
      select.replaceChildren(first, ...workers.map((worker) => el('option', { value: worker.hostname }, worker.hostname)));
      select.value = chosen;
    }
  }

  async function shutdownWorker(hostname) {
    if (!window.confirm(`Shut down ${hostname}? Running tasks finish first.`)) return;
    try {
      await request('POST', `workers/${encodeURIComponent(hostname)}/shutdown`);
      showMessage(`Shutdown sent to ${hostname}.`);
    } catch (error) {
      showMessage(error.message);
    }
  }

  $('#rate-limit-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { taskName: form.get('taskName'), rateLimit: form.get('rateLimit') || null };
    if (form.get('worker')) body.worker = form.get('worker');
    const result = $('#rate-limit-result');
    try {
      const answer = await request('POST', 'rate-limit', body);
      const replies = answer.replies.map((reply) => Object.entries(reply).map(([node, outcome]) => `${node}: ${outcome.ok || outcome.error}`).join(', '));
      result.textContent = `Rate limit of ${answer.taskName} set to ${answer.rateLimit ?? 'none'}. ${replies.length ? replies.join('; ') : 'No worker replied.'}`;
    } catch (error) {
      result.textContent = `Refused: ${error.message}`;
    }
  });

  // ---- tasks -------------------------------------------------------------------------------
  function readFilter(form) {
    const data = new FormData(form);
    const filter = {};
    for (const name of ['name', 'state', 'worker']) if (data.get(name)) filter[name] = data.get(name);
    for (const name of ['from', 'to']) if (data.get(name)) filter[name] = String(new Date(data.get(name)).getTime() / 1000);
    return filter;
  }

  async function loadTasks() {
    const query = new URLSearchParams(state.filter).toString();
    const [answer, progress] = await Promise.all([request('GET', `tasks${query ? `?${query}` : ''}`), request('GET', 'progress')]);
    state.tasks = new Map(answer.tasks.map((task) => [task.uuid, task]));
    state.progress = progress;
    $('#task-names').replaceChildren(...answer.names.map((name) => el('option', { value: name })));
    renderTasks();
  }

  function matches(task) {
    const filter = state.filter;
    const at = task.timestamp ?? task.received ?? task.sent;
    if (filter.name && !(task.name || '').toLowerCase().includes(filter.name.toLowerCase())) return false;
    if (filter.state && task.state !== filter.state) return false;
    if (filter.worker && task.worker !== filter.worker) return false;
    if (filter.from && (at == null || at < Number(filter.from))) return false;
    if (filter.to && (at == null || at > Number(filter.to))) return false;
    return true;
  }

  function renderTasks() {
    const tasks = [...state.tasks.values()].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));
    const rows = tasks.map((task) =>
      el('tr', { 'data-task': task.uuid, 'data-state': task.state },
        el('td', {}, el('a', { href: `#/task/${task.uuid}` }, task.uuid)),
        el('td', {}, task.name ?? ''),
        el('td', {}, stateBadge(task.state), progressBar(task)),
        el('td', { class: 'args', title: `${task.args ?? ''} ${task.kwargs ?? ''}` }, task.args ?? ''),
        el('td', {}, task.worker ?? ''),
        el('td', {}, time(task.timestamp)),
        el('td', {}, task.runtime == null ? '' : `${task.runtime.toFixed(3)} s`),
      ),
    );
    $('#tasks-table tbody').replaceChildren(...rows);
  }

  function onTaskChanged(task) {
    if (matches(task)) state.tasks.set(task.uuid, task);
    else state.tasks.delete(task.uuid);
    if (state.view === 'tasks') renderTasks();
    if (state.view === 'task' && state.taskId === task.uuid) renderTask(task);
    if (state.view === 'charts') scheduleCharts();
  }

  $('#task-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    state.filter = readFilter(event.target);
    loadTasks().catch((error) => showMessage(error.message));
  });
  $('#task-filter').addEventListener('reset', () => {
    state.filter = {};
    setTimeout(() => loadTasks().catch((error) => showMessage(error.message)));
  });

  // ---- task detail -------------------------------------------------------------------------
  const DETAIL_FIELDS = [
    ['Name', 'name'], ['State', 'state'], ['Worker', 'worker'], ['Args', 'args'], ['Kwargs', 'kwargs'], ['Result', 'result'],
    ['Exception', 'exception'], ['Retries', 'retries'], ['Runtime (s)', 'runtime'], ['Received', 'received', time], ['Started', 'started', time],
    ['Succeeded', 'succeeded', time], ['Failed', 'failed', time], ['Revoked', 'revoked', time], ['ETA', 'eta'], ['Expires', 'expires'],
    ['Root id', 'rootId'], ['Parent id', 'parentId'], ['Client', 'client'],
  ];

  async function loadTask(id) {
    $('#task-id').textContent = id;
    $('#action-result').textContent = '';
    try {
      renderTask(await request('GET', `tasks/${encodeURIComponent(id)}`));
    } catch (error) {
      showMessage(error.message);
    }
  }

  function renderTask(task) {
    const rows = DETAIL_FIELDS.filter(([, field]) => task[field] != null && task[field] !== '').map(([label, field, format]) =>
      el('tr', { 'data-field': field }, el('th', {}, label), el('td', {}, ...(field === 'state' ? [stateBadge(task.state), progressBar(task)] : [format ? format(task[field]) : String(task[field])]))),
    );
    $('#task-detail tbody').replaceChildren(...rows);
    $('#task-traceback').textContent = task.traceback || '—';
    $('#task-timeline').replaceChildren(...task.timeline.map((entry) => el('li', {}, `${time(entry.timestamp)} — ${entry.type} on ${entry.hostname}${entry.exception ? ` (${entry.exception})` : ''}`)));
    const finished = ['SUCCESS', 'FAILURE', 'REVOKED'].includes(task.state);
    $('#action-revoke').disabled = finished;
    $('#action-terminate').disabled = finished;
    $('#action-retry').disabled = !(task.state === 'FAILURE' || task.state === 'REVOKED');
  }

  async function act(path, describe) {
    const result = $('#action-result');
    try {
      result.replaceChildren(describe(await request('POST', `tasks/${encodeURIComponent(state.taskId)}/${path}`, {})));
    } catch (error) {
      result.textContent = `Refused: ${error.message}`;
    }
  }
  $('#action-revoke').addEventListener('click', () => act('revoke', () => 'Revoke sent: workers will not run it.'));
  $('#action-terminate').addEventListener('click', () => act('terminate', () => 'Terminate sent: the worker running it stops it.'));
  $('#action-retry').addEventListener('click', () =>
    act('retry', (answer) => el('span', {}, 'Sent again as ', el('a', { href: `#/task/${answer.taskId}`, id: 'retried-task' }, answer.taskId))),
  );

  // ---- charts ------------------------------------------------------------------------------
  let chartTimer = null;
  function scheduleCharts() {
    if (chartTimer) return;
    chartTimer = setTimeout(() => { chartTimer = null; loadCharts().catch((error) => showMessage(error.message)); }, 1000);
  }

  async function loadCharts() {
    const points = await request('GET', 'series?window=600&bucket=10');
    const labels = points.map((point) => new Date(point.at * 1000).toLocaleTimeString());
    if (!state.charts) {
      const options = { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } };
      state.charts = {
        throughput: new Chart($('#chart-throughput'), { type: 'bar', data: { labels, datasets: [
          { label: 'Succeeded per 10 s', data: [], borderColor: '#2e8b57', backgroundColor: '#2e8b57' },
          { label: 'Failed per 10 s', data: [], borderColor: '#c0392b', backgroundColor: '#c0392b' },
        ] }, options: { ...options, scales: { x: { stacked: true }, y: { beginAtZero: true, stacked: true } } } }),
        failureRate: new Chart($('#chart-failure-rate'), { type: 'line', data: { labels, datasets: [
          { label: 'Failure rate (%)', data: [], borderColor: '#8e44ad', backgroundColor: '#8e44ad' },
        ] }, options: { ...options, scales: { y: { beginAtZero: true, max: 100 } } } }),
      };
    }
    const { throughput, failureRate } = state.charts;
    throughput.data.labels = labels;
    throughput.data.datasets[0].data = points.map((point) => point.succeeded);
    throughput.data.datasets[1].data = points.map((point) => point.failed);
    failureRate.data.labels = labels;
    failureRate.data.datasets[0].data = points.map((point) => Math.round(point.failureRate * 1000) / 10);
    throughput.update();
    failureRate.update();
    document.body.dataset.chartsUpdated = String(Date.now());
  }

  // ---- queues --------------------------------------------------------------------------------
  async function loadQueues() {
    const queues = await request('GET', 'queues');
    const rows = queues.map((queue) =>
      el('tr', { 'data-queue': queue.name },
        el('td', {}, queue.name),
        el('td', { 'data-field': 'messages' }, queue.messages == null ? '—' : queue.messages),
        el('td', {}, queue.ratePerSecond == null ? '' : queue.ratePerSecond),
        el('td', { 'data-field': 'consumers' }, queue.consumers.join(', ') || '—'),
        el('td', { 'data-field': 'paused' }, queue.pausedOn.join(', ')),
        el('td', {},
          el('button', { class: 'pause', disabled: queue.consumers.length === 0, onclick: () => queueAction(queue.name, 'pause') }, 'Pause'),
          el('button', { class: 'resume', onclick: () => queueAction(queue.name, 'resume') }, 'Resume')),
      ),
    );
    $('#queues-table tbody').replaceChildren(...rows);
  }

  async function queueAction(queue, action) {
    const worker = $('#queue-worker').value || undefined;
    try {
      const result = await request('POST', `queues/${encodeURIComponent(queue)}/${action}`, worker ? { worker } : {});
      $('#queue-result').textContent = `${action === 'pause' ? 'Paused' : 'Resumed'} ${queue} on ${result.replies.length} worker(s): ` +
        result.replies.flatMap((reply) => Object.entries(reply).map(([node, answer]) => `${node}: ${answer.ok || answer.error}`)).join('; ');
      await loadQueues();
    } catch (error) {
      showMessage(error.message);
    }
  }

  // ---- periodic tasks ------------------------------------------------------------------------
  async function loadSchedules() {
    const { available, schedules } = await request('GET', 'schedules');
    const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
    const rows = schedules.map((schedule) =>
      el('tr', { 'data-schedule': schedule.name },
        el('td', {}, schedule.name),
        el('td', {}, schedule.task),
        el('td', {}, schedule.problem || schedule.schedule),
        el('td', { 'data-field': 'next' }, when(schedule.nextRunAt)),
        el('td', { 'data-field': 'last' }, when(schedule.lastRunAt)),
        el('td', { 'data-field': 'runs' }, schedule.totalRunCount),
        el('td', {}, el('input', { type: 'checkbox', class: 'enabled', checked: schedule.enabled, onchange: (event) => toggleSchedule(schedule, event.target.checked) })),
        el('td', {}, el('button', { class: 'run-now', onclick: () => runSchedule(schedule) }, 'Run now')),
      ),
    );
    $('#schedules-table tbody').replaceChildren(...rows);
    $('#schedules-result').textContent = available ? '' : 'No periodic tasks here: django-celery-beat\'s tables are not in the result backend\'s database (no beat has run on it).';
  }

  async function toggleSchedule(schedule, enabled) {
    try {
      await request('POST', `schedules/${schedule.id}/enabled`, { enabled });
      // Reloaded first: the reload clears the result line, which must then say what was done.
      await loadSchedules();
      $('#schedules-result').textContent = `${schedule.name} ${enabled ? 'enabled' : 'disabled'}: every beat takes it within a second.`;
    } catch (error) {
      showMessage(error.message);
    }
  }

  async function runSchedule(schedule) {
    try {
      const result = await request('POST', `schedules/${schedule.id}/run`);
      $('#schedules-result').textContent = `${schedule.name} sent now as task ${result.taskId}; its schedule is unchanged.`;
    } catch (error) {
      showMessage(error.message);
    }
  }

  // ---- one worker ----------------------------------------------------------------------------
  async function loadWorker(hostname) {
    $('#worker-name').textContent = hostname;
    const detail = await request('GET', `workers/${encodeURIComponent(hostname)}`);
    $('#worker-registered').replaceChildren(...detail.registered.map((task) => el('li', {}, task)));
    $('#worker-queues').replaceChildren(...detail.activeQueues.map((queue) => el('li', { 'data-queue': queue.name }, queue.name,
      queue.queue_arguments && Object.keys(queue.queue_arguments).length ? ` ${JSON.stringify(queue.queue_arguments)}` : '')));
    const stats = detail.stats || {};
    const pool = stats.pool || {};
    const rows = [['pool', pool.implementation || ''], ['concurrency', pool['max-concurrency']], ['processes', (pool.processes || []).join(', ')],
      ['prefetch', stats.prefetch_count], ['pid', stats.pid], ['uptime (s)', stats.uptime], ['tasks run', JSON.stringify(stats.total || {})]];
    $('#worker-stats tbody').replaceChildren(...rows.map(([name, value]) => el('tr', {}, el('th', {}, name), el('td', {}, value == null ? '' : value))));
    $('#worker-conf tbody').replaceChildren(...Object.entries(detail.conf).sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => el('tr', {}, el('th', {}, name), el('td', {}, typeof value === 'string' ? value : JSON.stringify(value)))));
  }

  // ---- routing -----------------------------------------------------------------------------
  function route() {
    const [, view = 'workers', id] = (location.hash || '#/workers').split('/');
    state.view = view;
    state.taskId = view === 'task' ? decodeURIComponent(id || '') : null;
    const workerName = view === 'worker' ? decodeURIComponent(id || '') : null;
    for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
    for (const link of document.querySelectorAll('nav a')) link.classList.toggle('current', link.dataset.view === view);
    showMessage('');
    const load = { workers: async () => renderWorkers(), queues: loadQueues, worker: () => loadWorker(workerName), schedules: loadSchedules, tasks: loadTasks, task: () => loadTask(state.taskId), charts: loadCharts }[view];
    if (load) load().catch((error) => showMessage(error.message));
    loadOverview().catch((error) => showMessage(error.message));
  }

  window.addEventListener('hashchange', route);
  connectStream();
  request('GET', 'workers').then((workers) => {
    state.workers = new Map(workers.map((worker) => [worker.hostname, worker]));
    renderWorkers();
  }).catch((error) => showMessage(error.message));
  route();
})();
