// bethel review site: sorting tables, showing a number's lineage, and the
// last build's facts from build.js. Pages work without it.
(function () {
  "use strict";
  var L = window.bethelLineage;
  var SHOWN = 50;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  // runs decodes the cells' index runs (see lineage.go: writeJS).
  function runs(toks) {
    var out = [], cur = -1;
    for (var i = 0; i < toks.length; i++) {
      var t = toks[i];
      if (t > 0) { cur += t; out.push(cur); continue; }
      for (var k = 0; k < -t; k++) { cur++; out.push(cur); }
    }
    return out;
  }

  // set decodes a set: runs, or a base64 bitmap (see lineage.go).
  function set(s) {
    if (typeof s !== "string") { return runs(s); }
    var bin = atob(s), out = [];
    for (var i = 0; i < bin.length; i++) {
      var c = bin.charCodeAt(i);
      for (var k = 0; k < 8; k++) { if (c & (1 << k)) { out.push(i * 8 + k); } }
    }
    return out;
  }

  var sources = null;
  // sourceTable expands the column-wise source table once.
  function sourceTable() {
    if (sources) { return sources; }
    sources = [];
    var f = L.src.f, l = L.src.l, k = L.src.k, n = 0;
    for (var i = 0; i < f.length; i += 2) {
      var line = 0;
      for (var j = 0; j < f[i + 1]; j++, n++) {
        line += l[n];
        sources.push({ file: L.files[f[i]], line: line, key: k[n] });
      }
    }
    return sources;
  }

  function dlItem(dl, term, def) {
    dl.appendChild(el("dt", term));
    var dd = el("dd");
    if (typeof def === "string") { dd.textContent = def; } else { dd.appendChild(def); }
    dl.appendChild(dd);
    return dd;
  }

  function sourceList(ids, from, to) {
    var ul = el("ul", null, "sources"), src = sourceTable();
    for (var i = from; i < to && i < ids.length; i++) {
      var s = src[ids[i]];
      var li = el("li");
      li.appendChild(el("code", s.key));
      li.appendChild(document.createTextNode(" " + s.file + ":" + s.line));
      ul.appendChild(li);
    }
    return ul;
  }

  function showLineage(id, td) {
    var panel = document.getElementById("lineage");
    if (!panel) { return; }
    var body = panel.querySelector(".lineage-body");
    body.textContent = "";
    var prev = document.querySelector("td.count.selected");
    if (prev) { prev.classList.remove("selected"); }
    if (td) { td.classList.add("selected"); }
    var head = el("p");
    head.appendChild(el("code", id));
    var c = L && L.cells ? L.cells[id] : null;
    if (!c) {
      body.appendChild(head);
      body.appendChild(el("p", "No lineage was recorded for this cell (was the build run with lineage off?). In a terminal: bethel why " + id));
      return;
    }
    head.appendChild(document.createTextNode(" = "));
    head.appendChild(el("strong", c[0]));
    body.appendChild(head);
    var dl = el("dl");
    dlItem(dl, "Derivation", L.text[c[1]]);
    if (L.text[c[3]]) { dlItem(dl, "Fields read", L.text[c[3]]); }
    dlItem(dl, "Nodes", L.chains[c[2]].join(" → "));
    var pids = set(L.sets[c[5]]);
    var pdd = dlItem(dl, "Patches (" + pids.length + ")", pids.length ? el("ul") : "none");
    for (var i = 0; i < pids.length; i++) {
      var p = L.patches[pids[i]];
      var li = el("li");
      var a = el("a", p[0]);
      a.href = "corrections.html#patch-" + p[0];
      li.appendChild(a);
      li.appendChild(document.createTextNode(" (" + L.files[p[1]] + ":" + p[2] + "): " + p[3]));
      pdd.firstChild.appendChild(li);
    }
    var sids = set(L.sets[c[4]]);
    var sdd = el("dd");
    var count = el("p");
    count.appendChild(el("span", sids.length, "lineage-count"));
    count.appendChild(document.createTextNode(sids.length === 1 ? " source record" : " distinct source records"));
    sdd.appendChild(count);
    sdd.appendChild(sourceList(sids, 0, SHOWN));
    if (sids.length > SHOWN) {
      var more = el("button", "Show all " + sids.length, "show-all");
      more.type = "button";
      more.addEventListener("click", function () {
        sdd.replaceChild(sourceList(sids, 0, sids.length), sdd.querySelector("ul.sources"));
        more.remove();
      });
      sdd.appendChild(more);
    }
    dl.appendChild(el("dt", "Source records"));
    dl.appendChild(sdd);
    body.appendChild(dl);
    var cli = el("p", "In a terminal: ");
    cli.appendChild(el("code", "bethel why " + id));
    body.appendChild(cli);
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button.why") : null;
    if (!b) { return; }
    var td = b.closest("[data-cell]");
    if (td) { showLineage(td.getAttribute("data-cell"), td); }
  });

  // Sorting: every th of a sortable table's head becomes a button; the
  // body's rows are reordered, the foot (TOTAL) stays last.
  function cellValue(tr, i) {
    var c = tr.children[i];
    return c ? c.textContent.trim() : "";
  }
  function makeSortable(table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th, i) {
      var b = el("button", th.textContent);
      b.type = "button";
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var numeric = th.classList.contains("num");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var a = cellValue(x, i), c = cellValue(y, i), r;
          var na = parseFloat(a), nc = parseFloat(c);
          if (numeric || (!isNaN(na) && !isNaN(nc) && String(na) === a && String(nc) === c)) {
            r = (isNaN(na) ? -1 : na) - (isNaN(nc) ? -1 : nc);
          } else {
            r = a.localeCompare(c);
          }
          return dir === "ascending" ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);

  // build.js: the time of the last build, each node's status and its
  // outputs' provenance records.
  var B = window.bethelBuild;
  // A failed last build is the first thing on every page: a banner naming
  // each failed node and its error (build.js carries it scrubbed), while
  // the numbers below stay those of the last good build. A good build
  // writes ok: true and the banner is gone.
  if (B && !B.ok) {
    var main = document.getElementById("main") || document.body;
    var box = el("div", null, "build-failed");
    box.setAttribute("role", "alert");
    var head = el("p");
    head.appendChild(el("strong", "The last build failed"));
    var when = el("time", B.built);
    when.setAttribute("datetime", B.built);
    head.appendChild(document.createTextNode(" ("));
    head.appendChild(when);
    head.appendChild(document.createTextNode("). The numbers on this page are from the last good build; fix the error and build again."));
    box.appendChild(head);
    (B.nodes || []).forEach(function (n) {
      if (n.status !== "failed") { return; }
      var p = el("p");
      p.appendChild(document.createTextNode("Node "));
      p.appendChild(el("code", n.node));
      p.appendChild(document.createTextNode(" failed:"));
      box.appendChild(p);
      var lines = String(n.error || "").split("\n");
      if (lines.length > 20) { lines = lines.slice(0, 20).concat(["... (" + (lines.length - 20) + " more lines: run bethel make)"]); }
      box.appendChild(el("pre", lines.join("\n")));
    });
    main.insertBefore(box, main.firstChild);
  }
  if (B) {
    var lb = document.getElementById("last-build");
    if (lb) {
      lb.textContent = "";
      var t = el("time", B.built);
      t.setAttribute("datetime", B.built);
      lb.appendChild(t);
      lb.appendChild(document.createTextNode(B.ok ? " (succeeded)" : " (failed)"));
    }
    (B.nodes || []).forEach(function (n) {
      document.querySelectorAll("[data-node-status]").forEach(function (s) {
        if (s.getAttribute("data-node-status") === n.node) { s.textContent = n.status; s.className = "status-" + n.status; }
      });
      (n.outputs || []).forEach(function (o) {
        document.querySelectorAll("details.record").forEach(function (d) {
          if (d.getAttribute("data-output") !== o.path) { return; }
          var pre = d.querySelector("pre");
          pre.textContent = JSON.stringify(o.record || { path: o.path, hash: o.hash }, null, 2);
        });
      });
    });
  }
})();
