// Admin → Connectors: live examples of the link patterns, and the progress of a
// running sync (polls the connector's status and reloads the page when it ends).
(() => {
  const patterns = document.querySelector(".url-patterns");
  if (patterns) {
    const values = JSON.parse(patterns.dataset.examples || "{}");
    const label = patterns.dataset.exampleLabel || "";
    patterns.querySelectorAll("input.url-pattern").forEach((input) => {
      const out = patterns.querySelector(`[data-example-for="${input.dataset.field}"]`);
      const show = () => {
        const text = input.value.trim();
        out.textContent = text
          ? `${label} ${text.replace(/\{(\w+)\}/g, (m, name) => values[name] ?? m)}`
          : "";
      };
      input.addEventListener("input", show);
    });
  }

  const box = document.getElementById("job");
  if (!box || !box.dataset.active) return;
  const part = (name) => box.querySelector(`[data-job="${name}"]`);
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const { job } = await response.json();
        if (job && !job.active) {
          window.location.reload();
          return;
        }
        if (job) {
          part("state").textContent = job.state_label;
          const bar = part("bar");
          if (bar && job.total) {
            bar.max = job.total;
            bar.value = job.done;
          }
          part("rows").textContent = job.rows;
        }
      }
    } catch (error) {
      // a failed poll is retried below
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
})();
