/* Staff report pages: the table is the page; once it has painted, this loads the Plotly bundle (the same
   partial bundle the usage page uses, kept by the service worker) and draws the chart from #report-data.
   Numbers arrive as text so money stays exact on the server; the chart only reads them. */
(function () {
  "use strict";
  var script = document.currentScript;
  var COLOURS = ["#0b5d6b", "#f2b705", "#b5432a", "#5b8c2a", "#6b4c9a", "#3a7ca5", "#8c6d1f", "#555555"];

  function numbers(values) {
    return values.map(function (v) { return v === null ? null : Number(v); });
  }

  function traces(data) {
    if (data.type === "pie") {
      return [{type: "pie", labels: data.labels, values: numbers(data.values), hole: 0.4,
               marker: {colors: COLOURS}, sort: false}];
    }
    return data.series.map(function (s, i) {
      var trace = {name: s.name, x: data.x, y: numbers(s.y), marker: {color: COLOURS[i % COLOURS.length]}};
      if (s.line) {
        trace.type = "scatter";
        trace.mode = "lines+markers";
        trace.line = {color: COLOURS[i % COLOURS.length], width: 2};
      } else {
        trace.type = "bar";
      }
      // A percentage beside amounts gets an axis of its own on the right.
      if (s.percent && data.series.some(function (o) { return !o.percent; })) trace.yaxis = "y2";
      return trace;
    });
  }

  function draw() {
    var plot = document.getElementById("report-plot");
    var data = JSON.parse(document.getElementById("report-data").textContent);
    var narrow = plot.clientWidth < 500;
    var layout = {width: plot.clientWidth, height: narrow ? 300 : 360, autosize: false,
                  margin: {l: 56, r: 48, t: 40, b: 56}, font: {size: 11}, showlegend: true,
                  legend: {orientation: "h", x: 0, y: 1.15}, barmode: data.type === "stack" ? "stack" : "group",
                  xaxis: {tickangle: -45, automargin: true}, yaxis: {rangemode: "tozero", automargin: true}};
    if (data.y_title) layout.yaxis.title = {text: data.y_title};
    if (data.series && data.series.some(function (s) { return s.percent; }) &&
        data.series.some(function (s) { return !s.percent; })) {
      layout.yaxis2 = {overlaying: "y", side: "right", rangemode: "tozero", ticksuffix: "%", showgrid: false};
    } else if (data.series && data.series.every(function (s) { return s.percent; })) {
      layout.yaxis.ticksuffix = "%";
    }
    window.Plotly.react(plot, traces(data), layout, {displayModeBar: false, responsive: false});
  }

  function load() {
    if (!document.getElementById("report-data")) return;
    var tag = document.createElement("script");
    tag.src = script.dataset.plotly;
    tag.onload = draw;
    document.head.appendChild(tag);
  }

  if (document.readyState === "complete") load();
  else window.addEventListener("load", load);
})();
