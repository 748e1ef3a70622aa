// nasviz's lean plotly.js bundle: plotly.js core with the trace types the latent map and the pages' lean
// charts draw (scatter is in core; scattergl, heatmap, bar, histogram registered here).
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/scattergl'), require('plotly.js/lib/heatmap'), require('plotly.js/lib/bar'),
                 require('plotly.js/lib/histogram')]);
module.exports = Plotly;
