// Category bar charts (ECharts). The Content-Security-Policy forbids inline scripts, so each chart
// element names a json_script tag (data-chart-source) holding {labels, values, links, name}.
(function () {
  "use strict";

  function render(el) {
    if (!window.echarts || el.dataset.chartReady) return;
    const source = document.getElementById(el.dataset.chartSource);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    // Horizontal bars, biggest on top: long Chinese category names stay readable on a phone.
    const labels = data.labels.slice().reverse();
    const values = data.values.slice().reverse();
    const links = data.links.slice().reverse();
    el.style.height = Math.max(180, labels.length * 30 + 40) + "px";
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1, axisLabel: { hideOverlap: true } },
      yAxis: { type: "category", data: labels, axisLabel: { interval: 0 }, axisTick: { show: false } },
      series: [
        {
          type: "bar",
          name: data.name,
          data: values,
          barMaxWidth: 22,
          itemStyle: { color: "#c8102e" },
          label: { show: true, position: "right" },
          cursor: "pointer",
        },
      ],
    });
    chart.on("click", (params) => {
      const url = links[params.dataIndex];
      if (url) window.location.assign(url);
    });
    if (window.ResizeObserver) new ResizeObserver(() => chart.resize()).observe(el);
    el.dataset.chartReady = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(render);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => renderAll());
  else renderAll();
  document.addEventListener("htmx:afterSwap", (event) => renderAll(event.target));
})();
