// Inline checks: after a field changes, the server runs the pipeline's rules on the entry
// and each field shows its messages. Submitting is checked again on the server.
(function () {
  const form = document.getElementById("resident-form");
  if (!form) return;
  let pending = null;
  async function check() {
    const values = {};
    for (const [k, v] of new FormData(form).entries()) if (k !== "csrf" && v) values[k] = v;
    const resp = await fetch("/check", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf},
      body: JSON.stringify(values),
    });
    if (!resp.ok) return;
    const {issues} = await resp.json();
    for (const ul of form.querySelectorAll("ul.issues")) ul.innerHTML = "";
    for (const i of issues) {
      const ul = form.querySelector(`.field[data-field="${i.field}"] ul.issues`);
      if (!ul) continue;
      const li = document.createElement("li");
      li.className = i.severity;
      li.textContent = i.message;
      ul.appendChild(li);
    }
    form.dataset.checked = String(Date.now());
  }
  // one click files one submission (the server also refuses a repeated key)
  form.addEventListener("submit", () => {
    for (const b of form.querySelectorAll("button[type=submit]")) {
      b.disabled = true;
      b.textContent = "正在提交…";
    }
  });
  form.addEventListener("change", () => {
    clearTimeout(pending);
    pending = setTimeout(check, 150);
  });
})();
