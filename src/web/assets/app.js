// anliegen pages: progressive enhancement only; every page works without this file.
"use strict";

// Keyboard shortcuts of the case page: a key focuses (fields) or activates (buttons) the
// element marked data-shortcut, unless the person is typing in a field.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const t = event.target;
  if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
  const target = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
  if (!target) return;
  event.preventDefault();
  if (target.tagName === "BUTTON") target.click();
  else target.focus();
});

// Suggestions while the citizen types: the three most likely services, debounced.
const field = document.querySelector("textarea[data-suggest]");
if (field) {
  const box = document.getElementById(field.dataset.suggestTarget);
  const list = box.querySelector("ul");
  let timer = null;
  let last = "";
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = field.value.trim();
      if (q.length < 12 || q === last) return;
      last = q;
      try {
        const r = await fetch(`${field.dataset.suggest}?q=${encodeURIComponent(q.slice(0, 1000))}`, {
          headers: { accept: "application/json" },
        });
        if (!r.ok) return;
        const body = await r.json();
        // The Open311 suggest extension: ranked services with their department (group).
        const top = body.suggestions.slice(0, 3);
        list.replaceChildren(
          ...top.map((s) => {
            const li = document.createElement("li");
            li.textContent = `${s.service_name} (${s.group})`;
            return li;
          }),
        );
        box.hidden = top.length === 0;
      } catch (_) {
        // Suggestions are a help only; the form works without them.
      }
    }, 400);
  });
}
