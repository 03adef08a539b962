/* The data-quality trend (vendored ECharts): problem records per 100 judged, per city and
   closed month. Data from a json_script element (JSON.parse, never evaluated); no inline
   script, no HTML tooltips (the CSP refuses their style attributes). */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var node = document.getElementById("quality-chart"), src = document.getElementById("quality-trend");
    if (!window.echarts || !node || !src) { return; }
    var d = JSON.parse(src.textContent);
    var chart = echarts.init(node);
    chart.setOption({
      tooltip: {renderMode: "richText", trigger: "axis"},
      legend: {top: 0, type: "scroll"},
      grid: {left: 50, right: 24, top: 40, bottom: 30},
      xAxis: {type: "category", data: d.months},
      yAxis: {type: "value", name: node.dataset.unit, min: 0},
      series: d.series.map(function (s) {
        return {name: s.name, type: "line", data: s.data, connectNulls: true, symbolSize: 6};
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
