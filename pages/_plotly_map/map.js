// The latent map's chart: draws the figure it is given (Plotly.react, so zoom survives reruns while the
// layout's uirevision stays the same) and reports clicks and box/lasso selections back to the page in the
// shape st.plotly_chart's selection has ({selection: {points, box, lasso}}), with an event counter so that
// the same click twice is still a new value. Streamlit's component protocol is spoken directly (postMessage).
"use strict";
(function () {
  var gd = document.getElementById("map");
  var last = null, height = 0, events = 0, wired = false, renders = 0;

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
  function emit(selection) {
    events += 1;
    send("streamlit:setComponentValue", {value: {selection: selection, event: events}, dataType: "json"});
  }
  function point(p) {
    var cd = p.customdata;
    if (cd && typeof cd === "object" && !Array.isArray(cd)) cd = Array.prototype.slice.call(cd);
    return {curve_number: p.curveNumber, point_number: p.pointNumber, point_index: p.pointIndex,
            x: p.x, y: p.y, customdata: cd === undefined ? null : cd};
  }
  function wire() {
    // a click picks the points under the cursor; a box or lasso is sent as its geometry (the page selects
    // every cell inside it, also in density mode where there are no points to pick)
    gd.on("plotly_click", function (ev) {
      emit({points: (ev && ev.points || []).map(point), box: [], lasso: []});
    });
    gd.on("plotly_selected", function (ev) {
      if (!ev) return;
      if (ev.range && ev.range.x) {
        emit({points: [], box: [{xref: "x", yref: "y", x: ev.range.x, y: ev.range.y}], lasso: []});
      } else if (ev.lassoPoints && ev.lassoPoints.x) {
        emit({points: [], box: [], lasso: [{xref: "x", yref: "y", x: ev.lassoPoints.x, y: ev.lassoPoints.y}]});
      }
    });
    gd.on("plotly_deselect", function () { emit({points: [], box: [], lasso: []}); });
  }
  function render(args) {
    var key = args.spec + "\u0000" + args.config;
    if (key === last) return;
    last = key;
    var fig, config;
    try {
      fig = JSON.parse(args.spec);
      config = JSON.parse(args.config);
    } catch (e) {
      gd.textContent = "This figure could not be read: " + e;
      setHeight(60);
      return;
    }
    config.responsive = true;
    // Plotly offers box and lasso select only over traces with points; the density view (heatmaps) gets
    // the same two buttons here, and a box or lasso there selects the cells inside it
    var points = (fig.data || []).some(function (t) { return t.type === "scattergl" || t.type === "scatter"; });
    if (!points) config.modeBarButtonsToAdd = (config.modeBarButtonsToAdd || []).concat(DRAG_BUTTONS);
    setHeight((fig.layout && fig.layout.height) || 450);
    Plotly.react(gd, fig.data || [], fig.layout || {}, config).then(function () {
      if (!wired) { wire(); wired = true; }
      renders += 1;
      gd.setAttribute("data-renders", String(renders));
    });
  }
  window.addEventListener("message", function (ev) {
    if (ev.data && ev.data.type === "streamlit:render") render(ev.data.args);
  });
  send("streamlit:componentReady", {apiVersion: 1});
})();
