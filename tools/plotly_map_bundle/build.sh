#!/usr/bin/env bash
# Rebuild pages/_plotly_map/plotly-map.min.js, the plotly.js build the latent map draws with:
# plotly.js core + scattergl + heatmap (1.5 MB) instead of the full 4.7 MB bundle that st.plotly_chart
# loads. Needs Node.js and npm (the registry only); the versions are pinned in package.json.
#   tools/plotly_map_bundle/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/entry.js" "$work/"
cd "$work"
npm install --no-audit --no-fund --ignore-scripts >/dev/null
# typedarray-pool needs a Buffer: `buffer` (npm) stands in for Node's; legal comments stay at the end
npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --define:global=window \
    --target=es2018 --legal-comments=eof --outfile="$here/../../pages/_plotly_map/plotly-map.min.js"
rm -f "$here/../../pages/_plotly_map/plotly-map.min.css"  # maplibre-gl styles that core imports; the map uses no map tiles
sha256sum "$here/../../pages/_plotly_map/plotly-map.min.js"
