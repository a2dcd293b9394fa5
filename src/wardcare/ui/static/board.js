// Ward board refresh: fetch the rows every minute and swap them in only when they changed, so
// the board never flashes and keyboard focus stays where the nurse left it.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var rows = document.getElementById("board-rows");
  var updated = document.getElementById("board-updated");
  var url = table.getAttribute("data-refresh-url");
  var seconds = parseInt(table.getAttribute("data-refresh-seconds"), 10) || 60;

  function focusKey() {
    var active = document.activeElement;
    if (!active || !rows.contains(active)) { return null; }
    return active.getAttribute("href");
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var now = new Date();
        updated.textContent = now.toTimeString().slice(0, 5);
        updated.setAttribute("datetime", now.toISOString());
        table.removeAttribute("data-stale");
        if (html.trim() === rows.innerHTML.trim()) { return; }
        var key = focusKey();
        rows.innerHTML = html;
        if (key) {
          var again = rows.querySelector('a[href="' + key + '"]');
          if (again) { again.focus(); }
        }
      })
      .catch(function () {
        // Keep the last board on screen but say it is not current.
        table.setAttribute("data-stale", "true");
        updated.textContent = updated.textContent.replace(/ \(not updating.*$/, "") +
          " (not updating: check the connection)";
      });
  }

  window.setInterval(refresh, seconds * 1000);
  window.wardcareRefreshBoard = refresh;  // lets the browser tests refresh without waiting
}());
