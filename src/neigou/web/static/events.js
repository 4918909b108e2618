// Countdowns on the live page, and the console's live board over Server-Sent Events.
(function () {
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.dataset.countdown) - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
    });
  }
  function yuan(fen) { return "¥" + (fen / 100).toFixed(2); }
  // A board list's rows as text (never markup): each row is already shown by its name (the stream
  // sends a seller's name and a product's title); the list's empty text (data-empty-of) shows while
  // it has no row.
  function fill(list, rows) {
    var empty = list.parentNode.querySelector('[data-empty-of="' + list.dataset.board + '"]');
    if (empty) empty.hidden = rows.length > 0;
    list.replaceChildren.apply(list, rows.map(function (row) {
      var li = document.createElement("li");
      li.textContent = row[0] + row[1];
      return li;
    }));
  }
  // A refused stream (503 at the server's stream cap) or a failed one is closed for good by the
  // browser: open it again after a wait that doubles up to a minute, spread so watchers do not return
  // together. A stream the server ends (a restart) is reopened by the browser itself.
  function watch(board, wait) {
    var source = new EventSource(board.dataset.boardStream);
    source.addEventListener("open", function () { wait = 1000; });
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(function () { watch(board, Math.min(2 * wait, 60000)); }, wait + Math.random() * wait);
    });
    source.addEventListener("board", function (e) {
      var b = JSON.parse(e.data);
      board.querySelector("[data-board=gmv]").textContent = yuan(b.gmv_fen);
      board.querySelector("[data-board=orders]").textContent = b.orders;
      board.querySelector("[data-board=reservations]").textContent = b.reservations;
      fill(board.querySelector("[data-board=members]"), b.top_members.map(function (m) {
        return [m.name || "#" + m.member_id, " · " + yuan(m.gmv_fen)]; }));
      var skus = board.querySelector("[data-board=skus]");
      fill(skus, b.top_skus.map(function (s) {
        return [s.title, " · " + s.quantity + " " + skus.dataset.unit + " · " + yuan(s.gmv_fen)]; }));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    var board = document.querySelector("[data-board-stream]");
    if (!board || !window.EventSource) return;
    watch(board, 1000);
  });
})();
