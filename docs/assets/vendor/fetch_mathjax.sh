#!/usr/bin/env bash
# Vendor MathJax 3 (tex-chtml) from the npm registry so the site renders math
# without any CDN. Re-run to refresh; the result is committed.
#
#   bash docs/assets/vendor/fetch_mathjax.sh
#
# Keeps only what tex-chtml needs at run time: the combined component, the TeX
# extensions that its autoloader may request, and the CHTML woff2 fonts.
# The accessibility/speech components (a11y/, sre/) are left out; the MathJax
# context menu, which would load them, is switched off in docs/assets/js/mathjax.js.
set -euo pipefail

VERSION=3.2.2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/mathjax"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "mathjax@$VERSION" >/dev/null)  # npm checks the registry's integrity hash
tar -xzf "$tmp/mathjax-$VERSION.tgz" -C "$tmp"
src="$tmp/package/es5"

rm -rf "$dest"
mkdir -p "$dest/input/tex" "$dest/output/chtml/fonts"
cp "$src/tex-chtml.js" "$dest/"
cp -r "$src/input/tex/extensions" "$dest/input/tex/"
cp -r "$src/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "mathjax@$VERSION (npm), es5 tex-chtml subset" > "$dest/VERSION"
du -sh "$dest"
