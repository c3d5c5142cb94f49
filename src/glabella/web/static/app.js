// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  if (navigator.clipboard) { navigator.clipboard.writeText(field.value); }
  button.textContent = "Copied";
});

// Injection map: clicking a site focuses its units field; totals and volumes update live.
// The server recomputes and validates everything on submit; this is only a convenience.
(function () {
  const form = document.getElementById("treatment-form");
  if (!form) return;
  const num = function (text) {
    const value = parseFloat(String(text || "").replace(",", "."));
    return isFinite(value) ? value : NaN;
  };
  const round = function (value, places) {
    const f = Math.pow(10, places);
    return Math.round(value * f) / f;
  };
  function update() {
    const vial = num(form.querySelector("#vial_units").value);
    const saline = num(form.querySelector("#saline_ml").value);
    const perMl = vial > 0 && saline > 0 ? vial / saline : NaN;
    form.querySelector("#per-01ml").textContent = isNaN(perMl) ? "–" : String(round(perMl / 10, 3));
    let total = 0;
    let volume = 0;
    form.querySelectorAll(".site-input").forEach(function (input) {
      const site = input.getAttribute("data-site");
      const units = num(input.value);
      const out = form.querySelector('[data-volume-for="' + site + '"]');
      const label = document.querySelector('[data-units-for="' + site + '"]');
      if (units > 0) {
        total += units;
        if (!isNaN(perMl)) volume += units / perMl;
        out.textContent = isNaN(perMl) ? "–" : round(units / perMl, 3) + " mL";
        label.textContent = String(units);
      } else {
        out.textContent = "–";
        label.textContent = "";
      }
    });
    form.querySelector("#total-units").textContent = String(round(total, 3));
    form.querySelector("#total-volume").textContent = isNaN(perMl) ? "–" : round(volume, 3) + " mL";
    const product = form.querySelector("#product");
    const chosen = product && product.selectedOptions ? product.selectedOptions[0] : null;
    // the product's label (INN and brand), never its code
    form.querySelector("#total-product").textContent = chosen ? chosen.dataset.label || chosen.textContent : "";
    const target = document.getElementById("target-units");
    const diff = form.querySelector("#target-diff");
    if (target && diff) {
      const gap = round(total - num(target.getAttribute("data-target")), 3);
      diff.textContent = gap === 0 ? "(= target)" : "(" + (gap > 0 ? "+" : "") + gap + " U against the target)";
    }
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  document.querySelectorAll(".injection-map .site").forEach(function (group) {
    const focus = function () {
      const input = form.querySelector('.site-input[data-site="' + group.getAttribute("data-site") + '"]');
      if (input) { input.focus(); input.select(); }
      document.querySelectorAll(".injection-map .site").forEach(function (g) { g.classList.remove("active"); });
      group.classList.add("active");
    };
    group.addEventListener("click", focus);
    group.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); focus(); }
    });
  });
  update();
})();

// Screening form: suggestions from the screening vocabulary for the entry being typed (the
// text after the last comma), each labelled with what the rules read it as. Without script
// the page's full lists still work for the first entry.
(function () {
  if (!window.fetch) return;
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    let timer = null;
    let latest = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const value = input.value;
        const cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
        const head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
        const q = value.slice(cut + 1).trim();
        if (!q || q.length > 50) return;
        const mine = ++latest;
        const url = "/api/v1/vocabulary/suggest?field=" +
          encodeURIComponent(input.getAttribute("data-suggest")) + "&term=" + encodeURIComponent(q);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) {
            if (mine !== latest) return;
            while (list.firstChild) list.removeChild(list.firstChild);
            items.forEach(function (item) {
              const option = document.createElement("option");
              option.value = head + item.label;
              option.label = item.text;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a convenience only */ });
      }, 150);
    });
  });
})();
// Frown photos: check each photo as soon as it is chosen and say what to fix. Nothing is
// stored by the check; the server checks both photos again when the form is sent.
document.querySelectorAll("form[data-photo-check]").forEach(function (form) {
  const url = form.getAttribute("data-photo-check");
  const retake = form.getAttribute("data-retake") || "Retake this photo:";
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      const box = document.getElementById("check-" + input.name);
      if (!box || !input.files || !input.files[0]) return;
      const show = function (kind, title, items) {
        box.className = "photo-check " + kind;
        box.textContent = "";
        const strong = document.createElement("strong");
        strong.textContent = title;
        box.appendChild(strong);
        if (items && items.length) {
          const list = document.createElement("ul");
          items.forEach(function (text) {
            const li = document.createElement("li");
            li.textContent = text;
            list.appendChild(li);
          });
          box.appendChild(list);
        }
        input.setAttribute("aria-invalid", kind === "bad" ? "true" : "false");
        input.closest(".photo-field").classList.toggle("invalid", kind === "bad");
      };
      show("busy", "Checking the photo…", []);
      const body = new FormData();
      const csrf = form.querySelector("input[name=csrf_token]");
      if (csrf) body.append("csrf_token", csrf.value);
      body.append("field", input.name);
      body.append("photo", input.files[0]);
      fetch(url, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
        .then(function (result) {
          const ok = result[0];
          const data = result[1];
          if (!ok) {
            const message = data && data.error ? data.error.message : "the photo could not be checked";
            show("bad", retake, [message]);
          } else if (data.ok) {
            show("ok", "✓ This photo can be measured.", []);
          } else {
            show("bad", retake, data.problems);
          }
        })
        .catch(function () { show("busy", "The photo will be checked when you send the form.", []); });
    });
  });
});
