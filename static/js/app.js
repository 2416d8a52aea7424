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
