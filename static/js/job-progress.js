// The progress of a queued or running job (analysis, backtest): polls the job's status
// and shows its step; reloads the page when the job has ended, to show its result.
(() => {
  const boxes = document.querySelectorAll(".job-progress[data-status-url]");
  boxes.forEach((box) => {
    const text = box.querySelector('[data-job="text"]');
    const poll = async () => {
      try {
        const response = await fetch(box.dataset.statusUrl, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (response.ok) {
          const job = await response.json();
          if (!job.active) {
            window.location.reload();
            return;
          }
          if (text) text.textContent = job.text;
        }
      } catch (error) {
        // a failed poll is retried below
      }
      window.setTimeout(poll, 1500);
    };
    window.setTimeout(poll, 1000);
  });
})();
