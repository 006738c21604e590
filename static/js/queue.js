// Keyboard-first review queues: j/k move between items, a keep, d drop, e edit, s save, x select.
"use strict";

(function () {
  const items = () => Array.from(document.querySelectorAll("[data-item]"));

  function current() {
    const active = document.activeElement;
    return active ? active.closest("[data-item]") : null;
  }

  function move(step) {
    const list = items();
    if (!list.length) return;
    const index = list.indexOf(current());
    const next = list[Math.min(Math.max(index + step, 0), list.length - 1)] || list[0];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.matches("textarea, input[type=text], input[type=search], select");
    if (typing) {
      if (event.key === "Escape") event.target.closest("[data-item]")?.focus();
      return;
    }
    const item = current();
    if (event.key === "j") { move(1); event.preventDefault(); return; }
    if (event.key === "k") { move(-1); event.preventDefault(); return; }
    if (!item) return;
    if (event.key === "e") { item.querySelector("textarea")?.focus(); event.preventDefault(); return; }
    if (event.key === "x") {
      const box = item.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      event.preventDefault();
      return;
    }
    const button = item.querySelector(`button[data-key="${event.key}"]`);
    if (button) {
      const index = items().indexOf(item);
      button.form.requestSubmit(button);
      event.preventDefault();
      // Once htmx has swapped the item, carry on with the next one.
      document.addEventListener("htmx:afterSwap", () => {
        const list = items();
        (list[index + 1] || list[index])?.focus();
      }, { once: true });
    }
  });
})();
