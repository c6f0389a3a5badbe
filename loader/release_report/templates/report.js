// The release report's behaviour: draw the charts (Vega-Lite specs in the page), the
// trust selector (drill-down), sortable and copyable tables. No network, no storage.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("vega-config").textContent);
  const views = {};
  const drawing = [];
  document.querySelectorAll("script[data-chart]").forEach(function (source) {
    const element = document.getElementById(source.dataset.chart);
    const spec = JSON.parse(source.textContent);
    drawing.push(
      vegaEmbed(element, spec, { actions: false, renderer: "svg", config: config, tooltip: true })
        .then(function (result) {
          views[source.dataset.chart] = result.view;
          element.dataset.rendered = "true";
        })
        .catch(function (error) {
          element.textContent = "This chart could not be drawn: " + error.message + ". Its numbers are in the table below.";
          console.error("chart " + source.dataset.chart + ": " + error.message);
        })
    );
  });
  Promise.all(drawing).then(function () { document.body.dataset.chartsReady = "true"; });

  // One trust's services and trend: every chart with a "trust" parameter follows the
  // selector, and so do the tables built from those charts' rows.
  const numbers = new Intl.NumberFormat("en-GB");
  const months = new Intl.DateTimeFormat("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
  function cellText(value, kind) {
    if (value === null || value === undefined) { return ""; }
    if (kind === "count") { return numbers.format(value); }
    if (kind === "pct") { return value.toFixed(1) + "%"; }
    if (kind === "month") { return months.format(new Date(value)); }
    return String(value);
  }
  function fillTables(code) {
    document.querySelectorAll("table[data-rows-from]").forEach(function (table) {
      const source = document.querySelector('script[data-chart="' + table.dataset.rowsFrom + '"]');
      const rows = JSON.parse(source.textContent).data.values.filter(function (row) { return row.trust_code === code; });
      const columns = Array.from(table.tHead.rows[0].cells).map(function (th) { return [th.dataset.key, th.dataset.kind]; });
      const body = table.tBodies[0];
      body.replaceChildren();
      rows.forEach(function (row) {
        const tr = body.insertRow();
        columns.forEach(function (column) {
          const td = tr.insertCell();
          const value = row[column[0]];
          td.textContent = cellText(value, column[1]);
          td.dataset.value = value === null || value === undefined ? "" : String(value);
          if (column[1] !== "text" && column[1] !== "month") { td.className = "num"; }
        });
      });
    });
  }
  const select = document.getElementById("trust-select");
  if (select) {
    fillTables(select.value);
    select.addEventListener("change", function () {
      const code = select.value;
      Object.keys(views).forEach(function (name) {
        const view = views[name];
        try { view.signal("trust"); } catch (notThere) { return; }
        view.signal("trust", code).runAsync();
      });
      document.querySelectorAll("[data-drill-trust]").forEach(function (element) {
        element.hidden = element.dataset.drillTrust !== code;
      });
      fillTables(code);
    });
  }

  // Sortable tables: a header button sorts by its column, again to reverse.
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    table.querySelectorAll("th button[data-sort-column]").forEach(function (button) {
      button.addEventListener("click", function () {
        const column = Number(button.dataset.sortColumn);
        const numeric = button.hasAttribute("data-numeric");
        const header = button.parentElement;
        const descending = header.getAttribute("aria-sort") !== "descending";
        table.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", descending ? "descending" : "ascending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = a.cells[column].dataset.value;
          const y = b.cells[column].dataset.value;
          let order;
          if (numeric) {
            order = (x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y));
          } else {
            order = x.localeCompare(y);
          }
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  // Copy a table as tab-separated values (pastes into Excel as cells), unformatted numbers.
  document.querySelectorAll("button[data-copy-table]").forEach(function (button) {
    button.addEventListener("click", function () {
      const table = button.parentElement.querySelector("table");
      const lines = [Array.from(table.tHead.rows[0].cells).map(function (cell) { return cell.textContent.trim(); }).join("\t")];
      Array.from(table.tBodies[0].rows).forEach(function (row) {
        lines.push(Array.from(row.cells).map(function (cell) {
          return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        }).join("\t"));
      });
      const text = lines.join("\n");
      const done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy table"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectTable(table); });
      } else {
        selectTable(table);
      }
    });
  });

  function selectTable(table) {
    const range = document.createRange();
    range.selectNode(table);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
