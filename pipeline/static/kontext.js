// The map's context layers on one Leaflet canvas, from compact per-zoom tiles.
// Written by pipeline/webdata.py: each file in data/ calls opjordKontext.data(level, tile,
// {layer: payload}) with vertices as an encoded polyline. The overview level comes with the
// page as <script src>; finer levels are added as <script> elements when the view needs
// them (no fetch: browsers refuse it for file: URLs). Tooltips are set as text, not HTML.
(function () {
  "use strict";
  var specs = {};   // layer number -> {group, map, spec, tiles: {"level/tile": [polygons]}}
  var store = {};   // "level/tile" -> {layer number: payload}
  var asked = {};   // "level/tile" -> true once its <script> was added
  var renderers = {};  // one canvas per pane: the shared one, or a plan's (compare view)
  var KEEP = 48;    // decoded tiles kept beyond those in view (memory stays bounded)
  var used = [];    // "layer number/level/tile", least recently shown first
  var started = false;  // the page's own scripts have run (ready): finer tiles may load
  var marked = false;   // the first view is drawn (the mark is set)
  // Polygons per canvas shape: a merged shape (one class of a tile) is drawn as several, as
  // the canvas's time to fill a path grows faster than its number of rings (measured in
  // Chromium: 10 600 rings 0.45 s, 38 000 rings 5.6 s; chunks of 500 a few ms each).
  var CHUNK = 500;

  function decode(p, style, interactive, renderer) {
    var s = p.c, i = 0, lat = 0, lng = 0, scale = Math.pow(10, -p.d);
    function next() {
      var r = 0, shift = 0, b;
      do { b = s.charCodeAt(i++) - 63; r += (b & 31) * Math.pow(2, shift); shift += 5; }
      while (b >= 32);
      return (r % 2) ? -(r + 1) / 2 : r / 2;
    }
    var out = [], ring = 0, poly = 0, fields = Object.keys(p.t);
    function shape(f, polys) {
      // smoothFactor 0: the shapes are already simplified for this zoom level.
      var layer = L.polygon(polys, L.extend({renderer: renderer, pane: renderer.options.pane,
                                             interactive: interactive,
                                             fillRule: "nonzero", smoothFactor: 0}, style));
      layer.opjordText = {};
      for (var j = 0; j < fields.length; j++) { layer.opjordText[fields[j]] = p.t[fields[j]][f]; }
      out.push(layer);
    }
    for (var f = 0; f < p.p.length; f++) {
      var polys = [];
      for (var k = 0; k < p.p[f]; k++) {
        if (polys.length === CHUNK) { shape(f, polys); polys = []; }
        var rings = [];
        for (var r = 0; r < p.r[poly]; r++) {
          var n = p.n[ring++], pts = new Array(n);
          for (var v = 0; v < n; v++) {
            lat += next(); lng += next();
            pts[v] = new L.LatLng(lat * scale, lng * scale);
          }
          rings.push(pts);
        }
        polys.push(rings);
        poly++;
      }
      shape(f, polys);
    }
    return out;
  }

  function tooltip(fields) {
    return function (layer) {
      var table = document.createElement("table");
      fields.forEach(function (pair) {
        var tr = table.insertRow(), th = document.createElement("th");
        th.textContent = pair[1];
        tr.appendChild(th);
        tr.insertCell().textContent = layer.opjordText[pair[0]];
      });
      return table;
    };
  }

  function levelFor(spec, zoom) {
    var chosen = 0;
    spec.levels.forEach(function (level, i) { if (zoom >= level.minZoom) { chosen = i; } });
    return chosen;
  }

  function wanted(entry) {
    // The tiles of the level for this zoom that meet the view (padded by half a view).
    var map = entry.map, spec = entry.spec, number = levelFor(spec, map.getZoom());
    var view = map.getBounds().pad(0.5), out = [];
    spec.levels[number].tiles.forEach(function (t) {
      if (number === 0 || view.intersects([[t[1], t[2]], [t[3], t[4]]])) {
        out.push(number + "/" + t[0]);
      }
    });
    return out;
  }

  function script(id) {
    if (asked[id]) { return; }
    asked[id] = true;
    var parts = id.split("/"), el = document.createElement("script");
    el.src = "data/n" + parts[0] + "-" + parts[1] + ".js";
    el.async = true;
    document.head.appendChild(el);
  }

  function touch(id) {
    var at = used.indexOf(id);
    if (at >= 0) { used.splice(at, 1); }
    used.push(id);
  }

  function update(entry) {
    var want = wanted(entry), ready = want.every(function (id) { return id in store; });
    if (started) { want.forEach(function (id) { if (!(id in store)) { script(id); } }); }
    if (!ready) { return; }  // the shown tiles stay until the new ones are all there
    var keep = {};
    want.forEach(function (id) {
      keep[id] = true;
      if (!entry.tiles[id]) {
        entry.tiles[id] = decode(store[id][entry.spec.id], entry.spec.style,
                                 entry.spec.tooltip.length > 0, entry.renderer);
      }
      entry.tiles[id].forEach(function (l) {
        if (!entry.group.hasLayer(l)) { entry.group.addLayer(l); }
      });
      touch(entry.spec.id + "/" + id);
    });
    Object.keys(entry.tiles).forEach(function (id) {
      if (!keep[id]) { entry.tiles[id].forEach(function (l) { entry.group.removeLayer(l); }); }
    });
    while (used.length > KEEP) {  // forget the least recently shown tiles out of view
      var old = used.shift(), cut = old.indexOf("/");
      var owner = specs[old.slice(0, cut)], id = old.slice(cut + 1);
      if (owner && !owner.group.hasLayer((owner.tiles[id] || [])[0])) { delete owner.tiles[id]; }
      else { used.push(old); break; }
    }
  }

  function pending() {
    return Object.keys(asked).filter(function (id) { return !(id in store); }).length;
  }

  function drawnYet() {
    if (!started || marked || pending() > 0) { return; }
    marked = true;
    requestAnimationFrame(function () {
      if (window.performance && performance.mark) { performance.mark("opjord-ritad"); }
      document.documentElement.setAttribute("data-karta-ritad", "1");
    });
  }

  window.opjordKontext = {
    // A context layer: `group` is its FeatureGroup in the layer control.
    layer: function (map, group, spec) {
      var paneName = spec.pane || "opjordKontext";
      if (!renderers[paneName]) {
        if (!map.getPane(paneName)) {
          var pane = map.createPane(paneName);
          pane.style.zIndex = 350;  // below the development areas (SVG, overlay pane 400)
        }
        renderers[paneName] = L.canvas({pane: paneName, padding: 0.3});
      }
      var entry = {map: map, group: group, spec: spec, tiles: {}, renderer: renderers[paneName]};
      specs[spec.id] = entry;
      spec.levels[0].tiles.forEach(function (t) { asked["0/" + t[0]] = true; });  // in the page
      if (spec.tooltip.length) {
        group.bindTooltip(tooltip(spec.tooltip), {sticky: true, className: "opjord-tooltip"});
      }
      map.on("zoomend moveend", function () { update(entry); });
      update(entry);
    },
    data: function (level, tile, parts) {
      store[level + "/" + tile] = parts;
      Object.keys(parts).forEach(function (k) { if (specs[k]) { update(specs[k]); } });
      drawnYet();
    },
    // Called after the page's own data (the overview files): finer tiles may now load, and
    // once none is awaited the mark `opjord-ritad` is set in the frame that draws them.
    ready: function () {
      started = true;
      Object.keys(specs).forEach(function (k) { update(specs[k]); });
      drawnYet();
    },
    // For tests: how many of the layer's shapes are on the map and in the view.
    drawn: function (group) {
      var n = 0;
      group.eachLayer(function (l) { if (l._map && l._parts && l._parts.length) { n++; } });
      return n;
    },
    // For tests and benchmarks: tile files asked for and not yet arrived.
    pending: pending,
    // For benchmarks: decoded tiles held in memory, over all layers.
    decoded: function () {
      return Object.keys(specs).reduce(function (n, k) {
        return n + Object.keys(specs[k].tiles).length;
      }, 0);
    },
    // For tests: the layer number in the data files, per layer key.
    ids: function () {
      var out = {};
      Object.keys(specs).forEach(function (k) { out[specs[k].spec.key] = specs[k].spec.id; });
      return out;
    },
    // For tests: the tiles now shown per layer ("level/tile").
    shown: function () {
      var out = {};
      Object.keys(specs).forEach(function (k) {
        out[specs[k].spec.key] = Object.keys(specs[k].tiles).filter(function (id) {
          return specs[k].group.hasLayer(specs[k].tiles[id][0]);
        });
      });
      return out;
    }
  };
})();
