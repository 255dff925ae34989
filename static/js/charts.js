// History charts: after the page has shown, fetch the panel's data (the JSON API) and draw it with uPlot.
// The range menu keeps the chosen range in the address bar; colours come from the stylesheet, so the charts
// follow the light or dark theme. No inline script or style attributes (CSP).
(function () {
  "use strict";
  var HEIGHT = 180;
  var REFRESH_MS = 60000;
  var BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

  // 1536 -> "1.50 KiB" for read-outs; axes want fewer digits ("1.5 KiB").
  function bytes(value, digits) {
    var n = Math.abs(value), i = 0;
    while (n >= 1024 && i < BINARY.length - 1) { n /= 1024; i += 1; }
    var text = digits ? String(Number(n.toPrecision(digits))) : (n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2));
    return (value < 0 ? "-" : "") + text + " " + BINARY[i];
  }

  function formatValue(unit, value, digits) {
    if (value === null || value === undefined) { return "–"; }
    if (unit === "bytes") { return bytes(value, digits); }
    if (unit === "bytes/s") { return bytes(value, digits) + "/s"; }
    if (digits) { return String(Number(value.toPrecision(digits))) + (unit === "percent" ? " %" : ""); }
    if (unit === "percent") { return value.toFixed(value < 10 ? 2 : 1) + " %"; }
    return value.toFixed(2);
  }

  function formatTime(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    return new Date(seconds * 1000).toLocaleString([], {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
    });
  }

  // Ticks at powers of two, so that byte axes read "512 MiB", "1 GiB", "1.5 GiB".
  function binarySteps() {
    var steps = [];
    for (var p = 0; p < 60; p++) { steps.push(Math.pow(2, p)); }
    return steps;
  }

  function palette() {
    var css = getComputedStyle(document.documentElement);
    function v(name) { return css.getPropertyValue(name).trim(); }
    return {
      text: v("--muted"), grid: v("--line"), fill: v("--chart-fill"),
      lines: [v("--chart-1"), v("--chart-2"), v("--chart-3"), v("--chart-4")]
    };
  }

  function options(chart, width, colours) {
    var binary = chart.unit === "bytes" || chart.unit === "bytes/s";
    var yAxis = {
      stroke: colours.text, grid: {stroke: colours.grid, width: 1}, ticks: {stroke: colours.grid, width: 1},
      size: 78, values: function (u, splits) {
        return splits.map(function (v) { return formatValue(chart.unit, v, 3); });
      }
    };
    if (binary) { yAxis.incrs = binarySteps(); }
    var last = lastIndex(chart);
    return {
      width: width, height: HEIGHT,
      // Away from the chart, the read-out shows the newest values rather than dashes.
      hooks: {setLegend: [function (u) { if (u.legend.idx == null && last >= 0) { u.setLegend({idx: last}, false); } }]},
      scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; }}},
      axes: [{stroke: colours.text, grid: {stroke: colours.grid, width: 1}, ticks: {stroke: colours.grid, width: 1}}, yAxis],
      series: [{label: "Time", value: function (u, v) { return formatTime(v); }}].concat(
        chart.series.map(function (s, i) {
          return {
            label: s.label, stroke: colours.lines[i % colours.lines.length], width: 1.5,
            fill: i === 0 ? colours.fill : undefined,
            value: function (u, v) { return formatValue(chart.unit, v); }
          };
        })
      )
    };
  }

  function lastIndex(chart) {
    for (var i = chart.series[0].values.length - 1; i >= 0; i--) {
      if (chart.series.some(function (s) { return s.values[i] !== null; })) { return i; }
    }
    return -1;
  }

  function countPoints(chart) {
    return chart.series.reduce(function (most, s) {
      return Math.max(most, s.values.filter(function (v) { return v !== null; }).length);
    }, 0);
  }

  function draw(figure, chart, times, colours) {
    var plot = figure.querySelector(".chart-plot");
    var empty = figure.querySelector(".chart-empty");
    if (figure.uplot) { figure.uplot.destroy(); figure.uplot = null; }
    var points = countPoints(chart);
    figure.setAttribute("data-points", String(points));
    plot.hidden = points === 0;
    empty.hidden = points !== 0;
    if (points === 0) { return; }
    var data = [times].concat(chart.series.map(function (s) { return s.values; }));
    figure.uplot = new uPlot(options(chart, plot.clientWidth || 320, colours), data, plot);
  }

  function render(panel, body) {
    var colours = palette();
    panel.lastBody = body;
    body.charts.forEach(function (chart) {
      var figure = panel.querySelector('[data-chart="' + chart.id + '"]');
      if (figure) { draw(figure, chart, body.time, colours); }
    });
    panel.setAttribute("data-state", "ready");
    panel.setAttribute("data-drawn", body.timeframe + "/" + body.cf);
  }

  function fail(panel, message) {
    panel.setAttribute("data-state", "error");
    panel.querySelector(".history-status").textContent = "The history could not be read: " + message;
  }

  function load(panel, quietly) {
    var url = panel.getAttribute("data-rrd-url") + "?timeframe=" + encodeURIComponent(panel.dataset.timeframe) +
      "&cf=" + encodeURIComponent(panel.dataset.cf);
    var ticket = (panel.ticket || 0) + 1;
    panel.ticket = ticket;
    if (!quietly) {
      panel.setAttribute("data-state", "loading");
      panel.querySelector(".history-status").textContent = "Loading the history from Proxmox…";
    }
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (ticket !== panel.ticket) { return; }  // a newer range was chosen meanwhile
        if (!answer.ok) { fail(panel, answer.body.detail || "unknown error"); return; }
        render(panel, answer.body);
      })
      .catch(function (error) { if (ticket === panel.ticket) { fail(panel, error.message); } });
  }

  // This page's address with the panel's range, and one part of it changed.
  function addressWith(panel, name, value) {
    var url = new URL(window.location.href);
    url.searchParams.set("timeframe", panel.dataset.timeframe);
    url.searchParams.set("cf", panel.dataset.cf);
    if (name) { url.searchParams.set(name, value); }
    return url.pathname + url.search;
  }

  function choose(panel, link) {
    panel.dataset[link.getAttribute("data-range")] = link.getAttribute("data-value");
    history.replaceState(history.state, "", addressWith(panel));
    panel.querySelectorAll("a[data-range]").forEach(function (a) {
      var name = a.getAttribute("data-range"), value = a.getAttribute("data-value");
      a.href = addressWith(panel, name, value);
      if (panel.dataset[name] === value) { a.setAttribute("aria-current", "true"); } else { a.removeAttribute("aria-current"); }
    });
    load(panel, false);
  }

  function start(panel) {
    if (panel.started) { return; }
    panel.started = true;
    panel.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-range]");
      if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
        event.preventDefault();
        choose(panel, link);
      }
    });
    load(panel, false);
    setInterval(function () {
      if (document.visibilityState === "visible" && panel.isConnected) { load(panel, true); }
    }, REFRESH_MS);
  }

  function redrawAll() {
    document.querySelectorAll("[data-rrd-url]").forEach(function (panel) {
      if (panel.lastBody) { render(panel, panel.lastBody); }
    });
  }

  function startAll() {
    if (typeof uPlot === "undefined") { return; }
    document.querySelectorAll("[data-rrd-url]").forEach(start);
  }

  document.addEventListener("DOMContentLoaded", startAll);
  document.addEventListener("htmx:load", startAll);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redrawAll);
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(redrawAll, 200);
  });
})();
