// The hotline screen: pick suggestions, residents and addresses with one key; save with Ctrl+Enter.
(() => {
  const form = document.getElementById("intake");
  if (!form) return;
  const $ = (id) => document.getElementById(id);

  function acceptSuggestion() {
    const s = $("suggestion");
    if (!s) return;
    $("id_category").value = s.dataset.category;
    $("id_urgency").value = s.dataset.urgency;
  }

  function pickPlace(button) {
    $("id_place").value = button.dataset.place;
    document.querySelectorAll(".pick-place, .pick-resident").forEach((b) => b.classList.remove("picked"));
    button.classList.add("picked");
  }

  function pickResident(button) {
    $("id_resident").value = button.dataset.resident;
    $("id_place").value = button.dataset.place;
    if (!$("id_caller_name").value) $("id_caller_name").value = button.dataset.name;
    if (!$("id_address_text").value) $("id_address_text").value = button.dataset.address;
    offerTarget(button.dataset.target, button.dataset.targetLabel);
    document.querySelectorAll(".pick-resident").forEach((b) => b.classList.remove("picked"));
    button.classList.add("picked");
  }

  // Make a place available (and chosen) as the dispatch target.
  function offerTarget(id, label) {
    const select = $("id_dispatch_to");
    if (!select || !id) return;
    if (![...select.options].some((o) => o.value === id)) select.add(new Option(label, id), 1);
    select.value = id;
  }

  function pickTarget(button) {
    offerTarget(button.dataset.target, button.dataset.label);
    const dispatch = form.querySelector('input[name="handling"][value="dispatch"]');
    if (dispatch) dispatch.checked = true;
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.id === "accept-suggestion") acceptSuggestion();
    else if (target.classList.contains("pick-place")) pickPlace(target);
    else if (target.classList.contains("pick-resident")) pickResident(target);
    else if (target.classList.contains("pick-target")) pickTarget(target);
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && (event.key === "a" || event.key === "A" || event.code === "KeyA")) {
      event.preventDefault();
      acceptSuggestion();
    } else if (event.altKey && /^Digit[1-3]$/.test(event.code)) {
      const buttons = document.querySelectorAll(".pick-place");
      const b = buttons[Number(event.code.slice(5)) - 1];
      if (b) { event.preventDefault(); pickPlace(b); }
    } else if (event.altKey && /^Digit[6-9]$/.test(event.code)) {
      const buttons = document.querySelectorAll(".pick-resident");
      const b = buttons[Number(event.code.slice(5)) - 6];
      if (b) { event.preventDefault(); pickResident(b); }
    } else if (event.ctrlKey && event.key === "Enter") {
      event.preventDefault();
      $("id_next").value = event.shiftKey ? "new" : "";
      if (form.reportValidity()) form.requestSubmit($("save"));
    }
  });
})();
