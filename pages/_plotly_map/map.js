// The latent map's chart: draws the figure it is given (Plotly.react, so zoom survives reruns while the
// layout's uirevision stays the same) and reports clicks and box/lasso selections back to the page in the
// shape st.plotly_chart's selection has ({selection: {points, box, lasso}}), with an event id so that the
// same click twice is still a new value. Streamlit's component protocol is spoken directly (postMessage).
// The cells kept in colour (the selection, the top k %) and the selection's outline come as a separate, small
// argument ("focus"): a new selection restyles the figure already drawn instead of sending and drawing it again.
// The clicked cell's star and its neighbours come the same way ("overlay", a few traces drawn after the
// figure's own): a click swaps them on the drawn map instead of sending the whole figure again.
"use strict";
(function () {
  var gd = document.getElementById("map");
  var note = document.getElementById("note");
  var last = null, lastFocus = null, wantFocus = "null", drawing = false, quiet = false;
  var nBase = 0, lastOverlay = "[]", wantOverlay = "[]", listen = true;
  var height = 0, events = 0, wired = false, dragmode = null;
  // ids stay unique if the frame is ever rebuilt while the page keeps its last value
  var session = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

  var DRAG_BUTTONS = [
    {name: "Box Select", icon: Plotly.Icons.selectbox, click: function (g) { Plotly.relayout(g, {dragmode: "select"}); }},
    {name: "Lasso Select", icon: Plotly.Icons.lasso, click: function (g) { Plotly.relayout(g, {dragmode: "lasso"}); }}
  ];

  function send(type, data) {
    window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, data || {}), "*");
  }
  function setHeight(h) {
    if (h !== height) { height = h; send("streamlit:setFrameHeight", {height: h}); }
  }
  function say(text) {  // a message above the chart; the chart itself is left as it was
    note.textContent = text || "";
    note.style.display = text ? "block" : "none";
  }
  function emit(selection) {
    events += 1;
    send("streamlit:setComponentValue",
         {value: {selection: selection, event: session + "-" + events}, dataType: "json"});
  }
  function point(p) {
    var cd = p.customdata;
    if (cd && typeof cd === "object" && !Array.isArray(cd)) cd = Array.prototype.slice.call(cd);
    return {curve_number: p.curveNumber, point_number: p.pointNumber, point_index: p.pointIndex,
            x: p.x, y: p.y, customdata: cd === undefined ? null : cd};
  }
  function wire() {
    // a click on cells (points carrying their index) picks them; a click on a density bin picks nothing and
    // sends nothing, so the current selection stays. A box or lasso is sent as its geometry: the page
    // selects every cell inside it, also in the density view where there are no points to pick.
    gd.on("plotly_click", function (ev) {
      var picked = (ev && ev.points || []).map(point).filter(function (p) { return p.customdata !== null; });
      if (picked.length) emit({points: picked, box: [], lasso: []});
    });
    gd.on("plotly_selected", function (ev) {
      if (!ev || quiet) return;
      if (ev.range && ev.range.x) {
        emit({points: [], box: [{xref: "x", yref: "y", x: ev.range.x, y: ev.range.y}], lasso: []});
      } else if (ev.lassoPoints && ev.lassoPoints.x) {
        emit({points: [], box: [], lasso: [{xref: "x", yref: "y", x: ev.lassoPoints.x, y: ev.lassoPoints.y}]});
      }
    });
    gd.on("plotly_deselect", function () { if (!quiet) emit({points: [], box: [], lasso: []}); });
    // the drag mode the user picked (zoom, pan, box, lasso) outlives redraws with a new figure
    gd.on("plotly_relayout", function (ev) { if (ev && ev.dragmode) dragmode = ev.dragmode; });
  }
  function applyFocus() {
    // the points kept in colour, per trace (selectedpoints; plotly draws the rest in the trace's
    // "unselected" style, grey) and the selection's outline, in one update of the drawn figure instead of
    // a redraw. Plotly's own selection outline (layout.selections) goes: on every redraw plotly selects the
    // points inside it again, which would undo a focus other than "inside the box" (top k %, grey off).
    var text = wantFocus, focus = null;
    try { focus = JSON.parse(text || "null"); } catch (e) { focus = null; }
    focus = focus || {};
    var n = (gd.data || []).length, idx = [], sp = [];
    for (var i = 0; i < n; i++) {
      idx.push(i);
      sp.push(focus.points && focus.points[i] != null ? focus.points[i] : null);
    }
    lastFocus = text;
    if (!n) return;
    quiet = true;
    return Plotly.update(gd, {selectedpoints: sp}, {selections: [], shapes: focus.outline ? [focus.outline] : []},
                         idx).then(function () { quiet = false; }, function () { quiet = false; });
  }
  function overlayTraces(text) {
    try { return JSON.parse(text || "[]") || []; } catch (e) { return []; }
  }
  function applyOverlay() {
    // the overlay's traces (after the figure's own) are replaced in one Plotly.react with the figure's own
    // trace objects as they are: one redraw (deleteTraces then addTraces drew the whole WebGL scene twice).
    // No config: given one, react compares it with the drawn one and, finding any difference, plots anew
    // (which left the map without hover labels)
    var text = wantOverlay, traces = overlayTraces(text);
    lastOverlay = text;
    drawing = true;
    return Plotly.react(gd, gd.data.slice(0, nBase).concat(traces), gd.layout).then(function () {
      drawing = false;
      return settle();
    }, function (e) { drawing = false; say("The map could not be drawn in this browser (" + e + ")."); });
  }
  function settle() {
    // after a draw: an overlay or focus that arrived meanwhile is applied now
    if (wantOverlay !== lastOverlay) return applyOverlay();
    if (wantFocus !== lastFocus) return applyFocus();
  }
  var texts = {}, renders = 0;
  var early = window.nvEarly || null;  // index.html's head start: the first arguments and the fetches they began
  if (early) {
    early.done = true;
    Object.keys(early.texts).forEach(function (u) {
      texts[u] = early.texts[u];
      texts[u].catch(function () { delete texts[u]; });
    });
  }
  function fetchFigure(url) {
    // the figure's JSON, fetched once per page and kept as text (plotly changes the objects it draws)
    if (!texts[url]) {
      texts[url] = fetch(url, {cache: "force-cache"}).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      });
      texts[url].catch(function () { delete texts[url]; });
    }
    return texts[url];
  }
  function renderMany(args) {
    // several figures that only show (pages/_ui.charts), stacked in this one frame: a page's consecutive charts
    // then load and evaluate plotly.js once instead of once per frame (~0.3 s each on the benchmark machine)
    var key = args.spec_urls + "\u0000" + args.configs;
    if (key === last) return;
    last = key;
    var token = ++renders, urls, configs;
    try {
      urls = JSON.parse(args.spec_urls);
      configs = JSON.parse(args.configs);
    } catch (e) {
      say("These figures could not be read (" + e + ").");
      setHeight(Math.max(height, 60));
      return;
    }
    Promise.all(urls.map(fetchFigure)).then(function (texts) {
      if (token !== renders) return;
      var old = document.querySelectorAll(".nv-chart"), total = 0, draws = [];
      for (var i = 0; i < old.length; i++) {
        if (i >= texts.length) { Plotly.purge(old[i]); old[i].remove(); }
      }
      texts.forEach(function (text, i) {
        var fig = JSON.parse(text), config = configs[i] || {};
        var div = document.querySelectorAll(".nv-chart")[i];
        if (!div) {
          div = document.createElement("div");
          div.className = "nv-chart";
          document.body.appendChild(div);
        }
        fig.layout = fig.layout || {};
        var h = fig.layout.height || 450;
        div.style.height = h + "px";
        div.style.marginBottom = GAP + "px";
        total += h + GAP;
        config.responsive = true;
        draws.push(Plotly.react(div, fig.data || [], fig.layout, config));
      });
      setHeight(total);
      return Promise.all(draws).then(function () { say(""); });
    }).catch(function (e) {
      if (token !== renders) return;
      last = null;  // the next rerun tries again
      say("These figures could not be drawn (" + e + "); reload the page to draw them.");
      setHeight(Math.max(height, 60));
    });
  }
  var GAP = 16;
  function render(args) {
    if (args.spec_urls) return renderMany(args);
    var key = args.spec_url + "\u0000" + args.config;
    wantFocus = args.focus || "null";
    wantOverlay = args.overlay || "[]";
    listen = args.events !== false;  // a chart that only shows (pages/_ui.chart) reports no clicks
    if (key === last) {  // the same figure: at most a new overlay or focus (a figure being drawn applies them after)
      if (!drawing && gd.data) {
        if (wantOverlay !== lastOverlay) applyOverlay();
        else if (wantFocus !== lastFocus) applyFocus();
      }
      return;
    }
    last = key;
    drawing = true;
    var token = ++renders;
    fetchFigure(args.spec_url).then(function (text) {
      if (token === renders) draw(text, args.config);
    }, function (e) {
      if (token !== renders) return;
      drawing = false;
      last = null;  // the next rerun tries again
      say("The map could not be loaded (" + e + "); reload the page to draw it.");
      setHeight(Math.max(height, 60));
    });
  }
  function draw(text, configText) {
    var fig, config;
    try {
      fig = JSON.parse(text);
      config = JSON.parse(configText);
    } catch (e) {
      drawing = false;
      say("This figure could not be read (" + e + "); the map shows the last one drawn.");
      setHeight(Math.max(height, 60));
      return;
    }
    fig.layout = fig.layout || {};
    if (dragmode) fig.layout.dragmode = dragmode;
    config.responsive = true;
    // Plotly offers box and lasso select only over traces with points; the density view (heatmaps) gets
    // the same two buttons here, and a box or lasso there selects the cells inside it
    var points = (fig.data || []).some(function (t) { return t.type === "scattergl" || t.type === "scatter"; });
    if (!points) {  // (and plotly's own two go, which an overlay's points would otherwise bring back)
      config.modeBarButtonsToAdd = (config.modeBarButtonsToAdd || []).concat(DRAG_BUTTONS);
      config.modeBarButtonsToRemove = (config.modeBarButtonsToRemove || []).concat(["select2d", "lasso2d"]);
    }
    setHeight(fig.layout.height || 450);
    nBase = (fig.data || []).length;
    lastOverlay = wantOverlay;
    Plotly.react(gd, (fig.data || []).concat(overlayTraces(wantOverlay)), fig.layout, config).then(function () {
      drawing = false;
      say("");
      if (!wired && listen) { wire(); wired = true; }
      lastFocus = null;  // a new figure takes the focus afresh
      return settle();
    }).catch(function (e) {
      drawing = false;
      say("The map could not be drawn in this browser (" + e + ").");
    });
  }
  window.addEventListener("message", function (ev) {
    if (ev.data && ev.data.type === "streamlit:render") render(ev.data.args);
  });
  if (early && early.args) render(early.args);  // the arguments that came while plotly.js loaded
  else if (!early) send("streamlit:componentReady", {apiVersion: 1});
})();
