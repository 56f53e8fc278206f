// Shows every <time datetime> in the reader's local time; the UTC time stays in the title.
(function () {
  function local(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = t.getAttribute("datetime") + " (UTC)";
      t.textContent = d.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
      t.dataset.local = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { local(document); });
  document.addEventListener("htmx:afterSwap", function (e) { local(e.target); });
  // an action's answer also redraws other parts of the page out of band: their times too
  document.addEventListener("htmx:oobAfterSwap", function (e) { local(e.detail.target); });
})();
