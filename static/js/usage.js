/* Usage page: the server draws an SVG, which is the chart a phone shows at once. Plotly (a partial bundle
   of ~390 KB, cached by the service worker) loads only when the customer asks to explore the chart, so the
   page stays fast and the phone's main thread free until then. */
(function () {
  "use strict";
  var script = document.currentScript;

  function plotConfig(t) {
    // Month names on date axes in the page's language (Plotly itself knows only English).
    if (t.locale && t.short_months) {
      window.Plotly.register({moduleType: "locale", name: t.locale, dictionary: {},
                              format: {months: t.months, shortMonths: t.short_months}});
    }
    return {displayModeBar: false, locale: t.locale || "en-US"};
  }

  function draw(measure) {
    var data = JSON.parse(document.getElementById("usage-data").textContent);
    var plot = document.getElementById("usage-plot");
    var t = data.text;
    var traces = [{type: "bar", name: measure === "amount" ? t.amount : t.units, x: data.labels,
                   y: data[measure], marker: {color: "#0b5d6b"}},
                  {type: "scatter", mode: "lines+markers", name: t.last_year, x: data.labels,
                   y: data["last_year_" + measure], line: {color: "#f2b705", width: 2}}];
    plot.hidden = false;
    document.getElementById("usage-chart").hidden = true;
    var layout = {width: plot.clientWidth, height: 280, autosize: false, margin: {l: 44, r: 8, t: 36, b: 48},
                  showlegend: true, legend: {orientation: "h", x: 0, y: 1.18}, xaxis: {tickangle: -45},
                  yaxis: {rangemode: "tozero"}, font: {size: 11}};
    window.Plotly.react(plot, traces, layout, plotConfig(t));
    var daily = document.getElementById("daily-plot");
    if (daily && data.daily.days.length) {
      daily.hidden = false;
      window.Plotly.react(daily, [{type: "bar", name: t.daily, x: data.daily.days, y: data.daily.units,
                                   marker: {color: "#0b5d6b"}}],
                          {width: daily.clientWidth, height: 220, autosize: false, margin: {l: 44, r: 8, t: 8, b: 40},
                           font: {size: 11}}, plotConfig(t));
    }
    document.querySelectorAll(".toggle [data-measure]").forEach(function (link) {
      link.classList.toggle("pill-active", link.dataset.measure === measure);
      if (link.dataset.measure === measure) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
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

  document.addEventListener("DOMContentLoaded", function () {
    var explore = document.getElementById("explore-chart");
    if (!explore || !document.getElementById("usage-data")) return;
    explore.hidden = false;
    explore.addEventListener("click", function () {
      explore.disabled = true;
      load();
      explore.hidden = true;
    });
  });
})();
