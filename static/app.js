// OneDoor's one script besides htmx. After an htmx form post swaps its answer in, keyboard focus
// moves to what changed -- the first field with an error, else the swapped element -- instead of
// falling back to <body> (where keyboard and screen-reader users lose their place).
// GET swaps (typeahead results, the request panel, filters) leave focus where the user is typing.
// A control that sent its form itself (an attendance tick, hx-trigger=change) keeps the focus: htmx put it
// back on the control's successor (same id), and moving it to the form lost the user's place in the list.
// What the answer marks ``data-focus`` (the row an action changed) gets it rather than the whole section.
document.addEventListener("htmx:afterSettle", (event) => {
  const info = event.detail;
  if (!info.requestConfig || info.requestConfig.verb === "get") return;
  const id = info.target && info.target.id;
  // An outerHTML swap replaced the target element: find its successor by id.
  const swapped = (id && document.getElementById(id)) || info.target;
  if (!swapped || !swapped.isConnected) return;
  const field = swapped.querySelector(
    ".has-error input, .has-error select, .has-error textarea, [aria-invalid=true]");
  const kept = document.activeElement;
  if (!field && kept !== swapped && swapped.contains(kept) && kept.matches("input, select, textarea")) return;
  const goal = field || swapped.querySelector("[role=alert]") || swapped.querySelector("[data-focus]") || swapped;
  if (!field && !goal.hasAttribute("tabindex")) goal.setAttribute("tabindex", "-1");
  goal.focus();
});

// A page that came back with its form's errors (a plain POST, no htmx; its title starts "Error:", base.html):
// the first field marked invalid gets the focus, as after an htmx swap, instead of the top of the page.
const firstInvalid = document.querySelector("main [aria-invalid=true]");
if (firstInvalid) firstInvalid.focus();

// A section that loads itself (hx-trigger="load", aria-busy) and fails says so, instead of
// reading "loading…" forever; its link still opens the section as a page of its own.
function markLoadFailed(elt, why) {
  if (!elt || elt.getAttribute("aria-busy") !== "true") return;
  const status = elt.querySelector("[data-status]");
  if (status) status.textContent = `could not load (${why}); the link opens it on its own`;
  elt.setAttribute("aria-busy", "false");
}
document.addEventListener("htmx:responseError", (event) => {
  markLoadFailed(event.detail.elt, `the server answered ${event.detail.xhr.status}`);
});
document.addEventListener("htmx:sendError", (event) => {
  markLoadFailed(event.detail.elt, "the server could not be reached");
});

// The queue's group counts ("Due this week (3)", "Unassigned queue (2 of 40)") count the open touches
// shown (``data-beyond``: the unassigned not shown). A row completed or cancelled in place stays, saying
// what was done, until the next load: recount without it.
document.addEventListener("htmx:afterSettle", () => {
  for (const count of document.querySelectorAll(".queue-group [data-open-count], #unassigned-queue [data-open-count]")) {
    const group = count.closest("section");
    const open = group.querySelectorAll(
      "article.touch[data-status=queued], article.touch[data-status=scheduled]").length;
    const beyond = Number(count.dataset.beyond || 0);
    count.textContent = beyond > 0 ? `(${open} of ${open + beyond})` : `(${open})`;
  }
});

// After a schedule, reassign or match the queue body reloads itself ("queue-changed"), as the touch may
// belong to another group now. That reload would throw away what was typed into another row's open form
// (a half-filled Complete form): while one is open and edited the reload waits, and happens once that form
// is sent (its row swapped) or closed. A form that came back refused, with what was typed, counts as edited.
let queueReloadWaiting = false;
function editedQueueForm() {
  const body = document.getElementById("queue-body");
  if (!body) return null;
  for (const form of body.querySelectorAll("form[data-edited]")) {
    if (!form.closest("details:not([open])")) return form;
  }
  return null;
}
function markEdited(event) {
  const form = event.target.closest && event.target.closest("#queue-body form");
  if (form) form.dataset.edited = "";
}
document.addEventListener("input", markEdited, true);
document.addEventListener("change", markEdited, true);
document.addEventListener("htmx:beforeRequest", (event) => {
  const config = event.detail.requestConfig;
  if (!event.detail.elt || event.detail.elt.id !== "queue-body") return;
  if (!config || !config.triggeringEvent || config.triggeringEvent.type !== "queue-changed") return;
  queueReloadWaiting = Boolean(editedQueueForm());
  if (queueReloadWaiting) event.preventDefault();
});
function reloadQueueIfWaiting() {
  // After the swap's own triggers (a sent form may ask for the reload itself): one reload, not two.
  setTimeout(() => {
    if (!queueReloadWaiting || editedQueueForm()) return;
    queueReloadWaiting = false;
    htmx.trigger(document.body, "queue-changed");
  }, 0);
}
document.addEventListener("htmx:afterSettle", reloadQueueIfWaiting);
// "toggle" does not bubble: listen while it goes down to the <details>.
document.addEventListener("toggle", (event) => {
  if (event.target.matches && event.target.matches("#queue-body details") && !event.target.open) {
    reloadQueueIfWaiting();
  }
}, true);

// The server says why it refused an htmx request in #htmx-error (crm.errors): show it whatever the
// status, while other error answers (a proxy's 502 page) are still not swapped into the page.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.getResponseHeader("HX-Retarget") === "#htmx-error") event.detail.shouldSwap = true;
});
document.addEventListener("htmx:beforeRequest", (event) => {
  // Something the user did next (not a poll or a section loading itself): the last refusal is history.
  if (!event.detail.requestConfig || !event.detail.requestConfig.triggeringEvent) return;
  const said = document.getElementById("htmx-error");
  if (said) said.replaceChildren();
});
