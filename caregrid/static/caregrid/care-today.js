// Today's round on a phone: contacts are queued in localStorage first, then sent; a contact carries an id made
// here, so a resend after a lost connection never records it twice (the server answers 200 with the stored one).
(() => {
  const root = document.querySelector(".care-today");
  if (!root) return;
  // One queue per signed-in user, so a shared phone never sends one worker's contacts as another's.
  const KEY = `caregrid.care.queue.${root.dataset.user}`;
  const endpoint = root.dataset.endpoint;
  const status = root.querySelector(".ct-queue");
  let sending = false;
  let again = false;

  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  const uuid = () => {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  const load = () => {
    try {
      const items = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  };
  const save = (items) => localStorage.setItem(KEY, JSON.stringify(items));

  const showQueue = () => {
    const n = load().length;
    status.hidden = n === 0;
    status.textContent = n ? root.dataset.msgQueued.replace("%(n)s", n) : "";
    status.classList.toggle("ct-offline", n > 0);
  };

  const cardFor = (residentId) => root.querySelector(`.ct-card[data-resident="${residentId}"]`);

  const markLogged = (item, pending) => {
    const card = cardFor(item.resident);
    if (!card) return;
    card.classList.add("ct-done");
    card.classList.toggle("ct-pending", pending);
    const state = card.querySelector(".ct-last");
    state.textContent = pending ? root.dataset.msgOffline : root.dataset.msgLogged;
  };

  const showErrors = (item, body) => {
    const card = cardFor(item.resident);
    if (!card) return;
    card.classList.remove("ct-done", "ct-pending");
    const more = card.querySelector(".ct-more");
    formIn(more);
    more.open = true;
    const fields = (body && body.fields) || {};
    const lines = Object.values(fields);
    card.querySelector(".ct-errors").textContent =
      `${root.dataset.msgFailed}：${lines.length ? lines.join("；") : (body && body.message) || ""}`;
    card.querySelector(".ct-last").textContent = root.dataset.msgFailed;
  };

  const addDone = (item, contact) => {
    const list = root.querySelector(".ct-done-list");
    const none = list.querySelector(".ct-none");
    if (none) none.remove();
    const card = cardFor(item.resident);
    const name = card ? card.querySelector(".ct-name").textContent : "";
    const at = new Date(contact.at);
    const li = document.createElement("li");
    const hh = String(at.getHours()).padStart(2, "0");
    const mm = String(at.getMinutes()).padStart(2, "0");
    li.textContent = `${hh}:${mm} ${name} · ${contact.outcome_label}`;
    list.prepend(li);
  };

  const send = async () => {
    if (!navigator.onLine) {
      showQueue();
      return;
    }
    if (sending) {
      again = true; // logged while a send was under way: go round once more
      return;
    }
    sending = true;
    again = false;
    let stopped = false;
    try {
      for (const item of load()) {
        let response;
        try {
          response = await fetch(endpoint, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
            body: JSON.stringify(item),
          });
        } catch (e) {
          stopped = true; // offline or the server unreachable: keep the queue for the next try
          break;
        }
        const json = (response.headers.get("Content-Type") || "").includes("application/json");
        if (response.status >= 500 || response.redirected || !json) {
          stopped = true; // a server fault or a lapsed sign-in: keep the queue, nothing was stored
          break;
        }
        const body = await response.json().catch(() => ({}));
        save(load().filter((x) => x.client_id !== item.client_id));
        if (response.ok) {
          markLogged(item, false);
          if (response.status === 201) addDone(item, body.contact);
        } else {
          showErrors(item, body);
        }
      }
    } finally {
      sending = false;
      showQueue();
    }
    if (again && !stopped) send();
  };

  const enqueue = (item) => {
    const items = load();
    items.push({ client_id: uuid(), at: new Date().toISOString(), ...item });
    save(items);
    markLogged(item, true);
    showQueue();
    send();
  };

  root.addEventListener("click", (event) => {
    const quick = event.target.closest(".ct-quick");
    if (quick) {
      const card = quick.closest(".ct-card");
      enqueue({
        resident: Number(card.dataset.resident),
        channel: "phone",
        outcome: quick.dataset.outcome,
        wellbeing: quick.dataset.wellbeing,
        needs: [],
        temperature: null,
        note: "",
      });
      return;
    }
    const call = event.target.closest(".ct-call");
    if (call) {
      call.disabled = true;
      fetch(call.dataset.phoneUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
      })
        .then((r) => (r.ok ? r.json() : Promise.reject(r)))
        .then((body) => {
          const link = document.createElement("a");
          link.href = `tel:${body.phone}`;
          link.className = "btn ct-tel";
          link.textContent = body.phone;
          call.replaceWith(link);
          link.focus();
        })
        .catch(() => {
          call.disabled = false;
        });
    }
  });

  // The detailed form is one template, put into a card the first time its "more" opens.
  const template = document.getElementById("ct-form-template");
  const formIn = (more) => {
    let form = more.querySelector(".ct-form");
    if (!form) {
      more.querySelector("summary").after(template.content.cloneNode(true));
      form = more.querySelector(".ct-form");
    }
    return form;
  };
  root.addEventListener(
    "toggle",
    (event) => {
      const more = event.target;
      if (more.classList && more.classList.contains("ct-more") && more.open) formIn(more);
    },
    true,
  );

  root.addEventListener("submit", (event) => {
    const form = event.target.closest(".ct-form");
    if (!form) return;
    event.preventDefault();
    const card = form.closest(".ct-card");
    const data = new FormData(form);
    const temperature = data.get("temperature");
    card.querySelector(".ct-errors").textContent = "";
    enqueue({
      resident: Number(card.dataset.resident),
      channel: data.get("channel"),
      outcome: data.get("outcome"),
      wellbeing: data.get("outcome") === "reached" ? data.get("wellbeing") : "",
      needs: data.getAll("needs"),
      temperature: temperature === "" ? null : temperature,
      note: data.get("note") || "",
    });
    form.closest(".ct-more").open = false;
    form.reset();
  });

  window.addEventListener("online", send);
  window.addEventListener("offline", showQueue);
  showQueue();
  send();
})();
