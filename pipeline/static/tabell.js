// Sortable tables: buttons in <th>, aria-sort on the sorted column, sort values in data-sort.
(function () {
  "use strict";
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
})();
