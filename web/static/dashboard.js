// Charts of the dashboard, drawn from the figures the page already shows (data-*).
(function () {
  if (typeof Chart === "undefined") return;
  const palette = ["#1d4e89", "#2f7dc1", "#6aa5d8", "#b26a00", "#c62828", "#2e7d32", "#7b5ea7"];
  function draw(id, type, asYuan) {
    const el = document.getElementById(id);
    if (!el) return;
    const labels = JSON.parse(el.dataset.labels);
    const values = JSON.parse(el.dataset.values).map(v => asYuan ? v / 100 : v);
    new Chart(el, {
      type: type,
      data: { labels: labels, datasets: [{ data: values, backgroundColor: palette }] },
      options: { maintainAspectRatio: false, animation: false,
                 plugins: { legend: { display: type !== "bar", position: "right" } } }
    });
  }
  draw("ageing", "bar", false);
  draw("capital", "doughnut", true);
})();
