// evaltrace ui: draws the charts described in <script id="charts"> with uPlot (shipped beside
// this file). After each chart draws, it records how many of its canvas pixels are painted in
// data-painted, so tests (and a curious reader) can tell a drawn chart from an empty box.
(function () {
  "use strict";
  var COLORS = ["#2a5bd7", "#e07a1f", "#137a3d", "#8e44ad"];
  var charts = JSON.parse(document.getElementById("charts").textContent || "[]");

  function painted(u) {
    var c = u.ctx.canvas, data;
    try { data = u.ctx.getImageData(0, 0, c.width, c.height).data; } catch (e) { return -1; }
    var n = 0;
    for (var i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
    return n;
  }

  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return +(v / 1e3).toFixed(1) + "k";
    return +v.toFixed(3) + "";
  }

  // Error bars: a series with low/high arrays (a run's 95 % interval) gets a capped vertical
  // bar per point, drawn over the plot, and the y scale widened to hold every bar.
  function hasBars(spec) {
    return spec.series.some(function (s) { return s.low && s.high; });
  }

  function barRange(spec, min, max) {
    if (min == null) min = Infinity;
    if (max == null) max = -Infinity;
    spec.series.forEach(function (s) {
      if (!s.low || !s.high) return;
      s.low.forEach(function (v) { if (v != null && v < min) min = v; });
      s.high.forEach(function (v) { if (v != null && v > max) max = v; });
    });
    if (!isFinite(min) || !isFinite(max)) return [0, 1];
    var pad = max > min ? (max - min) * 0.05 : Math.abs(max) * 0.05 || 1;
    return [min - pad, max + pad];
  }

  function errorBars(u, spec) {
    var ctx = u.ctx, b = u.bbox, cap = 4 * (window.devicePixelRatio || 1);
    ctx.save();
    ctx.beginPath(); ctx.rect(b.left, b.top, b.width, b.height); ctx.clip();
    spec.series.forEach(function (s, i) {
      if (!s.low || !s.high) return;
      ctx.strokeStyle = COLORS[i % COLORS.length];
      ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
      ctx.beginPath();
      spec.x.forEach(function (xv, j) {
        var lo = s.low[j], hi = s.high[j];
        if (lo == null || hi == null) return;
        var x = u.valToPos(xv, "x", true), y0 = u.valToPos(lo, "y", true), y1 = u.valToPos(hi, "y", true);
        ctx.moveTo(x, y0); ctx.lineTo(x, y1);
        ctx.moveTo(x - cap, y0); ctx.lineTo(x + cap, y0);
        ctx.moveTo(x - cap, y1); ctx.lineTo(x + cap, y1);
      });
      ctx.stroke();
    });
    ctx.restore();
  }

  // Error bars: a series with low/high arrays gets a whisker on each bar (its 95 % interval).
  function whiskers(spec) {
    return function (u) {
      if (spec.type !== "bars" || spec.x.length < 1) return;
      var groups = spec.series.length, ctx = u.ctx, ratio = window.devicePixelRatio || 1;
      var step = spec.x.length > 1 ? u.valToPos(spec.x[1], "x", true) - u.valToPos(spec.x[0], "x", true)
                                   : u.bbox.width;
      var bar = Math.min((groups > 1 ? 0.8 / groups : 0.85) * step, 80 * ratio);
      spec.series.forEach(function (s, i) {
        if (!s.low || !s.high) return;
        var shift = groups > 1 ? (i === 0 ? -bar / 2 : bar / 2) : 0;
        ctx.save();
        ctx.strokeStyle = "#222";
        ctx.lineWidth = 1.5 * ratio;
        spec.x.forEach(function (x, k) {
          if (s.low[k] == null || s.high[k] == null) return;
          var cx = u.valToPos(x, "x", true) + shift, cap = Math.min(bar / 4, 6 * ratio);
          var lo = u.valToPos(s.low[k], "y", true), hi = u.valToPos(s.high[k], "y", true);
          ctx.beginPath();
          ctx.moveTo(cx, lo); ctx.lineTo(cx, hi);
          ctx.moveTo(cx - cap, lo); ctx.lineTo(cx + cap, lo);
          ctx.moveTo(cx - cap, hi); ctx.lineTo(cx + cap, hi);
          ctx.stroke();
        });
        ctx.restore();
      });
    };
  }

  function options(spec, width) {
    var bars = spec.type === "bars";
    var groups = spec.series.length;
    var labels = spec.xlabels;
    var n = spec.x.length;
    var names = spec.names;  // per x: the run's name and start, shown under the cursor
    var series = [{ label: names ? "run" : labels ? "" : "value", value: function (u, v) {
      if (v == null) return "";
      if (names) return names[v] === undefined ? "" : (labels ? labels[v] + " " : "") + names[v];
      return labels ? (labels[v] === undefined ? "" : labels[v]) : v.toFixed(3);
    } }].concat(spec.series.map(function (s, i) {
      var color = COLORS[i % COLORS.length];
      if (bars) {
        var size = groups > 1 ? 0.8 / groups : 0.85;
        var align = groups > 1 ? (i === 0 ? -1 : 1) : 0;
        return { label: s.label, stroke: color, fill: color + "cc", width: 0,
                 paths: uPlot.paths.bars({ size: [size, 80], align: align }), points: { show: false } };
      }
      // spanGaps: a dataset's line joins its own runs across other datasets' runs (nulls)
      return { label: s.label, stroke: color, width: 2, spanGaps: true, points: { show: true, size: 6, fill: color } };
    }));
    var x = { grid: { show: false } };
    var xscale = { time: false };
    if (labels) {
      x.values = function (u, ticks) { return ticks.map(function (t) { return labels[t] === undefined ? "" : labels[t]; }); };
      // At most one label per 56 px, so labels never overlap however many runs there are.
      var fit = Math.max(1, Math.floor(width / 56));
      x.splits = function () { var step = Math.max(1, Math.ceil(n / Math.min(fit, 8))); return spec.x.filter(function (v, i) { return i % step === 0; }); };
      xscale.range = [-0.6, n - 0.4];
    } else if (bars) {
      var half = (spec.bin || 1) / 2;
      xscale.range = [spec.x[0] - half, spec.x[n - 1] + half];
    }
    return {
      width: width, height: 170,
      legend: { show: groups > 1 || !!names, live: !!names },
      cursor: { show: true, points: { show: false } },
      scales: { x: xscale, y: bars ? { range: function (u, min, max) {
                  // bars start at 0 and the scale holds every whisker
                  if (hasBars(spec)) { var r = barRange(spec, Math.min(0, min), max); return [Math.min(0, r[0]), r[1]]; }
                  return [0, max > 0 ? max * 1.1 : 1]; } }
                : hasBars(spec) ? { range: function (u, min, max) { return barRange(spec, min, max); } } : {} },
      axes: [x, { size: 52, grid: { stroke: "#eef0f3" }, values: function (u, ticks) { return ticks.map(compact); } }],
      series: series,
      hooks: { draw: [whiskers(spec), function (u) {
        if (!bars && hasBars(spec)) errorBars(u, spec);
        u.root.parentNode.setAttribute("data-painted", String(painted(u)));
      }] }
    };
  }

  charts.forEach(function (spec) {
    var box = document.querySelector('[data-chart="' + spec.id + '"]');
    if (!box || !spec.x.length) { if (box) box.textContent = "no values"; return; }
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var width = Math.max(240, box.clientWidth || 300);
    new uPlot(options(spec, width), data, box);
  });
})();

// A/B page: j or → opens the next regressed sample, k or ← the previous one (the links with
// id="next" / id="prev"); keys typed into a form field are left alone.
(function () {
  "use strict";
  var KEYS = { j: "next", ArrowRight: "next", k: "prev", ArrowLeft: "prev" };
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var target = e.target && e.target.tagName;
    if (target === "INPUT" || target === "TEXTAREA" || target === "SELECT") return;
    var link = KEYS[e.key] && document.getElementById(KEYS[e.key]);
    if (link && link.href) window.location.href = link.href;
  });
})();
