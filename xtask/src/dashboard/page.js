// The dashboard: draws the model (the JSON beside this script) as SVG
// charts and tables; in live mode, follows the run's server-sent events.
// Rendering is a pure function of the model, so a live page that has
// received every event shows exactly what the static page of the stored
// result shows.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("config").textContent);
  const model = JSON.parse(document.getElementById("model").textContent);
  const state = { model: model, events: {}, eventCount: 0, ended: !config.live, renderedAt: null };
  window.dashboard = state;
  let byId = new Map();
  let narrow = false;

  const METRICS = {
    time: "wall time",
    instructions: "instructions",
    data_reads: "data reads",
    data_writes: "data writes",
    l1_data_misses: "L1 data misses",
    ll_data_misses: "last-level data misses",
  };
  const CHARTED = ["time", "instructions"];

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function number(value) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(2);
    return value.toPrecision(magnitude >= 1000 ? Math.max(4, Math.ceil(Math.log10(magnitude + 1))) : 4).replace(/\.?0+$/, "");
  }

  // The scale of a series: times in the unit divan would print, counts in
  // thousands, millions or billions.
  function scaleOf(metric, unit, largest) {
    if (unit === "ns") {
      const what = "wall time";
      if (largest >= 1e9) return { factor: 1e9, short: "s", title: what + " (s)" };
      if (largest >= 1e6) return { factor: 1e6, short: "ms", title: what + " (ms)" };
      if (largest >= 1e3) return { factor: 1e3, short: "µs", title: what + " (µs)" };
      return { factor: 1, short: "ns", title: what + " (ns)" };
    }
    const what = (METRICS[metric] || metric) + " (" + unit + ")";
    if (largest >= 1e9) return { factor: 1e9, short: "G", title: what + ", billions" };
    if (largest >= 1e6) return { factor: 1e6, short: "M", title: what + ", millions" };
    if (largest >= 1e4) return { factor: 1e3, short: "k", title: what + ", thousands" };
    return { factor: 1, short: "", title: what };
  }

  function format(value, scale) {
    return number(value / scale.factor) + (scale.short ? " " + scale.short : "");
  }

  function ticks(low, high, count) {
    const span = high - low;
    if (!(span > 0)) return [low];
    const rough = span / count;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => span / s <= count) || 10 * power;
    const out = [];
    for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }

  function outcomeOf(point) {
    return point.verdict ? point.verdict.outcome : "first";
  }

  // x and y are numbers; every coordinate is written with one decimal.
  function marker(outcome, cx, cy) {
    const r = 4.5;
    const f = (v) => v.toFixed(1);
    const x = f(cx), y = f(cy);
    const up = f(cy - r - 1), down = f(cy + r + 1), top = f(cy - r), bottom = f(cy + r);
    const left = f(cx - r), right = f(cx + r), wideLeft = f(cx - r - 1), wideRight = f(cx + r + 1);
    switch (outcome) {
      case "regression":
        return `<path class="m-regression" d="M${x} ${up} L${wideRight} ${bottom} L${wideLeft} ${bottom} Z"/>`;
      case "improvement":
        return `<path class="m-improvement" d="M${wideLeft} ${top} L${wideRight} ${top} L${x} ${down} Z"/>`;
      case "undecided":
        return `<path class="m-undecided" d="M${x} ${top} L${right} ${y} L${x} ${bottom} L${left} ${y} Z"/>`;
      default:
        return `<circle class="m-unchanged" cx="${x}" cy="${y}" r="3.5"/>`;
    }
  }

  function commitLabel(commit) {
    const kind = commit.kind === "baseline" ? "" : " (" + commit.kind + ")";
    return commit.short + kind;
  }

  function verdictText(verdict) {
    if (!verdict) return "first measurement";
    let text = verdict.outcome + (verdict.severity ? " (" + verdict.severity + ")" : "");
    if (verdict.ratio !== null && verdict.ratio !== undefined) {
      text += ", ×" + number(verdict.ratio);
      if (verdict.low !== null && verdict.high !== null) text += " [" + number(verdict.low) + ", " + number(verdict.high) + "]";
    }
    if (verdict.against) text += " vs " + verdict.against;
    return text;
  }

  function pValue(verdict) {
    if (!verdict) return null;
    const ps = [verdict.p_regression, verdict.p_improvement].filter((p) => p !== null && p !== undefined);
    return ps.length ? Math.min.apply(null, ps) : null;
  }

  function pointTitle(bench, metric, point, scale) {
    const commit = model.commits[point.c];
    const machine = model.machines[commit.machine];
    return [
      bench.id + " · " + (METRICS[metric] || metric),
      "commit " + commitLabel(commit) + ", " + commit.date,
      "machine " + (machine ? machine.label : "?"),
      "median " + format(point.median, scale) + ", runs " + format(point.min, scale) + " – " + format(point.max, scale) + " (n = " + point.n + ")",
      verdictText(point.verdict),
    ].join("\n");
  }

  function chart(bench, metric, series) {
    // A narrower drawing on narrow screens keeps the text readable.
    const W = narrow ? 420 : 640, H = narrow ? 230 : 250, L = 66, R = 14, T = 14, B = 62;
    const commits = model.commits;
    const points = series.points;
    const limitBench = metric === "time" && bench.limit ? byId.get(bench.limit) : null;
    const limitPoints = limitBench && limitBench.series.time ? limitBench.series.time.points : [];
    const values = [];
    points.forEach((p) => values.push(p.min, p.max));
    limitPoints.forEach((p) => values.push(p.median));
    let low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    const pad = (high - low) * 0.08 || Math.abs(high) * 0.05 || 1;
    low = Math.max(0, low - pad);
    high = high + pad;
    const scale = scaleOf(metric, series.unit, high);
    const x = (c) => (commits.length <= 1 ? L + (W - L - R) / 2 : L + ((W - L - R) * c) / (commits.length - 1));
    const y = (v) => T + (H - T - B) * (1 - (v - low) / (high - low));
    const fx = (v) => v.toFixed(1);
    const title = (METRICS[metric] || metric) + " of " + bench.id;
    const steps = points.filter((p) => p.verdict && (p.verdict.outcome === "regression" || p.verdict.outcome === "improvement"));
    const last = points[points.length - 1];
    const description = `${title}: ${points.length} point(s) over ${commits.length} commit(s), latest median ${format(last.median, scale)}, ${steps.length} change point(s).`;
    let svg = `<svg class="chart" data-lens="${esc(metric)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(description)}">`;
    // Grid and y axis.
    for (const t of ticks(low, high, 4)) {
      svg += `<line class="grid" x1="${L}" x2="${W - R}" y1="${fx(y(t))}" y2="${fx(y(t))}"/>`;
      svg += `<text x="${L - 6}" y="${fx(y(t) + 4)}" text-anchor="end">${esc(number(t / scale.factor))}</text>`;
    }
    svg += `<line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/>`;
    svg += `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(scale.title)}</text>`;
    // x axis: commit ids, thinned to fit.
    const every = Math.max(1, Math.ceil(commits.length / (narrow ? 8 : 14)));
    commits.forEach((commit, c) => {
      if (c % every !== 0 && c !== commits.length - 1) return;
      svg += `<text transform="translate(${fx(x(c))} ${H - B + 12}) rotate(-35)" text-anchor="end">${esc(commit.short.slice(0, 7))}</text>`;
    });
    svg += `<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">commit (git order, oldest left)</text>`;
    // Machine changes.
    for (let c = 1; c < commits.length; c++) {
      if (commits[c].machine !== commits[c - 1].machine) {
        const machine = model.machines[commits[c].machine];
        svg += `<line class="machine" x1="${fx(x(c))}" x2="${fx(x(c))}" y1="${T}" y2="${H - B}"><title>${esc("machine changed at " + commits[c].short + ": " + (machine ? machine.label : "?"))}</title></line>`;
      }
    }
    // Band, median, read limit.
    if (points.length > 1) {
      const upper = points.map((p) => fx(x(p.c)) + "," + fx(y(p.max)));
      const lower = points.slice().reverse().map((p) => fx(x(p.c)) + "," + fx(y(p.min)));
      svg += `<polygon class="band" points="${upper.concat(lower).join(" ")}"/>`;
      svg += `<polyline class="median" points="${points.map((p) => fx(x(p.c)) + "," + fx(y(p.median))).join(" ")}"/>`;
    } else {
      svg += `<line class="band-single" x1="${fx(x(points[0].c))}" x2="${fx(x(points[0].c))}" y1="${fx(y(points[0].min))}" y2="${fx(y(points[0].max))}" stroke="#56b4e9" stroke-width="6" stroke-opacity="0.5"/>`;
    }
    if (limitPoints.length > 0) {
      const line = limitPoints.map((p) => fx(x(p.c)) + "," + fx(y(p.median))).join(" ");
      svg += limitPoints.length > 1 ? `<polyline class="limit" points="${line}"><title>read limit</title></polyline>` : "";
      const end = limitPoints[limitPoints.length - 1];
      svg += `<text x="${fx(Math.min(x(end.c), W - R) - 2)}" y="${fx(y(end.median) - 5)}" text-anchor="end">read limit</text>`;
    }
    // Change points: the commit and the size of the step.
    steps.forEach((p) => {
      const commit = model.commits[p.c];
      const label = "×" + number(p.verdict.ratio) + " at " + commit.short.slice(0, 7);
      const px = x(p.c);
      const anchor = px > W - R - 120 ? "end" : "start";
      const tx = anchor === "end" ? px - 4 : px + 4;
      svg += `<g class="step ${p.verdict.outcome}" data-commit="${esc(commit.short)}" data-outcome="${p.verdict.outcome}"><line x1="${fx(px)}" x2="${fx(px)}" y1="${T}" y2="${H - B}"/><text x="${fx(tx)}" y="${T + 10}" text-anchor="${anchor}">${esc(label)}</text></g>`;
    });
    // Points.
    points.forEach((p) => {
      const commit = model.commits[p.c];
      const run = commit.kind.startsWith("run ");
      svg += `<g class="point${run ? " m-run" : ""}" data-commit="${esc(commit.short)}" data-outcome="${outcomeOf(p)}"><title>${esc(pointTitle(bench, metric, p, scale))}</title>${marker(outcomeOf(p), x(p.c), y(p.median))}</g>`;
    });
    svg += "</svg>";
    return svg;
  }

  function table(bench, metrics) {
    let html = `<div class="scroll"><table><caption class="empty">${esc(bench.id)}: every point and verdict</caption><thead><tr><th scope="col">commit</th><th scope="col">date</th><th scope="col">machine</th><th scope="col">metric</th><th scope="col">median</th><th scope="col">fastest – slowest run</th><th scope="col">n</th><th scope="col">verdict</th><th scope="col">ratio [95% CI]</th><th scope="col">p (Holm)</th><th scope="col">detectable change</th><th scope="col">against</th></tr></thead><tbody>`;
    for (const metric of metrics) {
      const series = bench.series[metric];
      const largest = Math.max.apply(null, series.points.map((p) => p.max));
      const scale = scaleOf(metric, series.unit, largest);
      for (const p of series.points) {
        const commit = model.commits[p.c];
        const machine = model.machines[commit.machine];
        const v = p.verdict;
        const outcome = v ? v.outcome + (v.severity ? " (" + v.severity + ")" : "") : "first";
        const ratio = v && v.ratio !== null && v.ratio !== undefined ? "×" + number(v.ratio) + (v.low !== null ? " [" + number(v.low) + ", " + number(v.high) + "]" : "") : "–";
        const mdc = v && v.mdc !== null && v.mdc !== undefined ? "±" + number(v.mdc * 100) + "%" : "–";
        html += `<tr><td class="text">${esc(commitLabel(commit))}</td><td class="text">${esc(commit.date)}</td><td class="text">${esc(machine ? machine.label : "?")}</td><td class="text">${esc(METRICS[metric] || metric)}</td><td>${esc(format(p.median, scale))}</td><td>${esc(format(p.min, scale) + " – " + format(p.max, scale))}</td><td>${p.n}</td><td class="text verdict-${v ? esc(v.outcome) : "first"}">${esc(outcome)}</td><td>${esc(ratio)}</td><td>${esc(number(pValue(v)))}</td><td>${esc(mdc)}</td><td class="text">${esc(v && v.against ? v.against : "–")}</td></tr>`;
      }
    }
    return html + "</tbody></table></div>";
  }

  function section(bench) {
    const metrics = Object.keys(bench.series);
    const charted = CHARTED.filter((metric) => bench.series[metric] && bench.series[metric].points.length > 0);
    const others = metrics.filter((metric) => charted.indexOf(metric) < 0);
    let steps = 0;
    metrics.forEach((metric) => bench.series[metric].points.forEach((p) => { if (p.verdict && (p.verdict.outcome === "regression" || p.verdict.outcome === "improvement")) steps++; }));
    let html = `<section class="bench" data-bench="${esc(bench.id)}" data-crate="${esc(bench.crate)}" data-steps="${steps}" aria-label="${esc(bench.id)}">`;
    html += `<h2>${esc(bench.id)}</h2><p class="meta">crate ${esc(bench.crate)} · bench target ${esc(bench.target)}${bench.limit ? " · read limit " + esc(bench.limit) : ""}</p><div class="lenses">`;
    for (const metric of charted) {
      const series = bench.series[metric];
      html += `<figure class="lens" data-lens="${esc(metric)}"><figcaption>${esc(METRICS[metric] || metric)} <span class="meta">(${esc(series.row)})</span></figcaption>${chart(bench, metric, series)}<details class="table" data-metric="${esc(metric)}"><summary>Table: ${esc(METRICS[metric] || metric)}, ${series.points.length} point(s)</summary></details></figure>`;
    }
    html += "</div>";
    if (others.length > 0) {
      html += `<details class="counts" data-metric="${esc(others.join(" "))}"><summary>Table: ${esc(others.map((m) => METRICS[m] || m).join(", "))}</summary></details>`;
    }
    return html + "</section>";
  }

  // Tables are built when opened: 100 benchmarks × 100 commits stay fast.
  document.addEventListener(
    "toggle",
    (event) => {
      const details = event.target;
      if (!(details instanceof HTMLDetailsElement) || !details.open || details.querySelector("table")) return;
      const sectionElement = details.closest("section.bench");
      if (!sectionElement) return;
      const bench = byId.get(sectionElement.dataset.bench);
      if (!bench) return;
      details.insertAdjacentHTML("beforeend", table(bench, details.dataset.metric.split(" ")));
    },
    true,
  );

  const main = document.getElementById("benchmarks");
  const crateSelect = document.getElementById("crate");
  const search = document.getElementById("search");
  const changes = document.getElementById("changes");

  function crates() {
    return Array.from(new Set(model.benchmarks.map((bench) => bench.crate))).sort();
  }

  function summary() {
    const first = model.commits[0], last = model.commits[model.commits.length - 1];
    const range = first ? `, ${first.date} to ${last.date}` : "";
    document.getElementById("summary").textContent =
      `${model.benchmarks.length} benchmark(s) in ${crates().length} crate(s), ${model.commits.length} commit(s)${range}, ${model.machines.length} machine(s); commits in ${model.order}.`;
  }

  function fillCrates() {
    const chosen = crateSelect.value;
    crateSelect.length = 1;
    for (const name of crates()) crateSelect.add(new Option(name, name));
    crateSelect.value = crates().indexOf(chosen) >= 0 ? chosen : "";
  }

  function applyFilters() {
    const crate = crateSelect.value;
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    const sections = main.querySelectorAll("section.bench");
    sections.forEach((element) => {
      const id = element.dataset.bench.toLowerCase();
      const visible =
        (!crate || element.dataset.crate === crate) &&
        words.every((word) => id.indexOf(word) >= 0) &&
        (!changes.checked || element.dataset.steps !== "0");
      element.hidden = !visible;
      if (visible) shown++;
    });
    document.getElementById("shown").textContent = `Showing ${shown} of ${sections.length} benchmark(s).`;
    if (sections.length === 0) document.getElementById("shown").textContent = config.live ? "Waiting for the first samples…" : "No baselines yet: record one with cargo xtask baseline-update.";
  }

  const isNarrow = () => main.clientWidth < 560;

  function render() {
    byId = new Map(model.benchmarks.map((bench) => [bench.id, bench]));
    narrow = isNarrow();
    // Keep open tables open across a live re-render.
    const open = new Set(Array.from(main.querySelectorAll("details[open]")).map((d) => d.closest("section").dataset.bench + "\u0000" + d.dataset.metric));
    main.innerHTML = model.benchmarks.map(section).join("");
    if (open.size > 0) {
      main.querySelectorAll("details").forEach((d) => {
        if (open.has(d.closest("section").dataset.bench + "\u0000" + d.dataset.metric)) d.open = true;
      });
    }
    summary();
    fillCrates();
    applyFilters();
  }

  window.addEventListener("resize", () => {
    if (isNarrow() !== narrow) render();
  });
  crateSelect.addEventListener("change", applyFilters);
  search.addEventListener("input", applyFilters);
  changes.addEventListener("change", applyFilters);
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());

  render();
  state.renderedAt = performance.now();

  if (!config.live) return;

  // Live: the run's events. Rendering is batched per animation frame.
  const status = document.getElementById("live-status");
  const progress = document.getElementById("live-progress");
  document.getElementById("live").hidden = false;
  status.textContent = "Connecting to the run…";
  let pending = false;
  function later() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }
  function upsert(bench) {
    const index = model.benchmarks.findIndex((known) => known.id === bench.id);
    if (index >= 0) {
      model.benchmarks[index] = bench;
    } else {
      model.benchmarks.push(bench);
      model.benchmarks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
  }
  const source = new EventSource(config.live);
  source.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    state.eventCount++;
    progress.max = Math.max(1, data.total);
    progress.value = data.done;
    status.textContent = data.message;
  });
  source.addEventListener("samples", (event) => {
    const data = JSON.parse(event.data);
    state.eventCount++;
    for (const bench of data.benchmarks) {
      upsert(bench);
      state.events[bench.id] = (state.events[bench.id] || 0) + 1;
    }
    later();
  });
  source.addEventListener("verdicts", (event) => {
    const data = JSON.parse(event.data);
    state.eventCount++;
    data.benchmarks.forEach(upsert);
    later();
  });
  source.addEventListener("commits", (event) => {
    const data = JSON.parse(event.data);
    state.eventCount++;
    model.commits = data.commits;
    model.machines = data.machines;
    later();
  });
  source.addEventListener("end", (event) => {
    // Close first: the server ends the stream next, and a reconnect would fail.
    source.close();
    const data = JSON.parse(event.data);
    state.eventCount++;
    progress.value = progress.max;
    status.textContent = data.message;
    requestAnimationFrame(() => {
      render();
      state.ended = true;
    });
  });
  source.addEventListener("error", () => {
    if (!state.ended) status.textContent = "The connection to the run was lost; the page shows what arrived.";
  });
})();
