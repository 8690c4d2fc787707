// The overview map's own controls, beside the map rather than over it: the layer panel
// (a drawer on phones), search, links to areas, the map view in the URL, the compare view
// of two plans (a swipe, with buttons and a slider that work from the keyboard), and a ring
// for every area too small to see at the current zoom. Reads window.opjord (the map and
// its layers, set by the page's map script) and the JSON in #opjord-data; every data
// string reaches the page as text (textContent), never as HTML.
(function () {
  "use strict";
  var o = window.opjord;
  var dataNode = document.getElementById("opjord-data");
  if (!o || !dataNode) { return; }
  var map = o.map;
  var data = JSON.parse(dataNode.textContent);
  var plans = data.plans;
  var areas = data.areas;
  var byRef = {};
  var byNr = {};
  areas.forEach(function (a) { byRef[a.plan + ":" + a.id] = a; byNr[a.nr] = a; });
  function $(id) { return document.getElementById(id); }
  function fold(text) { return String(text).toLocaleLowerCase("sv"); }
  function planOf(key) { return plans.filter(function (p) { return p.key === key; })[0]; }
  function areaGroup(a) { return o.layers["omraden-" + a.plan]; }

  // Shapes of the areas by number (the feature property "nr").
  var shapes = {};
  plans.forEach(function (p) {
    var group = o.layers["omraden-" + p.key];
    if (!group) { return; }
    group.eachLayer(function (gj) {
      if (!gj.eachLayer) { return; }
      gj.eachLayer(function (l) {
        if (l.feature && l.feature.properties.nr !== undefined) { shapes[l.feature.properties.nr] = l; }
      });
    });
  });

  // ---------------------------------------------------------------- layer panel
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-lager]"));
  function syncBoxes() {
    boxes.forEach(function (box) {
      var g = o.layers[box.getAttribute("data-lager")];
      if (g) { box.checked = map.hasLayer(g); }
    });
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      var g = o.layers[box.getAttribute("data-lager")];
      if (!g) { return; }
      if (box.checked) { map.addLayer(g); } else { map.removeLayer(g); }
      updatePoints();
    });
  });
  map.on("layeradd layerremove", syncBoxes);
  syncBoxes();

  // Drawers on phones: a button (aria-expanded) opens and closes the section it controls;
  // Escape inside the section closes it and gives the focus back. Wide screens show both.
  var narrow = window.matchMedia("(max-width: 899px)");
  var drawers = Array.prototype.slice.call(document.querySelectorAll(".ladknapp")).map(function (button) {
    var target = $(button.getAttribute("aria-controls"));
    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      target.classList.toggle("stangd", !open);
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      set(open);
      map.invalidateSize({pan: false});
      var field = open && target.querySelector("input[type=search]");
      if (field) { field.focus(); }
    });
    target.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && narrow.matches) {
        set(false);
        button.focus();
      }
    });
    return set;
  });
  function resetDrawers() { drawers.forEach(function (set) { set(!narrow.matches); }); }
  resetDrawers();
  if (narrow.addEventListener) { narrow.addEventListener("change", resetDrawers); }

  // ---------------------------------------------------------------- point symbols
  var MIN_PX = 12;  // an area narrower and lower than this (in px) gets a ring
  var points = {};
  areas.forEach(function (a) {
    var plan = planOf(a.plan);
    var marker = L.circleMarker(a.point, {
      pane: plan ? plan.pane : "overlayPane", radius: 7, weight: 3,
      color: plan ? plan.color : "#1a1a1a", fillColor: "#ffffff", fillOpacity: 0.9,
      className: "opjord-punkt opjord-punkt-" + a.plan
    });
    var label = document.createElement("span");
    label.textContent = a.name + " (" + a.id + "), " + a.plan_label;
    marker.bindTooltip(label, {className: "opjord-tooltip"});
    marker.on("click", function () { showArea(a, {fit: true, focus: true}); });
    points[a.nr] = marker;
  });
  function tooSmall(a) {
    var b = L.latLngBounds(a.bounds);
    var p1 = map.latLngToLayerPoint(b.getNorthWest());
    var p2 = map.latLngToLayerPoint(b.getSouthEast());
    return Math.max(Math.abs(p2.x - p1.x), Math.abs(p2.y - p1.y)) < MIN_PX;
  }
  function updatePoints() {
    areas.forEach(function (a) {
      var group = areaGroup(a);
      var marker = points[a.nr];
      if (!group) { return; }
      var want = map.hasLayer(group) && tooSmall(a);
      if (want && !group.hasLayer(marker)) { group.addLayer(marker); }
      if (!want && group.hasLayer(marker)) { group.removeLayer(marker); }
    });
  }
  map.on("zoomend", updatePoints);

  // ---------------------------------------------------------------- areas, links, the URL
  var current = null;  // "<plan>:<id>" of the area whose facts are open
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i > 0) {
        try { out[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1)); } catch (e) { /* ignore */ }
      }
    });
    return out;
  }
  function enc(value) { return encodeURIComponent(value).replace(/%3a/gi, ":").replace(/%2f/gi, "/"); }
  function writeHash() {
    var c = map.getCenter();
    var parts = [];
    if (current) { parts.push("omrade=" + enc(current)); }
    parts.push("karta=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
    history.replaceState(null, "", "#" + parts.join("&"));
  }
  function showArea(a, opts) {
    opts = opts || {};
    var group = areaGroup(a);
    if (group && !map.hasLayer(group)) { map.addLayer(group); }
    compare.reveal(a.plan);
    if (opts.fit) {
      map.fitBounds(a.bounds, {maxZoom: 16, padding: [48, 48], animate: false});
    }
    updatePoints();
    var shape = shapes[a.nr];
    var at = L.latLng(a.point);
    map.closePopup();  // one area's facts at a time
    if (shape) { shape.fire("click", {latlng: at}, true); }
    if (opts.fit && shape) {
      // Fit again below the open popup (it opens above the area's point), so the popup's
      // automatic panning cannot push the area out of view.
      var pop = map.getContainer().querySelector(".leaflet-popup");
      var h = pop ? pop.offsetHeight : 0;
      map.fitBounds(a.bounds, {maxZoom: 16, paddingTopLeft: [48, 48 + h],
                               paddingBottomRight: [48, 48], animate: false});
    }
    current = a.plan + ":" + a.id;
    writeHash();
    if (opts.scroll) {
      map.getContainer().scrollIntoView({block: "nearest"});
    }
    if (opts.focus) {
      var content = document.querySelector(".leaflet-popup-content");
      if (content) {
        content.setAttribute("tabindex", "-1");
        content.focus({preventScroll: true});
      }
    }
  }
  map.on("popupclose", function () { current = null; });
  map.on("moveend", writeHash);
  function fromHash(initial) {
    var h = parseHash();
    if (h.karta) {
      var v = h.karta.split("/").map(Number);
      if (v.length === 3 && v.every(isFinite)) { map.setView([v[1], v[2]], v[0], {animate: false}); }
    }
    if (h.omrade && byRef[h.omrade]) {
      showArea(byRef[h.omrade], {fit: !h.karta, focus: !initial, scroll: !initial});
    }
  }
  window.addEventListener("hashchange", function () { fromHash(false); });
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-omrade]");
    var row = e.target.closest && e.target.closest("tr[data-omrade]");
    var ref = link ? link.getAttribute("data-omrade") : (row ? row.getAttribute("data-omrade") : null);
    if (!ref || !byRef[ref]) { return; }
    if (!link && e.target.closest("button, a, input")) { return; }
    if (link && (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0)) { return; }  // new tab
    e.preventDefault();
    showArea(byRef[ref], {fit: true, focus: true, scroll: true});
  });

  // ---------------------------------------------------------------- search
  var form = $("sok-form");
  var input = $("sok");
  var hits = $("sok-traffar");
  var status = $("sok-status");
  function matches(q) {
    q = fold(q.trim());
    if (!q) { return []; }
    return areas.filter(function (a) {
      return fold(a.name).indexOf(q) >= 0 || fold(a.id).indexOf(q) >= 0 || fold(a.type).indexOf(q) >= 0;
    });
  }
  function renderHits() {
    var found = matches(input.value);
    hits.textContent = "";
    found.slice(0, 20).forEach(function (a) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "traff";
      button.textContent = a.name + " (" + a.id + ", " + a.type + ") – " + a.plan_label;
      button.addEventListener("click", function () { showArea(a, {fit: true, focus: true, scroll: true}); });
      li.appendChild(button);
      hits.appendChild(li);
    });
    if (!input.value.trim()) { status.textContent = ""; }
    else if (!found.length) { status.textContent = "Inga områden hittades."; }
    else {
      status.textContent = found.length === 1 ? "1 område hittades." :
        found.length + " områden hittades" + (found.length > 20 ? ", de 20 första visas." : ".");
    }
  }
  if (form) {
    form.hidden = false;
    input.addEventListener("input", renderHits);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var found = matches(input.value);
      if (found.length) { showArea(found[0], {fit: true, focus: true, scroll: true}); }
    });
  }

  // ---------------------------------------------------------------- compare (swipe)
  var compare = (function () {
    var section = $("jamfor");
    var later = plans.filter(function (p) { return !p.baseline; });
    if (!section || !later.length) { return {reveal: function () {}}; }
    var base = plans.filter(function (p) { return p.baseline; })[0];
    var state = {on: false, pos: 50, left: base.key, right: later[0].key};
    var toggle = $("jamfor-pa");
    var range = $("jamfor-grans");
    var row = $("svepreglage");
    var line = $("svepgrans");
    var choose = $("jamfor-plan");
    var leftButton = $("jamfor-vanster");
    var rightButton = $("jamfor-hoger");
    var text = $("jamfor-status");
    section.hidden = false;
    function label(key) { return planOf(key).label; }
    var KONTEXT = "-kontext";  // a plan's canvas pane: `<plan pane>-kontext` (webmap._Kontext)
    function inPane(layer, pane) {  // is any part of `layer` drawn in `pane` (and so clipped)?
      if (layer.options && (layer.options.pane === pane || layer.options.pane === pane + KONTEXT)
          && !layer.eachLayer) { return true; }
      var found = false;
      if (layer.eachLayer) { layer.eachLayer(function (l) { found = found || inPane(l, pane); }); }
      return found;
    }
    function changesClipped(plan) {
      return plan.layers.some(function (k) {
        return k.indexOf("omraden-") !== 0 && o.layers[k] && inPane(o.layers[k], plan.pane);
      });
    }
    function clip() {
      var size = map.getSize();
      var nw = map.containerPointToLayerPoint([0, 0]);
      var se = map.containerPointToLayerPoint(size);
      var x = nw.x + size.x * state.pos / 100;
      plans.forEach(function (p) {
        var value = "";
        if (state.on) {
          if (p.key === state.left) { value = "rect(" + [nw.y, x, se.y, nw.x].join("px,") + "px)"; }
          else if (p.key === state.right) { value = "rect(" + [nw.y, se.x, se.y, x].join("px,") + "px)"; }
          else { value = "rect(0px,0px,0px,0px)"; }
        }
        // the plan's areas, and the canvas below them with the farmland it designates or
        // releases (`assets/kontext.js`)
        [p.pane, p.pane + KONTEXT].forEach(function (name) {
          var pane = map.getPane(name);
          if (pane) { pane.style.clip = value; }
        });
      });
      line.hidden = !state.on;
      line.style.left = (map.getContainer().offsetLeft + size.x * state.pos / 100 - 1.5) + "px";
      line.style.top = map.getContainer().offsetTop + "px";
      line.style.height = size.y + "px";
    }
    function describe() {
      $("svep-vanster").textContent = "◀ " + label(state.left);
      $("svep-hoger").textContent = label(state.right) + " ▶";
      leftButton.textContent = "Hela kartan: " + label(state.left);
      rightButton.textContent = "Hela kartan: " + label(state.right);
      range.setAttribute("aria-valuetext", state.pos + " %: " + label(state.left) + " till vänster, " +
                         label(state.right) + " till höger");
      if (!state.on) {
        text.textContent = "Alla planer visas ovanpå varandra. Välj Sida vid sida för att jämföra två planer.";
        return;
      }
      var where = state.pos >= 100 ? "Hela kartan visar " + label(state.left) + "." :
        state.pos <= 0 ? "Hela kartan visar " + label(state.right) + "." :
        "Till vänster om gränsen (vid " + state.pos + " % av kartans bredd) visas " + label(state.left) +
        ", till höger " + label(state.right) + ".";
      var changes = planOf(state.left).baseline ? state.right : state.left;
      text.textContent = where + (changesClipped(planOf(changes)) ?
        " Nyutpekad och frisläppt jordbruksmark visas på samma sida som " + label(changes) +
        ". Övriga lager visas på båda sidor." : " Övriga lager visas på båda sidor.");
    }
    function update() {
      toggle.setAttribute("aria-pressed", state.on ? "true" : "false");
      row.hidden = !state.on;
      range.value = String(state.pos);
      if (state.on) {
        [state.left, state.right].forEach(function (key) {
          planOf(key).layers.forEach(function (k) { if (o.layers[k]) { map.addLayer(o.layers[k]); } });
        });
      }
      map.invalidateSize({pan: false});
      clip();
      describe();
      updatePoints();
    }
    toggle.addEventListener("click", function () { state.on = !state.on; update(); });
    leftButton.addEventListener("click", function () { state.on = true; state.pos = 100; update(); });
    rightButton.addEventListener("click", function () { state.on = true; state.pos = 0; update(); });
    $("jamfor-byt").addEventListener("click", function () {
      var l = state.left;
      state.left = state.right;
      state.right = l;
      state.on = true;
      update();
    });
    range.addEventListener("input", function () { state.pos = Number(range.value); clip(); describe(); });
    if (choose) {
      choose.addEventListener("change", function () {
        if (planOf(state.left).baseline) { state.right = choose.value; } else { state.left = choose.value; }
        update();
      });
    }
    map.on("move zoom resize viewreset zoomanim", clip);
    window.addEventListener("resize", clip);
    describe();
    return {
      state: state,
      set: function (changes) { Object.keys(changes).forEach(function (k) { state[k] = changes[k]; }); update(); },
      reveal: function (key) {  // an area of `key` was asked for: make sure its side shows
        if (!state.on) { return; }
        if (key !== state.left && key !== state.right) { state.on = false; }
        else if (key === state.left && state.pos <= 0) { state.pos = 50; }
        else if (key === state.right && state.pos >= 100) { state.pos = 50; }
        update();
      }
    };
  })();

  o.showArea = function (ref) { if (byRef[ref]) { showArea(byRef[ref], {fit: true}); } };
  o.compare = compare;
  o.areas = byNr;
  o.shapes = shapes;
  o.points = points;
  updatePoints();
  fromHash(true);
})();
