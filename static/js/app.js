// Behaviour shared by every screen. No inline scripts anywhere: the CSP forbids them.
"use strict";

// Forms with data-confirm ask before submitting. With data-confirm-name, only the submit button
// of that name asks (e.g. "remove" beside "change role").
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : undefined;
  if (!question) return;
  const onlyFor = form.dataset.confirmName;
  if (onlyFor && (!event.submitter || event.submitter.name !== onlyFor)) return;
  if (!window.confirm(question)) event.preventDefault();
});
