// Keyboard-first review queues: j/k move between items, a keep, d drop, e edit, s save, x select;
// a radio button with a data-key (1 / 2 / 3 grades) is chosen by its key.
"use strict";

(function () {
  const items = () => Array.from(document.querySelectorAll("[data-item]"));
  // Keys pressed in these are typed, not shortcuts. An <input> without a type attribute (the
  // reason to reject) is a text field too, which `input[type=text]` would not match.
  const TEXT_FIELDS =
    "textarea, select, input:not([type=checkbox]):not([type=radio]):not([type=submit])" +
    ":not([type=button]):not([type=reset])";

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

  // A one-item screen (label review) starts with its item focused, ready for the keyboard.
  const autofocus = () => document.querySelector("[data-autofocus]")?.focus();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autofocus);
  } else {
    autofocus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.matches(TEXT_FIELDS) || event.target.isContentEditable;
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
    // A radio button with the key is chosen (a label's grade); a button with it is pressed.
    const radio = item.querySelector(`input[type=radio][data-key="${event.key}"]`);
    if (radio) {
      radio.checked = true;
      event.preventDefault();
      return;
    }
    const button = item.querySelector(`button[data-key="${event.key}"]`);
    if (button) {
      const index = items().indexOf(item);
      // A click, not form.requestSubmit(button): htmx sends the name of the button that was
      // clicked (keep, drop, accept...), never the submit event's submitter.
      button.click();
      event.preventDefault();
      // Once htmx has swapped the item, carry on with the next one.
      document.addEventListener("htmx:afterSwap", () => {
        const list = items();
        (list[index + 1] || list[index])?.focus();
      }, { once: true });
    }
  });
})();
