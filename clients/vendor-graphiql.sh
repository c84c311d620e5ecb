#!/usr/bin/env bash
# Vendor GraphiQL's browser files into opsapi/static/graphiql/ from the npm registry, so that
# /graphql/ works on a network that reaches no CDN (opsapi/static/graphiql/README.md).
#
# Each file is taken from its package's published tarball (`npm pack`), checked against the
# SHA-384 pinned below, and written to opsapi/static/graphiql/<package>@<version>/<path>, with
# the package's LICENSE beside it. To update: change a version here, run the script once with
# UPDATE=1 (it prints the new hashes instead of failing on them), put them in FILES below and in
# opsapi/templates/opsapi/graphiql.html (its paths and integrity attributes), and run the
# browser test (tests/browser/test_graphiql.py).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=opsapi/static/graphiql

# package@version  path-in-package  sha384 (as in a Subresource Integrity attribute)
FILES="
react@18.2.0 umd/react.production.min.js tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8
react-dom@18.2.0 umd/react-dom.production.min.js bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh
graphiql@3.8.3 graphiql.min.js HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie
graphiql@3.8.3 graphiql.min.css Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM
@graphiql/plugin-explorer@1.0.2 dist/index.umd.js 2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9
@graphiql/plugin-explorer@1.0.2 dist/style.css 5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi
"

# package@version  LICENSE's path in its tarball  where it goes under DEST. The explorer plugin
# ships no LICENSE file (its package.json says MIT, from the graphiql repository, whose licence
# the graphiql package carries); its bundle includes graphiql-explorer, whose LICENSE is kept too.
LICENSES="
react@18.2.0 LICENSE react@18.2.0/LICENSE
react-dom@18.2.0 LICENSE react-dom@18.2.0/LICENSE
graphiql@3.8.3 LICENSE graphiql@3.8.3/LICENSE
graphiql@3.8.3 LICENSE @graphiql/plugin-explorer@1.0.2/LICENSE
graphiql-explorer@0.9.0 LICENSE @graphiql/plugin-explorer@1.0.2/LICENSE.graphiql-explorer
"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The unpacked tarball of package@version, fetched once.
unpacked() {
  local spec=$1 dir="$work/${1//\//_}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  fi
  echo "$dir/package"
}

# Check every file first, so that a mismatch leaves the vendored files as they were.
failed=0
while read -r spec path sha; do
  [ -n "$spec" ] || continue
  actual=$(openssl dgst -sha384 -binary "$(unpacked "$spec")/$path" | base64 -w0)
  if [ "$actual" != "$sha" ]; then
    echo "$spec $path: sha384-$actual (pinned: sha384-$sha)" >&2
    failed=1
  fi
done <<<"$FILES"
if [ "$failed" = 1 ] && [ "${UPDATE:-}" != 1 ]; then
  echo "Files differ from their pinned hashes: nothing was written (UPDATE=1 writes them)." >&2
  exit 1
fi

# Replace the vendored packages (an older version's directory goes); README.md stays.
find "$DEST" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
while read -r spec path sha; do
  [ -n "$spec" ] || continue
  mkdir -p "$DEST/$spec/$(dirname "$path")"
  cp "$(unpacked "$spec")/$path" "$DEST/$spec/$path"
  echo "$DEST/$spec/$path"
done <<<"$FILES"
while read -r spec path target; do
  [ -n "$spec" ] || continue
  mkdir -p "$DEST/$(dirname "$target")"
  cp "$(unpacked "$spec")/$path" "$DEST/$target"
  echo "$DEST/$target"
done <<<"$LICENSES"
