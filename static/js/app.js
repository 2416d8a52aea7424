// Keyboard shortcuts for people who work the queue all day:
// N = next customer, E = send email, R = remind; never while typing in a field.
// A form is disabled on submit so a double click sends it once (the server's
// one-time token is the real guard).
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = (event.target.tagName || "").toLowerCase();
  if (["input", "textarea", "select"].includes(tag) || event.target.isContentEditable) return;
  const el = document.querySelector(`[data-shortcut="${event.key.toLowerCase()}"]`);
  if (!el || el.disabled) return;
  event.preventDefault();
  el.click();
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.submitted) {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  form.querySelectorAll("button").forEach((b) => b.setAttribute("aria-busy", "true"));
});

// Starting an action on a case page (a click or the cursor in one of its forms) claims
// the case with a POST, so colleagues see who is working on it; viewing claims nothing.
const claimCard = document.querySelector("[data-claim-url]");
if (claimCard) {
  let claimed = false;
  const claimCase = () => {
    if (claimed) return;
    claimed = true;
    const body = new FormData();
    body.append("csrf_token", claimCard.dataset.csrf);
    fetch(claimCard.dataset.claimUrl, { method: "POST", body, credentials: "same-origin" });
  };
  claimCard.addEventListener("focusin", claimCase);
  claimCard.addEventListener("pointerdown", claimCase);
}

// "Undo" after "no interest" is offered for a few seconds only (data-expires).
document.querySelectorAll("[data-expires]").forEach((el) => {
  setTimeout(() => el.remove(), Number(el.dataset.expires) * 1000);
});

// "?" opens the list of shortcuts (and closes it again).
document.querySelectorAll('[data-shortcut="?"]').forEach((button) => {
  button.addEventListener("click", () => {
    const help = document.getElementById("shortcut-help");
    if (!help) return;
    if (help.open) help.close();
    else help.showModal();
  });
});

// Presence: while a case page is visible it posts a heartbeat every 30 s, and shows who
// else has the case open ("Anna is looking at this case."); viewing claims nothing.
// Leaving the page (another page, closing the tab) posts a last beacon that ends the
// presence and releases the user's claim – not when the page's own form is submitted.
const presence = document.getElementById("case-viewers");
if (presence) {
  let submitting = false;
  const post = (url) => {
    const body = new FormData();
    body.append("csrf_token", presence.dataset.csrf);
    return fetch(url, { method: "POST", body, credentials: "same-origin" });
  };
  const beat = () => {
    if (document.visibilityState !== "visible") return;
    post(presence.dataset.presenceUrl)
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        presence.textContent = data.viewers;
        presence.hidden = !data.viewers;
      })
      .catch(() => {});
  };
  beat();
  setInterval(beat, 30000);
  document.addEventListener("visibilitychange", beat);
  document.addEventListener("submit", () => {
    submitting = true;
  });
  window.addEventListener("pageshow", (event) => {
    submitting = false;
    if (event.persisted) beat();
  });
  window.addEventListener("pagehide", () => {
    if (submitting) return;
    const body = new FormData();
    body.append("csrf_token", presence.dataset.csrf);
    navigator.sendBeacon(presence.dataset.leaveUrl, body);
  });
}

// A refused action (a colleague took the case over, a field was wrong) loses nothing the
// user typed: the submitted form's texts are kept in this tab until the next page, and
// put back into the same form when that page reports an error.
const DRAFT_KEY = "refused-draft";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const fields = [...form.querySelectorAll("textarea, input[type=text]")].filter(
    (field) => field.name && field.value,
  );
  if (!fields.length) return;
  const values = Object.fromEntries(fields.map((field) => [field.name, field.value]));
  sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ action: form.getAttribute("action"), values }));
});
(() => {
  let draft = null;
  try {
    draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
  } catch {
    draft = null;
  }
  sessionStorage.removeItem(DRAFT_KEY);
  if (!draft || !document.querySelector(".flash-error")) return;
  const form = [...document.forms].find((f) => f.getAttribute("action") === draft.action);
  if (!form) return;
  for (const [name, value] of Object.entries(draft.values)) {
    const field = form.elements.namedItem(name);
    if (field && "value" in field && !field.value) field.value = value;
  }
})();
