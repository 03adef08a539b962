/* The ageing and bill charts (vendored ECharts). Their data comes from a json_script
   element (escaped by Django, read with JSON.parse, never evaluated) and their labels from
   data- attributes of the chart's element: no inline script, no markup from data. */
(function () {
  "use strict";
  // tooltips drawn on the canvas, not as HTML: ECharts' HTML tooltips carry style=""
  // attributes, which the Content-Security-Policy (style-src 'self') refuses
  var TIP = "richText";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var money = function (v) {
    return v == null ? "—" : Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  };

  function ageing(node, d) {
    var many = d.keys.length > 8;
    var chart = echarts.init(node);
    chart.setOption({
      color: ["#93c5fd", "#3b82f6", "#fbbf24", "#f97316", "#dc2626", "#7f1d1d"],
      tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: money},
      legend: {top: 0},
      grid: {left: 80, right: 24, top: 40, bottom: many ? 80 : 40},
      xAxis: {type: "category", data: d.keys, axisLabel: {rotate: many ? 35 : 0, interval: 0}},
      yAxis: {type: "value", name: node.dataset.unit},
      series: d.series.map(function (s) {
        return {name: s.name, type: "bar", stack: "age", barMaxWidth: 72, data: s.data, emphasis: {focus: "series"}};
      })
    });
    return chart;
  }

  function bill(node, d) {
    var L = node.dataset;
    var chart = echarts.init(node);
    chart.setOption({
      tooltip: {renderMode: TIP, trigger: "axis"},
      legend: {data: [L.kwhLabel, L.amountLabel]},
      grid: {left: 60, right: 70, top: 40, bottom: 30},
      xAxis: {type: "category", data: d.labels},
      yAxis: [{type: "value", name: "kWh/d"}, {type: "value", name: L.unit}],
      series: [
        {name: L.kwhLabel, type: "bar", data: d.kwh_per_day.map(function (v, i) {
          return {value: v, itemStyle: {color: i === d.current ? "#b42318" : "#1d4ed8"}}; })},
        {name: L.amountLabel, type: "line", yAxisIndex: 1, data: d.amount, itemStyle: {color: "#b54708"}}
      ]
    });
    return chart;
  }

  ready(function () {
    if (!window.echarts) { return; }
    var charts = [];
    [["ageing-chart", "ageing-data", ageing], ["chart", "bill-chart-data", bill]].forEach(function (c) {
      var node = document.getElementById(c[0]), d = data(c[1]);
      if (node && d) { charts.push(c[2](node, d)); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
