/* The dashboard's charts (vendored ECharts, no CDN); data from the #dash-data JSON. */
(function () {
  "use strict";
  // tooltips drawn on the canvas, not as HTML: ECharts' HTML tooltips carry style=""
  // attributes, which the Content-Security-Policy (style-src 'self') refuses
  var TIP = "richText";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var el = document.getElementById("dash-data");
    if (!el || !window.echarts) { return; }
    var d = JSON.parse(el.textContent), L = d.labels, charts = [];
    var money = function (v) { return v == null ? "—" : Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}); };
    var pct = function (v) { return v == null ? "—" : v.toFixed(1) + "%"; };
    function make(id, option, urls) {
      var node = document.getElementById(id);
      if (!node) { return; }
      var c = echarts.init(node);
      c.setOption(option);
      if (urls) {
        c.on("click", function (p) { if (urls[p.dataIndex]) { window.location.href = urls[p.dataIndex]; } });
        c.getZr().on("mousemove", function (e) { c.getZr().setCursorStyle(e.target ? "pointer" : "default"); });
      }
      charts.push(c);
    }
    var many = function (n) { return n > 8; };
    var catAxis = function (keys) {
      return {type: "category", data: keys, axisTick: {alignWithLabel: true},
              axisLabel: {interval: 0, rotate: many(keys.length) ? 35 : 0}};
    };

    make("chart-trend", {
      color: ["#1d4ed8", "#0891b2", "#16a34a", "#9333ea", "#dc2626"],
      tooltip: {renderMode: TIP, trigger: "axis", valueFormatter: pct},
      legend: {top: 0},
      grid: {left: 56, right: 24, top: 40, bottom: 30},
      xAxis: {type: "category", data: d.trend.months, boundaryGap: false},
      yAxis: {type: "value", axisLabel: {formatter: "{value}%"}},
      series: d.trend.series.map(function (s) {
        return {name: s.name, type: "line", data: s.data, connectNulls: false, symbolSize: 6,
                lineStyle: {width: s.key === "arrears" ? 2 : 2.5, type: s.key === "arrears" ? "dashed" : "solid"}};
      })
    });

    var r = d.rank;
    make("chart-rank", {
      color: ["#1d4ed8"],
      tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: pct},
      grid: {left: 8, right: 56, top: 10, bottom: 10, containLabel: true},
      xAxis: {type: "value", axisLabel: {formatter: "{value}%"}},
      yAxis: {type: "category", data: r.keys.slice().reverse(), axisLabel: {interval: 0}},
      series: [{name: r.label, type: "bar", data: r.values.slice().reverse(), barMaxWidth: 22,
                label: {show: true, position: "right", formatter: function (p) { return pct(p.value); }}}]
    }, r.urls.slice().reverse());

    var a = d.ageing;
    make("chart-ageing", {
      color: ["#93c5fd", "#3b82f6", "#fbbf24", "#f97316", "#dc2626", "#7f1d1d"],
      tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: money},
      legend: {top: 0},
      grid: {left: 8, right: 16, top: 40, bottom: 10, containLabel: true},
      xAxis: catAxis(a.keys),
      yAxis: {type: "value"},
      series: a.series.map(function (s) { return {name: s.name, type: "bar", stack: "age", data: s.data, barMaxWidth: 40, emphasis: {focus: "series"}}; })
    }, a.urls);

    var q = d.disputes;
    make("chart-disputes", {
      color: ["#f59e0b", "#dc2626"],
      tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}},
      legend: {top: 0},
      grid: {left: 8, right: 16, top: 40, bottom: 10, containLabel: true},
      xAxis: catAxis(q.keys),
      yAxis: {type: "value", minInterval: 1},
      series: [{name: L.open, type: "bar", data: q.open, barMaxWidth: 28},
               {name: L.overdue, type: "bar", data: q.overdue, barMaxWidth: 28}]
    }, q.urls);

    if (d.prices) {
      make("chart-prices", {
        color: ["#2563eb", "#f97316"],
        tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}},
        legend: {top: 0},
        grid: {left: 8, right: 16, top: 40, bottom: 10, containLabel: true},
        xAxis: {type: "category", data: d.prices.bands},
        yAxis: {type: "value", minInterval: 1},
        series: d.prices.series.map(function (s) { return {name: s.name, type: "bar", data: s.data, barMaxWidth: 40, label: {show: true, position: "top"}}; })
      });
    }
    if (d.flags && d.flags.values.length) {
      var f = d.flags;
      make("chart-flags", {
        color: ["#b54708"],
        tooltip: {renderMode: TIP, trigger: "axis", axisPointer: {type: "shadow"}},
        grid: {left: 8, right: 40, top: 10, bottom: 10, containLabel: true},
        xAxis: {type: "value", minInterval: 1},
        yAxis: {type: "category", data: f.keys.slice().reverse(), axisLabel: {interval: 0}},
        series: [{name: L.flags, type: "bar", data: f.values.slice().reverse(), barMaxWidth: 22,
                  label: {show: true, position: "right"}}]
      }, f.codes.slice().reverse().map(function (c) { return f.url + "?rule=" + encodeURIComponent(c); }));
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
