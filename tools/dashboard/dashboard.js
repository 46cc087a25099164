/* The lonas live dashboard: listens on the page's own WebSocket address and draws the run. */
(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const url = `ws://${location.host}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const statusLine = document.getElementById('status');
  let run = {};
  let dropped = 0;
  let steps = 0;
  const stageBoundaries = [];

  // Vertical dashed lines at the global steps where a new stage began.
  const boundaryPlugin = {
    id: 'stageBoundaries',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = '#999';
      for (const step of stageBoundaries) {
        const x = scales.x.getPixelForValue(step);
        if (x < chartArea.left || x > chartArea.right) continue;
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.stroke();
      }
      ctx.restore();
    },
  };

  const animation = false;
  const training = new Chart(document.getElementById('training'), {
    type: 'line',
    data: {
      datasets: [
        { label: 'loss', data: [], borderColor: '#1f77b4', pointRadius: 0, yAxisID: 'loss' },
        { label: 'lr', data: [], borderColor: '#ff7f0e', pointRadius: 0, yAxisID: 'lr' },
      ],
    },
    options: {
      animation,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' } },
        loss: { position: 'left', title: { display: true, text: 'loss' } },
        lr: { position: 'right', title: { display: true, text: 'lr' }, grid: { drawOnChartArea: false } },
      },
    },
    plugins: [boundaryPlugin],
  });
  const front = new Chart(document.getElementById('front'), {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'evaluated',
          data: [],
          backgroundColor: 'rgba(68, 1, 84, 0.35)',
          pointStyle: 'rectRot',
          pointRadius: 4,
        },
        {
          label: 'Pareto front',
          data: [],
          backgroundColor: '#d62728',
          borderColor: '#d62728',
          showLine: true,
          pointRadius: 4,
        },
      ],
    },
    options: {
      animation,
      parsing: false,
      scales: { x: { title: { display: true, text: 'MACs (M)' } }, y: { title: { display: true, text: 'top1_acc' } } },
    },
  });
  const hypervolume = new Chart(document.getElementById('hypervolume'), {
    type: 'line',
    data: { datasets: [{ label: 'hypervolume', data: [], borderColor: '#2ca02c', pointRadius: 3 }] },
    options: {
      animation,
      parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'generation' } } },
    },
  });

  // Only the charts whose data changed are redrawn (eval.progress may come many times a second).
  const dirty = new Set();

  // Evaluation: the evaluations in progress, the results newest first, GLUE's per-epoch curves.
  const MAX_EVAL_ROWS = 1000;
  const evalRows = document.getElementById('evalResults');
  const evalProgressBox = document.getElementById('evalProgress');
  const evalBody = document.getElementById('evalBody');
  const evalChartBox = document.getElementById('evalChartBox');
  let evaluations = 0;
  /** Results received since the last refresh, oldest first (the newest MAX_EVAL_ROWS of them). */
  const newResults = [];
  /** The latest eval.progress per role and dataset, while its evaluation goes on. */
  const progress = new Map();
  const progressBars = new Map();
  /** Per-epoch results of the super-network and the minimum subnet, per role, split and metric. */
  const perEpoch = new Map();
  const ROLE_COLOURS = { super: '#1f77b4', minimum: '#d62728' };
  const POINT_STYLES = ['circle', 'rect', 'triangle', 'rectRot'];
  const evalChart = new Chart(document.getElementById('evalEpochs'), {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { stepSize: 1 } },
        y: { title: { display: true, text: 'metric' } },
      },
    },
  });

  const progressKey = (event) =>
    `${event.dataset === undefined ? event.role : `${event.role}/${event.dataset}`}${event.evaluator === undefined ? '' : `@${event.evaluator}`}`;

  function addResult(event) {
    evaluations += 1;
    newResults.push(event);
    if (newResults.length > MAX_EVAL_ROWS) newResults.shift();
    if ((event.role === 'super' || event.role === 'minimum') && event.epoch !== undefined) {
      const key = `${event.role}\u0000${event.split ?? ''}\u0000${event.metric}`;
      if (!perEpoch.has(key))
        perEpoch.set(key, { role: event.role, split: event.split, metric: event.metric, points: new Map() });
      perEpoch.get(key).points.set(event.epoch, event.value);
      dirty.add('evalChart');
    }
  }

  function setProgress(event) {
    if (event.done >= event.total) progress.delete(progressKey(event));
    else progress.set(progressKey(event), event);
    dirty.add('progress');
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderResults() {
    if (newResults.length === 0) return;
    const rows = document.createDocumentFragment();
    for (let i = newResults.length - 1; i >= 0; i--) {
      const event = newResults[i];
      const row = document.createElement('tr');
      row.append(
        cell(event.role ?? '', 'text'),
        cell(event.split ?? '', 'text'),
        cell(event.epoch ?? ''),
        cell(event.metric, 'text'),
        cell(event.value.toFixed(4)),
        cell(event.examples),
        cell(JSON.stringify(event.subnet), 'subnet'),
      );
      rows.appendChild(row);
    }
    evalRows.prepend(rows);
    while (evalRows.children.length > MAX_EVAL_ROWS) evalRows.lastElementChild.remove();
    newResults.length = 0;
    document.getElementById('evalEmpty').hidden = true;
  }

  function renderProgress() {
    if (!dirty.delete('progress')) return;
    for (const [key, bar] of progressBars) {
      if (progress.has(key)) continue;
      bar.row.remove();
      progressBars.delete(key);
    }
    for (const [key, event] of progress) {
      let bar = progressBars.get(key);
      if (bar === undefined) {
        const row = document.createElement('div');
        row.className = 'progress';
        row.innerHTML = '<span class="label"></span><div class="track"><div class="fill"></div></div>';
        evalProgressBox.appendChild(row);
        bar = { row, label: row.querySelector('.label'), fill: row.querySelector('.fill') };
        progressBars.set(key, bar);
      }
      const share = event.total > 0 ? Math.min(1, event.done / event.total) : 0;
      bar.label.textContent =
        `evaluating ${event.role}${event.dataset === undefined ? '' : ` ${event.dataset}`}` +
        `${event.evaluator === undefined ? '' : ` on ${event.evaluator}`}: ` +
        `${event.done} / ${event.total} examples (${Math.floor(share * 100)}%)`;
      bar.row.title = JSON.stringify(event.subnet);
      bar.fill.style.width = `${(share * 100).toFixed(1)}%`;
    }
    evalProgressBox.hidden = progress.size === 0;
  }

  function renderEvalChart() {
    if (!dirty.delete('evalChart')) return;
    const order = (s) => `${s.role === 'super' ? 0 : 1}${s.split ?? ''}\u0000${s.metric}`;
    const series = [...perEpoch.values()].sort((a, b) => order(a).localeCompare(order(b)));
    const splits = [...new Set(series.map((s) => s.split ?? ''))];
    const metrics = [...new Set(series.map((s) => s.metric))];
    evalChart.data.datasets = series.map((s) => ({
      label: [s.role, splits.length > 1 ? s.split : '', metrics.length > 1 ? s.metric : ''].filter(Boolean).join(' '),
      data: [...s.points].map(([x, y]) => ({ x, y })).sort((a, b) => a.x - b.x),
      borderColor: ROLE_COLOURS[s.role],
      backgroundColor: ROLE_COLOURS[s.role],
      borderDash: splits.indexOf(s.split ?? '') > 0 ? [6, 3] : [],
      pointStyle: POINT_STYLES[metrics.indexOf(s.metric) % POINT_STYLES.length],
      pointRadius: 3,
    }));
    evalChart.options.scales.y.title.text = metrics.join(', ');
    evalChartBox.hidden = series.length === 0;
    evalBody.classList.toggle('with-chart', series.length > 0);
    evalChart.update('none');
  }

  const table = document.getElementById('candidates');
  const candidateTable = document.getElementById('candidateTable');
  const command = document.getElementById('command');

  function exportCommand(subnet) {
    const out = run.output_dir || 'OUTPUT_DIR';
    return (
      `npx lonas export --model_name_or_path ${run.model || 'MODEL'} --nncf_config ${run.nncf_config || 'CONFIG'} ` +
      `--lora_weights ${out} --subnet '${JSON.stringify(subnet)}' --output_dir ${out}/export`
    );
  }

  function addCandidate(event) {
    const row = document.createElement('tr');
    row.className = 'candidate';
    row.append(
      cell(table.children.length + 1),
      cell(event.generation + 1),
      cell(event.macs.toFixed(3)),
      cell(event.weights ?? ''),
      cell(event.accuracy.toFixed(4)),
      // A worker's name comes from another machine: text, never markup.
      cell(event.evaluator ?? '', 'evaluator text'),
      cell(JSON.stringify(event.subnet), 'subnet'),
    );
    if (event.evaluator !== undefined) candidateTable.classList.add('with-evaluator');
    row.addEventListener('click', () => {
      for (const other of table.querySelectorAll('tr.selected')) other.classList.remove('selected');
      row.classList.add('selected');
      command.textContent = exportCommand(event.subnet);
    });
    table.appendChild(row);
    front.data.datasets[0].data.push({ x: event.macs, y: event.accuracy });
    dirty.add('front');
  }

  function setFront(points) {
    front.data.datasets[1].data = points.map((p) => ({ x: p.macs, y: p.accuracy })).sort((a, b) => a.x - b.x);
    dirty.add('front');
  }

  // A distributed search's queue: hidden until the search reports one, its warning while there is one.
  let queue;
  function renderQueue() {
    if (!dirty.delete('queue')) return;
    document.getElementById('queue').hidden = false;
    document.getElementById('queueFigures').textContent =
      `${queue.queue} at ${queue.redis}: ${queue.waiting} waiting, ${queue.active} active, ` +
      `${queue.workers} worker${queue.workers === 1 ? '' : 's'}`;
    const warning = document.getElementById('queueWarning');
    warning.textContent = queue.warning ?? '';
    warning.hidden = queue.warning === undefined;
  }

  function showStage(event) {
    document.getElementById('stage').textContent =
      `stage${event.stage} (from epoch ${event.epoch + 1}): width_indicator ${event.widthIndicator}, sample_rate ${event.sampleRate}`;
  }

  function addStep(event) {
    steps = event.globalStep;
    training.data.datasets[0].data.push({ x: event.globalStep, y: event.loss });
    training.data.datasets[1].data.push({ x: event.globalStep, y: event.lr });
    document.getElementById('subnet').textContent = JSON.stringify(event.subnet);
    dirty.add('training');
  }

  function apply(event) {
    switch (event.type) {
      case 'train.step':
        addStep(event);
        break;
      case 'train.stage':
        showStage(event);
        stageBoundaries.push(steps);
        dirty.add('training');
        break;
      case 'search.candidate':
        addCandidate(event);
        break;
      case 'search.generation':
        setFront(event.front);
        hypervolume.data.datasets[0].data.push({ x: event.generation + 1, y: event.hypervolume });
        dirty.add('hypervolume');
        break;
      case 'eval.result':
        addResult(event);
        break;
      case 'eval.progress':
        setProgress(event);
        break;
      case 'search.queue':
        queue = event;
        dirty.add('queue');
        break;
      default:
        break;
    }
  }

  function refresh() {
    if (dirty.delete('training')) training.update('none');
    if (dirty.delete('front')) front.update('none');
    if (dirty.delete('hypervolume')) hypervolume.update('none');
    renderResults();
    renderProgress();
    renderEvalChart();
    renderQueue();
    statusLine.textContent =
      `${run.command || 'run'} — ${steps} training steps, ${table.children.length} subnets evaluated` +
      (evaluations ? `, ${evaluations} evaluation results` : '') +
      (dropped ? `, ${dropped} messages dropped` : '');
    document.body.dataset.steps = String(steps);
    document.body.dataset.candidates = String(table.children.length);
    document.body.dataset.front = String(front.data.datasets[1].data.length);
    document.body.dataset.evaluations = String(evaluations);
    document.body.dataset.evalProgress = String(progress.size);
    document.body.dataset.evalEpochs = String(evalChart.data.datasets.reduce((n, d) => n + d.data.length, 0));
  }

  // At most one refresh per REFRESH_MS, on an animation frame (none while the tab is hidden):
  // however fast events come, the page redraws a few times a second.
  const REFRESH_MS = 200;
  let pending = false;
  let lastRefresh = -Infinity;
  function frame(now) {
    if (now - lastRefresh < REFRESH_MS) {
      requestAnimationFrame(frame);
      return;
    }
    pending = false;
    lastRefresh = now;
    refresh();
  }
  function scheduleRefresh() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(frame);
  }

  const socket = new WebSocket(url);
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'state') {
      run = data.state.run;
      for (const step of data.state.steps) addStep(step);
      for (const stage of data.state.stages) {
        showStage(stage);
        const first = data.state.steps.find((step) => step.epoch >= stage.epoch);
        if (stage.epoch > 0 && first) stageBoundaries.push(first.globalStep - 1);
      }
      for (const candidate of data.state.candidates) addCandidate(candidate);
      setFront(data.state.front);
      data.state.hypervolumes.forEach((h, i) => hypervolume.data.datasets[0].data.push({ x: i + 1, y: h }));
      // Servers from before the eval topic send neither, and a search without a queue sends none.
      for (const result of data.state.evaluations ?? []) addResult(result);
      for (const current of Object.values(data.state.evalProgress ?? {})) setProgress(current);
      if (data.state.queue !== undefined) apply(data.state.queue);
      dirty.add('training').add('front').add('hypervolume');
    } else if (data.type === 'event') {
      apply(data.event);
    } else if (data.type === 'dropped') {
      dropped += data.count;
    }
    scheduleRefresh();
  };
  socket.onclose = () => {
    statusLine.textContent += ' — stream closed';
  };
})();
