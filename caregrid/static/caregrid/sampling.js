// Testing-round pages: the route sheet's print button and "tick all" on the home-sampling proposals.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-check-all]");
  if (!all) return;
  const form = all.closest("form");
  for (const box of form.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`)) {
    box.checked = all.checked;
  }
});
