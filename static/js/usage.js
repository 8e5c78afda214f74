/* Usage page: the server draws an SVG first; after the page has painted, the Plotly partial bundle loads
   (cached by the service worker) and replaces it with an interactive chart. */
(function () {
  "use strict";
  var script = document.currentScript;

  function draw(measure) {
    var data = JSON.parse(document.getElementById("usage-data").textContent);
    var plot = document.getElementById("usage-plot");
    var t = data.text;
    var traces = [{type: "bar", name: measure === "amount" ? t.amount : t.units, x: data.labels,
                   y: data[measure], marker: {color: "#0b5d6b"}},
                  {type: "scatter", mode: "lines+markers", name: t.last_year, x: data.labels,
                   y: data["last_year_" + measure], line: {color: "#f2b705", width: 2}}];
    var layout = {margin: {l: 40, r: 8, t: 8, b: 40}, height: 260, showlegend: true,
                  legend: {orientation: "h", y: -0.25}, xaxis: {tickangle: -45}, yaxis: {rangemode: "tozero"}};
    window.Plotly.react(plot, traces, layout, {displayModeBar: false, responsive: true});
    plot.hidden = false;
    document.getElementById("usage-chart").hidden = true;
    var daily = document.getElementById("daily-plot");
    if (daily && data.daily.days.length) {
      window.Plotly.react(daily, [{type: "bar", name: t.daily, x: data.daily.days, y: data.daily.units,
                                   marker: {color: "#0b5d6b"}}],
                          {margin: {l: 40, r: 8, t: 8, b: 40}, height: 220}, {displayModeBar: false, responsive: true});
      daily.hidden = false;
    }
    document.querySelectorAll(".toggle [data-measure]").forEach(function (link) {
      link.classList.toggle("pill-active", link.dataset.measure === measure);
    });
  }

  function load() {
    var tag = document.createElement("script");
    tag.src = script.dataset.plotly;
    tag.onload = function () { draw(document.getElementById("usage-chart").dataset.measure); };
    document.head.appendChild(tag);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest(".toggle [data-measure]");
    if (link && window.Plotly) {
      event.preventDefault();
      document.getElementById("usage-chart").dataset.measure = link.dataset.measure;
      draw(link.dataset.measure);
    }
  });

  window.addEventListener("load", function () {
    if (!document.getElementById("usage-data")) return;
    (window.requestIdleCallback || function (f) { setTimeout(f, 200); })(load);
  });
})();
