(function () {
  "use strict";
  // Everything here is optional: the page is complete without it.
  var filters = document.getElementById("filters");
  if (filters) {
    filters.hidden = false;
    var boxes = filters.querySelectorAll("input[type=checkbox]");
    var search = filters.querySelector("input[type=search]");
    var apply = function () {
      var shown = {};
      boxes.forEach(function (b) { shown[b.value] = b.checked; });
      var needle = (search && search.value || "").trim().toLowerCase();
      document.querySelectorAll("article.host").forEach(function (host) {
        var match = !needle || host.getAttribute("data-host").toLowerCase().indexOf(needle) >= 0;
        var visible = 0;
        host.querySelectorAll(".finding").forEach(function (f) {
          var show = shown[f.getAttribute("data-status")] !== false;
          f.hidden = !show;
          if (show) { visible += 1; }
        });
        host.hidden = !match || visible === 0 && host.querySelectorAll(".finding").length > 0;
      });
    };
    boxes.forEach(function (b) { b.addEventListener("change", apply); });
    if (search) { search.addEventListener("input", apply); }
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[index];
          var v = cell.getAttribute("data-sort") || cell.textContent.trim();
          var n = Number(v);
          return v !== "" && !isNaN(n) ? n : v;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "ja");
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  // Print everything: open collapsed details and unhide filtered findings while printing.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
