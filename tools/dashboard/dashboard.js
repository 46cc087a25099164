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

  const table = document.getElementById('candidates');
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
    const cells = [
      table.children.length + 1,
      event.generation + 1,
      event.macs.toFixed(3),
      event.weights ?? '',
      event.accuracy.toFixed(4),
    ];
    row.innerHTML =
      cells.map((c) => `<td>${c}</td>`).join('') + `<td class="subnet">${JSON.stringify(event.subnet)}</td>`;
    row.addEventListener('click', () => {
      for (const other of table.querySelectorAll('tr.selected')) other.classList.remove('selected');
      row.classList.add('selected');
      command.textContent = exportCommand(event.subnet);
    });
    table.appendChild(row);
    front.data.datasets[0].data.push({ x: event.macs, y: event.accuracy });
  }

  function setFront(points) {
    front.data.datasets[1].data = points.map((p) => ({ x: p.macs, y: p.accuracy })).sort((a, b) => a.x - b.x);
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
  }

  function apply(event) {
    switch (event.type) {
      case 'train.step':
        addStep(event);
        break;
      case 'train.stage':
        showStage(event);
        stageBoundaries.push(steps);
        break;
      case 'search.candidate':
        addCandidate(event);
        break;
      case 'search.generation':
        setFront(event.front);
        hypervolume.data.datasets[0].data.push({ x: event.generation + 1, y: event.hypervolume });
        break;
      default:
        break;
    }
  }

  function refresh() {
    training.update('none');
    front.update('none');
    hypervolume.update('none');
    statusLine.textContent =
      `${run.command || 'run'} — ${steps} training steps, ${table.children.length} subnets evaluated` +
      (dropped ? `, ${dropped} messages dropped` : '');
    document.body.dataset.steps = String(steps);
    document.body.dataset.candidates = String(table.children.length);
    document.body.dataset.front = String(front.data.datasets[1].data.length);
  }

  let pending = false;
  function scheduleRefresh() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      refresh();
    });
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
