// Sortable tables: buttons in <th>, aria-sort on the sorted column, sort values in data-sort.
// Filterable tables: a search field (#filter, aria-controls = the table's id) hides the rows
// whose text does not contain what is typed; #filter-antal tells how many rows are shown.
// A large table arrives as data (<script type="application/json">, named by the tbody's
// data-rader) and is filled after the map's first frame; its cells are set as text. The
// table then carries data-fylld and an event "opjord-tabell" is sent on document.
(function () {
  "use strict";
  function fill(body) {
    var node = document.getElementById(body.getAttribute("data-rader"));
    var data = JSON.parse(node.textContent), rows = document.createDocumentFragment();
    data.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-omrade", r[0]);
      r[2].forEach(function (text, i) {
        var td = tr.insertCell();
        if (data.numeric[i]) { td.className = "tal"; }
        td.setAttribute("data-sort", r[3][i]);
        td.textContent = text;
      });
      var a = document.createElement("a"), hidden = document.createElement("span");
      a.href = r[1];
      a.setAttribute("data-omrade", r[0]);
      a.textContent = "Visa på kartan";
      hidden.className = "dold";
      hidden.textContent = ": " + r[2][2] + ", " + r[2][0];
      a.appendChild(hidden);
      tr.insertCell().appendChild(a);
      rows.appendChild(tr);
    });
    body.appendChild(rows);
    body.removeAttribute("data-rader");
    body.parentNode.setAttribute("data-fylld", "1");
    document.dispatchEvent(new CustomEvent("opjord-tabell"));
  }
  document.querySelectorAll("tbody[data-rader]").forEach(function (body) {
    requestAnimationFrame(function () { setTimeout(function () { fill(body); }, 0); });
  });
  function sortTable(table, index, numeric) {
    var body = table.tBodies[0];
    var th = table.tHead.rows[0].cells[index];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-sort");
      var y = b.cells[index].getAttribute("data-sort");
      var r;
      if (numeric) {
        var fx = x === "" ? -Infinity : parseFloat(x);
        var fy = y === "" ? -Infinity : parseFloat(y);
        r = fx - fy;
      } else {
        r = x.localeCompare(y, "sv");
      }
      return ascending ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sorterbar").forEach(function (table) {
    table.tHead.querySelectorAll("th button").forEach(function (button) {
      var index = parseInt(button.getAttribute("data-kolumn"), 10);
      var numeric = button.parentNode.classList.contains("tal");
      button.addEventListener("click", function () { sortTable(table, index, numeric); });
    });
  });
  var field = document.getElementById("filter");
  var table = field && document.getElementById(field.getAttribute("aria-controls"));
  if (table) {
    var count = document.getElementById("filter-antal");
    var box = document.getElementById("tabellfilter");
    if (box) { box.hidden = false; }
    field.addEventListener("input", function () {
      var q = field.value.trim().toLocaleLowerCase("sv");
      var shown = 0;
      var rows = table.tBodies[0].rows;
      Array.prototype.forEach.call(rows, function (row) {
        var hit = !q || row.textContent.toLocaleLowerCase("sv").indexOf(q) >= 0;
        row.hidden = !hit;
        if (hit) { shown += 1; }
      });
      if (count) { count.textContent = q ? "Visar " + shown + " av " + rows.length + " områden." : ""; }
    });
  }
})();
