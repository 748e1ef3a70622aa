// nasviz's latent-map bundle: plotly.js core with the two trace types the map draws.
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/scattergl'), require('plotly.js/lib/heatmap')]);
module.exports = Plotly;
