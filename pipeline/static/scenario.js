// The scenario page: pick development areas, see the exact share of farmland at once.
//
// Every figure is a sum over the precomputed faces of scenario-data.js (which areas cover
// each face, its m² and its farmland m² per class on each agricultural layer), so no
// geometry is needed and the sums equal `opjord scenario` for the same selection. The
// core (prepare, compute, figures, formatting, URL and CSV) has no DOM and also runs
// under Node (module.exports), where the tests compare it with Python.
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) { module.exports = api; }
  else { root.OpjordScenario = api; }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var M2_PER_HA = 10000;
  var NBSP = "\u00a0";
  var MINUS = "\u2212";

  // ------------------------------------------------------------------ data and sums

  /** The page data as typed arrays: faces in CSR form (offsets into the covering areas). */
  function prepare(data) {
    var f = data.faces;
    var model = {
      data: data,
      nAreas: data.areas.id.length,
      nClasses: data.classes.length,
      area: Float64Array.from(f.area_m2),
      offsets: Int32Array.from(f.offsets),
      cover: Int32Array.from(f.areas),
      agricultural: {},
      planIndex: {},
      areaIndex: {}
    };
    Object.keys(f.agricultural_m2).forEach(function (role) {
      model.agricultural[role] = Float64Array.from(f.agricultural_m2[role]);
    });
    data.plans.forEach(function (p, i) { model.planIndex[p.key] = i; });
    for (var a = 0; a < model.nAreas; a++) {
      model.areaIndex[data.plans[data.areas.plan[a]].key + "\u0000" + data.areas.id[a]] = a;
    }
    return model;
  }

  /** Development and farmland m² (per class) of the selection, measured on layer `role`.
   *  `selected` is a Uint8Array over the area numbers. One pass over the faces. */
  function compute(model, selected, role) {
    var nc = model.nClasses;
    var agri = model.agricultural[role];
    var byClass = new Float64Array(nc);
    var development = 0;
    var area = model.area, offsets = model.offsets, cover = model.cover;
    for (var face = 0, n = area.length; face < n; face++) {
      for (var k = offsets[face], end = offsets[face + 1]; k < end; k++) {
        if (selected[cover[k]]) {
          development += area[face];
          for (var c = 0, at = face * nc; c < nc; c++) { byClass[c] += agri[at + c]; }
          break;
        }
      }
    }
    var agricultural = 0;
    for (var j = 0; j < nc; j++) { agricultural += byClass[j]; }
    return {development_m2: development, agricultural_m2: agricultural,
            agricultural_m2_by_class: Array.from(byClass)};
  }

  /** The figures shown: ha, share 0–1 (null without footprint), change against the
   *  baseline in percentage points, goal met (null when it cannot be judged) and the
   *  ratio trap (the share falls while the farmland in the footprint grows). */
  function figures(model, selected, role) {
    var sums = compute(model, selected, role);
    var base = model.data.plans[model.planIndex[model.data.baseline]];
    var share = sums.development_m2 > 0 ? sums.agricultural_m2 / sums.development_m2 : null;
    var both = share !== null && base.share !== null && base.share !== undefined;
    var count = 0;
    for (var a = 0; a < model.nAreas; a++) { if (selected[a]) { count++; } }
    var out = {
      n_areas: count,
      development_area_ha: sums.development_m2 / M2_PER_HA,
      agricultural_ha: sums.agricultural_m2 / M2_PER_HA,
      agricultural_ha_by_class: sums.agricultural_m2_by_class.map(function (v) {
        return v / M2_PER_HA; }),
      share: share,
      share_change_pp: both ? 100 * (share - base.share) : null,
      agricultural_ha_change: sums.agricultural_m2 / M2_PER_HA - base.agricultural_ha,
      goal_met: both ? share < base.share : null
    };
    out.ratio_trap = out.goal_met === true && out.agricultural_ha_change > 0;
    return out;
  }

  /** A selection of every area of one plan. */
  function planSelection(model, key) {
    var selected = new Uint8Array(model.nAreas);
    var p = model.planIndex[key];
    for (var a = 0; a < model.nAreas; a++) { if (model.data.areas.plan[a] === p) { selected[a] = 1; } }
    return selected;
  }

  // ------------------------------------------------------------------ Swedish numbers

  /** The shortest decimal of |x| as digits and the position of the decimal point. */
  function decimal(x) {
    var m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(x)));
    var digits = m[1] + (m[2] || "");
    var point = m[1].length + (m[3] ? parseInt(m[3], 10) : 0);
    return {digits: digits, point: point};
  }

  /** As pipeline.fmt.number: half away from zero on the decimal value as shown. */
  function number(value, decimals, options) {
    if (value === null || value === undefined || Number.isNaN(value)) { return "–"; }
    if (decimals === undefined) { decimals = 1; }
    var sign = options && options.sign;
    var shift = (options && options.shift) || 0;
    var d = decimal(value);
    var point = d.point + shift;
    var keep = point + decimals;  // digits kept
    var digits = d.digits;
    while (digits.length < keep) { digits += "0"; }
    var kept = keep > 0 ? digits.slice(0, keep) : "";
    var up = keep >= 0 && keep < digits.length && digits.charAt(keep) >= "5";
    // kept as an integer string (may be empty = 0), plus one when rounding up
    var arr = (kept || "0").split("").map(Number);
    if (up) {
      var i = arr.length - 1;
      while (i >= 0 && arr[i] === 9) { arr[i] = 0; i--; }
      if (i < 0) { arr.unshift(1); } else { arr[i] += 1; }
    }
    var str = arr.join("");
    while (str.length <= decimals) { str = "0" + str; }
    var whole = str.slice(0, str.length - decimals).replace(/^0+(?=\d)/, "");
    var frac = decimals > 0 ? str.slice(str.length - decimals) : "";
    var zero = /^[0]*$/.test(whole + frac);
    var groups = [];
    while (whole.length > 3) { groups.unshift(whole.slice(-3)); whole = whole.slice(0, -3); }
    groups.unshift(whole);
    var text = groups.join(NBSP) + (decimals > 0 ? "," + frac : "");
    if (zero) { return text; }
    if (value < 0) { return MINUS + text; }
    return sign ? "+" + text : text;
  }

  function hectares(value, decimals) {
    return value === null ? "–" : number(value, decimals) + NBSP + "ha";
  }

  function percent(share, decimals) {
    return share === null ? "–" : number(share, decimals, {shift: 2}) + NBSP + "%";
  }

  function percentagePoints(pp, decimals) {
    return pp === null ? "–" : number(pp, decimals, {sign: true}) + " procentenheter";
  }

  // ------------------------------------------------------------------ URL and CSV

  /** The selection as a URL fragment, ids URI-encoded: m=<layer>, then per plan either
   *  p.<plan>=<id>,<id>… (the ticked areas) or, when most are ticked, x.<plan>=<id>,…
   *  (all of the plan's areas except these; "x.<plan>=" is the whole plan). */
  function encodeSelection(model, selected, role) {
    var data = model.data;
    var parts = ["m=" + encodeURIComponent(role)];
    data.plans.forEach(function (plan, p) {
      var on = [], off = [];
      for (var a = 0; a < model.nAreas; a++) {
        if (data.areas.plan[a] === p) {
          (selected[a] ? on : off).push(encodeURIComponent(data.areas.id[a]));
        }
      }
      var key = encodeURIComponent(plan.key);
      if (on.length && off.length < on.length) { parts.push("x." + key + "=" + off.join(",")); }
      else if (on.length) { parts.push("p." + key + "=" + on.join(",")); }
    });
    return parts.join("&");
  }

  /** The selection in a fragment, or null when it holds none; unknown ids are listed. */
  function decodeSelection(model, hash) {
    hash = (hash || "").replace(/^#/, "");
    if (!hash) { return null; }
    var selected = new Uint8Array(model.nAreas);
    var role = null, unknown = [], found = false;
    hash.split("&").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq < 0) { return; }
      var key, value;
      try { key = decodeURIComponent(part.slice(0, eq)); } catch (e) { return; }
      value = part.slice(eq + 1);
      if (key === "m") {
        try { role = decodeURIComponent(value); } catch (e) { role = null; }
        found = true;
      } else if (key.slice(0, 2) === "p." || key.slice(0, 2) === "x.") {
        found = true;
        var plan = key.slice(2), except = key.charAt(0) === "x";
        if (except && plan in model.planIndex) {
          for (var b = 0; b < model.nAreas; b++) {
            if (model.data.areas.plan[b] === model.planIndex[plan]) { selected[b] = 1; }
          }
        }
        value.split(",").forEach(function (raw) {
          if (!raw) { return; }
          var id;
          try { id = decodeURIComponent(raw); } catch (e) { id = raw; }
          var a = model.areaIndex[plan + "\u0000" + id];
          if (a === undefined) { unknown.push(plan + ":" + id); }
          else { selected[a] = except ? 0 : 1; }
        });
        if (except && !(plan in model.planIndex)) { unknown.push(plan + ":*"); }
      }
    });
    if (!found) { return null; }
    if (role === null || !(role in model.agricultural)) { role = null; }
    return {selected: selected, role: role, unknown: unknown};
  }

  function csvField(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /** The selection as CSV (plan,area_id), the file `opjord scenario --areas` reads. */
  function toCsv(model, selected) {
    var data = model.data;
    var lines = ["plan,area_id"];
    for (var a = 0; a < model.nAreas; a++) {
      if (selected[a]) {
        lines.push(csvField(data.plans[data.areas.plan[a]].key) + "," + csvField(data.areas.id[a]));
      }
    }
    return lines.join("\r\n") + "\r\n";
  }

  // ------------------------------------------------------------------ the page

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? values[name] : all;
    });
  }

  /** Bind the page: presets, table, filters, map, figures, URL, CSV, announcements. */
  function init(data, mapHooks, doc, win) {
    doc = doc || document;
    win = win || window;
    var model = prepare(data);
    var texts = data.texts;
    var byId = function (id) { return doc.getElementById(id); };
    var state = {selected: new Uint8Array(model.nAreas), role: data.plans[0].layer};
    var rows = [];
    var liveTimer = null;
    var layerSelect = byId("scenario-lager");
    var planFilter = byId("filter-plan");
    var typeFilter = byId("filter-typ");
    var areas = data.areas;

    // the table rows, built from the data as text (never HTML)
    var body = byId("scenario-tabell").tBodies[0];
    for (var a = 0; a < model.nAreas; a++) {
      var tr = doc.createElement("tr");
      var td = doc.createElement("td");
      var box = doc.createElement("input");
      box.type = "checkbox";
      box.id = "omr-" + a;
      box.setAttribute("data-n", String(a));
      var label = doc.createElement("label");
      label.htmlFor = box.id;
      label.className = "synlig-for-skarmlasare";
      label.textContent = fill(texts.checkbox, {id: areas.id[a], name: areas.name[a] || "",
                                               plan: data.plans[areas.plan[a]].label});
      td.appendChild(box);
      td.appendChild(label);
      tr.appendChild(td);
      var cells = [data.plans[areas.plan[a]].label, areas.id[a], areas.name[a] || "",
                   areas.type[a] || "", hectares(areas.area_ha[a]).replace(NBSP + "ha", ""),
                   hectares(areas.agricultural_ha[a]).replace(NBSP + "ha", ""),
                   percent(areas.share[a])];
      if (areas.effect_pp) { cells.push(number(areas.effect_pp[a], 1, {sign: true})); }
      for (var c = 0; c < cells.length; c++) {
        var cell = doc.createElement(c === 2 ? "th" : "td");
        if (c === 2) { cell.scope = "row"; }
        if (c >= 4) { cell.className = "tal"; }
        cell.textContent = cells[c];
        tr.appendChild(cell);
      }
      body.appendChild(tr);
      rows.push({tr: tr, box: box});
    }

    function visible(a) {
      var plan = planFilter.value, type = typeFilter.value;
      return (plan === "" || data.plans[areas.plan[a]].key === plan) &&
             (type === "" || (areas.type[a] || "") === type);
    }

    function applyFilter() {
      var shown = 0;
      for (var a = 0; a < model.nAreas; a++) {
        var on = visible(a);
        rows[a].tr.hidden = !on;
        if (on) { shown++; }
      }
      byId("filter-antal").textContent = fill(texts.shown, {n: number(shown, 0),
                                                           total: number(model.nAreas, 0)});
      if (mapHooks) { mapHooks.showPlan(planFilter.value); }
    }

    function announce(f) {
      if (liveTimer) { win.clearTimeout(liveTimer); }
      liveTimer = win.setTimeout(function () {
        byId("scenario-meddelande").textContent = summaryText(f);
      }, 600);
    }

    function summaryText(f) {
      return fill(texts.live, {n: number(f.n_areas, 0), share: percent(f.share),
                               agricultural: hectares(f.agricultural_ha),
                               development: hectares(f.development_area_ha),
                               change: percentagePoints(f.share_change_pp),
                               base: data.plans[model.planIndex[data.baseline]].label,
                               goal: capital(goalText(f))}) + (f.ratio_trap ? " " + trapText(f) : "");
    }

    function capital(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

    function goalText(f) {
      return f.goal_met === null ? texts.goal_unknown : (f.goal_met ? texts.goal_met
                                                                    : texts.goal_not_met);
    }

    function trapText(f) {
      var base = data.plans[model.planIndex[data.baseline]];
      return fill(texts.caveat, {plan: texts.selection, base: base.label,
                                 share: percent(f.share), base_share: percent(base.share),
                                 agricultural: hectares(f.agricultural_ha),
                                 base_agricultural: hectares(base.agricultural_ha),
                                 increase: hectares(f.agricultural_ha_change),
                                 development: hectares(f.development_area_ha),
                                 base_development: hectares(base.development_area_ha)});
    }

    // The address follows the selection a moment after the last change: the browser's
    // history call costs far more than the sums with a long fragment.
    var urlTimer = null;
    function writeUrl(now) {
      if (urlTimer) { win.clearTimeout(urlTimer); urlTimer = null; }
      var write = function () {
        urlTimer = null;
        var hash = "#" + encodeSelection(model, state.selected, state.role);
        byId("scenario-lank").href = hash;
        if (win.location.hash === hash) { return; }
        try { win.history.replaceState(null, "", hash); }
        catch (e) { win.location.replace(hash); }
      };
      if (now) { write(); } else { urlTimer = win.setTimeout(write, 250); }
    }

    /** Recompute and show the figures; `quiet` skips the announcement (page load). */
    function update(quiet) {
      var f = figures(model, state.selected, state.role);
      var set = function (field, text) {
        doc.querySelectorAll("[data-falt='" + field + "']").forEach(function (el) {
          el.textContent = text;
        });
      };
      set("n", number(f.n_areas, 0));
      set("share", percent(f.share));
      set("agricultural", hectares(f.agricultural_ha));
      set("development", hectares(f.development_area_ha));
      set("change", percentagePoints(f.share_change_pp));
      var goal = byId("scenario-mal");
      goal.className = "mal " + (f.goal_met === null ? "" : (f.goal_met ? "uppfyllt" : "ej-uppfyllt"));
      goal.querySelector(".symbol").textContent = f.goal_met === null ? "?" : (f.goal_met ? "✔" : "✘");
      goal.querySelector(".text").textContent = goalText(f);
      var trap = byId("scenario-falla");
      trap.hidden = !f.ratio_trap;
      trap.querySelector(".text").textContent = f.ratio_trap ? trapText(f) : "";
      writeUrl(quiet);
      if (!quiet) { announce(f); }
      state.last = f;
      return f;
    }

    function syncBoxes() {
      for (var a = 0; a < model.nAreas; a++) { rows[a].box.checked = !!state.selected[a]; }
      if (mapHooks) { mapHooks.restyle(state.selected); }
    }

    function setArea(a, on) {
      state.selected[a] = on ? 1 : 0;
      rows[a].box.checked = on;
      if (mapHooks) { mapHooks.restyleOne(a, on); }
    }

    function preset(key) {
      state.selected = planSelection(model, key);
      state.role = data.plans[model.planIndex[key]].layer;
      if (layerSelect) { layerSelect.value = state.role; }
      planFilter.value = key;
      typeFilter.value = "";
      applyFilter();
      syncBoxes();
      return update();
    }

    // events
    body.addEventListener("change", function (e) {
      var n = e.target.getAttribute("data-n");
      if (n === null) { return; }
      setArea(parseInt(n, 10), e.target.checked);
      update();
    });
    doc.querySelectorAll("[data-forval]").forEach(function (button) {
      button.addEventListener("click", function () { preset(button.getAttribute("data-forval")); });
    });
    byId("scenario-inga").addEventListener("click", function () {
      state.selected = new Uint8Array(model.nAreas);
      syncBoxes();
      update();
    });
    function markShown(on) {
      for (var a = 0; a < model.nAreas; a++) { if (visible(a)) { setArea(a, on); } }
      update();
    }
    byId("markera-visade").addEventListener("click", function () { markShown(true); });
    byId("avmarkera-visade").addEventListener("click", function () { markShown(false); });
    planFilter.addEventListener("change", applyFilter);
    typeFilter.addEventListener("change", applyFilter);
    if (layerSelect) {
      layerSelect.addEventListener("change", function () { state.role = layerSelect.value; update(); });
    }
    byId("scenario-lank").addEventListener("click", function () { writeUrl(true); });
    byId("scenario-csv").addEventListener("click", function () {
      writeUrl(true);
      var blob = new Blob([toCsv(model, state.selected)], {type: "text/csv;charset=utf-8"});
      var link = doc.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = texts.csv_name;
      doc.body.appendChild(link);
      link.click();
      doc.body.removeChild(link);
      win.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
    if (mapHooks) {
      mapHooks.onToggle(function (a) {
        setArea(a, !state.selected[a]);
        update();
      });
    }

    // the selection in the URL, else the first later plan (or the baseline)
    function restore() {
      var found = decodeSelection(model, win.location.hash);
      var note = byId("scenario-okanda");
      if (found) {
        state.selected = found.selected;
        if (found.role) { state.role = found.role; }
        if (layerSelect) { layerSelect.value = state.role; }
        planFilter.value = "";
        note.hidden = found.unknown.length === 0;
        note.textContent = found.unknown.length ? fill(texts.unknown, {
          n: number(found.unknown.length, 0), ids: found.unknown.slice(0, 10).join(", ")}) : "";
      } else {
        var later = data.plans.filter(function (p) { return p.key !== data.baseline; });
        var key = (later[0] || data.plans[0]).key;
        state.selected = planSelection(model, key);
        state.role = data.plans[model.planIndex[key]].layer;
        if (layerSelect) { layerSelect.value = state.role; }
        planFilter.value = key;
      }
      applyFilter();
      syncBoxes();
      update(true);
    }
    restore();
    win.addEventListener("pagehide", function () { if (urlTimer) { writeUrl(true); } });
    win.addEventListener("hashchange", function () {
      if (win.location.hash !== "#" + encodeSelection(model, state.selected, state.role)) {
        restore();
      }
    });

    var api = {
      model: model, state: state, update: update, preset: preset,
      figures: function () { return figures(model, state.selected, state.role); },
      toggle: function (a) { setArea(a, !state.selected[a]); return update(); },
      csv: function () { return toCsv(model, state.selected); },
      url: function () { writeUrl(true); return win.location.href; }
    };
    win.opjordScenario = api;
    return api;
  }

  return {
    prepare: prepare, compute: compute, figures: figures, planSelection: planSelection,
    number: number, hectares: hectares, percent: percent, percentagePoints: percentagePoints,
    encodeSelection: encodeSelection, decodeSelection: decodeSelection, toCsv: toCsv,
    init: init
  };
});
