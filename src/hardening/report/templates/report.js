(function () {
  "use strict";
  // Everything here is optional: the page is complete (and prints whole) without it.
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var filters = document.getElementById("filters");
  if (filters) {
    filters.hidden = false;
    var selects = filters.querySelectorAll("select[data-filter]");
    var boxes = filters.querySelectorAll("input[type=checkbox]");
    var search = filters.querySelector("input[type=search]");
    var shownCount = document.getElementById("shown-count");
    var managersOf = function (el) {
      try { return JSON.parse(el.getAttribute("data-managers") || "[]"); } catch (e) { return []; }
    };
    var apply = function () {
      var want = {};
      each(selects, function (s) { want[s.getAttribute("data-filter")] = s.value; });
      var shown = {};
      each(boxes, function (b) { shown[b.value] = b.checked; });
      var needle = (search && search.value || "").trim().toLowerCase();
      var hostMatches = function (el) {
        return (!want.zone || el.getAttribute("data-zone") === want.zone) &&
          (!want["class"] || el.getAttribute("data-class") === want["class"]) &&
          (!want.manager || managersOf(el).indexOf(want.manager) >= 0);
      };
      var visibleHosts = {};
      var count = 0;
      each(document.querySelectorAll("article.host"), function (host) {
        var nameHit = !needle || host.getAttribute("data-host").toLowerCase().indexOf(needle) >= 0;
        var findings = host.querySelectorAll(".finding");
        var visible = 0;
        each(findings, function (f) {
          var show = shown[f.getAttribute("data-status")] !== false &&
            (!want.clause || f.getAttribute("data-clause") === want.clause) &&
            (nameHit || f.textContent.toLowerCase().indexOf(needle) >= 0);
          f.hidden = !show;
          if (show) { visible += 1; }
        });
        var filtering = want.clause || needle || Object.keys(shown).some(function (k) { return !shown[k]; });
        var hide = !hostMatches(host) || (findings.length > 0 ? visible === 0 && filtering : !nameHit);
        host.hidden = hide;
        if (!hide) { visibleHosts[host.getAttribute("data-host")] = true; count += 1; }
      });
      each(document.querySelectorAll("tr.hrow"), function (row) {
        row.hidden = !visibleHosts[row.getAttribute("data-host")];
      });
      if (shownCount) { shownCount.textContent = String(count); }
    };
    each(selects, function (s) { s.addEventListener("change", apply); });
    each(boxes, function (b) { b.addEventListener("change", apply); });
    if (search) { search.addEventListener("input", apply); }
  }
  each(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    each(heads, function (th, index) {
      th.setAttribute("tabindex", "0");
      var sort = function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        each(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[index];
          var v = cell ? (cell.getAttribute("data-sort") || cell.textContent.trim()) : "";
          var n = Number(v);
          return v !== "" && !isNaN(n) ? n : v;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "ja");
          return asc ? c : -c;
        });
        var fragment = document.createDocumentFragment();
        rows.forEach(function (r) { fragment.appendChild(r); });
        body.appendChild(fragment);
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  // Print everything: open collapsed details while printing (the print sheet shows filtered-out rows too).
  var opened = [];
  window.addEventListener("beforeprint", function () {
    each(document.querySelectorAll("details:not([open])"), function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
