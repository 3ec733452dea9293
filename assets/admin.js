// Refreshes a digest's progress bar every second while it is sending.
// Without this script the page shows the same numbers on reload.
(function () {
  "use strict";
  var bar = document.getElementById("progress");
  if (!bar || !bar.dataset.url) return;
  function set(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(value);
  }
  function poll() {
    fetch(bar.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        bar.max = Math.max(p.total, 1);
        bar.value = p.sent + p.failed;
        bar.textContent = (p.sent + p.failed) + " of " + p.total;
        ["sent", "failed", "pending", "total"].forEach(function (k) { bar.dataset[k] = String(p[k]); });
        set("count-sent", p.sent);
        set("count-failed", p.failed);
        set("count-pending", p.pending);
        set("digest-status", p.status);
        if (p.pending > 0) setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (Number(bar.dataset.pending) > 0) setTimeout(poll, 1000);
})();
