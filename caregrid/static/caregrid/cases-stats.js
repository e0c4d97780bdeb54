// Help-request statistics: bars per category and per place, the channel pie, requests over time (ECharts),
// and the period fields of the filter form. No inline scripts (Content-Security-Policy): each chart carries
// its data as JSON in data-chart-json, which survives htmx swaps (htmx drops <script> tags when scripts are off).
(function () {
  "use strict";

  const COLORS = ["#c8102e", "#0a58ca", "#e36c0a", "#2e7d32", "#6f42c1", "#b58900", "#0f7b8a", "#656d76"];

  function data(el) {
    try {
      return JSON.parse(el.dataset.chartJson || "null");
    } catch (e) {
      return null;
    }
  }

  function pie(d) {
    return {
      color: COLORS,
      tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
      legend: { type: "scroll", bottom: 0 },
      series: [
        {
          type: "pie",
          name: d.name,
          radius: ["35%", "65%"],
          center: ["50%", "45%"],
          data: d.items,
          label: { formatter: "{b} {c}" },
        },
      ],
    };
  }

  function line(d) {
    return {
      color: COLORS,
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.labels, boundaryGap: false, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "line", name: d.name, data: d.values, areaStyle: { opacity: 0.15 }, symbolSize: 5 }],
    };
  }

  function stack(d, el) {
    // Horizontal (stacked) bars, first row on top: long Chinese names stay readable on a phone.
    const labels = d.labels.slice().reverse();
    el.style.height = Math.max(180, labels.length * 30 + 70) + "px";
    return {
      grid: { left: 8, right: 40, top: 8, bottom: d.series.length > 1 ? 32 : 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: d.series.length > 1 ? { bottom: 0 } : undefined,
      color: d.series.length === 1 ? ["#c8102e"] : COLORS,
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: labels, axisLabel: { interval: 0 }, axisTick: { show: false } },
      series: d.series.map((s) => ({
        type: "bar",
        name: s.name,
        stack: "total",
        barMaxWidth: 22,
        data: s.values.slice().reverse(),
        label: d.series.length === 1 ? { show: true, position: "right" } : undefined,
      })),
    };
  }

  const BUILDERS = { pie: pie, line: line, stack: stack };

  function render(el) {
    if (!window.echarts || el.dataset.chartReady) return;
    const build = BUILDERS[el.dataset.statsChart];
    const d = data(el);
    if (!build || !d) return;
    const option = build(d, el);
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false }, option));
    if (window.ResizeObserver) new ResizeObserver(() => chart.resize()).observe(el);
    el.dataset.chartReady = "1";
  }

  // Only the fields of the chosen period are shown (all of them without scripts).
  function periodFields(form) {
    const select = form.querySelector("[name=period]");
    if (!select) return;
    form.querySelectorAll("[data-period-field]").forEach((label) => {
      const shown = label.dataset.periodField.split(" ").includes(select.value);
      label.hidden = !shown;
      label.querySelectorAll("input").forEach((input) => (input.disabled = !shown));
    });
  }

  function init(root) {
    (root || document).querySelectorAll("[data-stats-chart]").forEach(render);
  }

  function start() {
    init();
    const form = document.getElementById("stats-filters");
    if (form) {
      periodFields(form);
      form.querySelector("[name=period]").addEventListener("change", () => periodFields(form));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!window.echarts) return;
    event.detail.target.querySelectorAll("[data-chart-ready]").forEach((el) => {
      const chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  });
  document.addEventListener("htmx:afterSwap", (event) => init(event.target));
})();
