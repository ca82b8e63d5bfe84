#!/usr/bin/env bash
# Builds the portal (portal/, Leptos compiled to WebAssembly) into portal/dist, which the
# `sluice` binary embeds when it is compiled (backend/http-api/build.rs) and serves at `/`.
#
#   scripts/build-portal.sh
#
# Needs rustup (for the wasm32 target) and cargo; installs wasm-bindgen-cli of exactly the
# version in Cargo.lock when missing. Uses wasm-opt from the npm package `binaryen` (pinned in
# portal/package.json) when npm is available, and skips that step otherwise (the bundle is then
# about twice as large). Debian's own binaryen is too old and produces a broken bundle.
# Everything comes from the package registries: nothing is downloaded at build time otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> portal: %s\n' "$*" >&2; }

target_dir=target/portal
out=portal/dist
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
  echo "build-portal: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $wasm_bindgen_version\$"; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (once, about 3 minutes)"
  # Not --locked: one of its locked dependency versions is no longer in the registry.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

say "compiling (profile wasm-release)"
# Keep the `target_features` section (which `strip = true` drops) so that wasm-bindgen sees
# which WebAssembly features the code uses; wasm-opt strips what is left afterwards.
CARGO_PROFILE_WASM_RELEASE_STRIP=debuginfo cargo build --locked --profile wasm-release --target wasm32-unknown-unknown -p portal \
  --target-dir "$target_dir"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
chmod 755 "$staging"
mkdir -p "$staging/assets"
wasm-bindgen --target web --no-typescript --out-dir "$staging/pkg" --out-name portal \
  "$target_dir/wasm32-unknown-unknown/wasm-release/portal.wasm"

wasm="$staging/pkg/portal_bg.wasm"
if command -v npm >/dev/null 2>&1; then
  if [ ! -x portal/node_modules/.bin/wasm-opt ]; then
    say "installing binaryen from npm (portal/package-lock.json)"
    (cd portal && npm ci --no-audit --no-fund --loglevel=error)
  fi
  say "optimising with wasm-opt -Oz"
  portal/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
else
  echo "!!! build-portal: npm not found: skipping wasm-opt (the bundle works, but is larger)" >&2
fi

hash() { sha256sum "$1" | cut -c1-12; }
# Content-hashed names: the server caches /assets/* for a year, and index.html never.
js="portal-$(hash "$staging/pkg/portal.js").js"
wasm_name="portal-$(hash "$wasm").wasm"
css="portal-$(hash portal/style/portal.css).css"
cp "$staging/pkg/portal.js" "$staging/assets/$js"
cp "$wasm" "$staging/assets/$wasm_name"
cp portal/style/portal.css "$staging/assets/$css"
sed -e "s|{{JS}}|$js|g" -e "s|{{WASM}}|$wasm_name|g" portal/boot.js >"$staging/boot.js"
boot="boot-$(hash "$staging/boot.js").js"
mv "$staging/boot.js" "$staging/assets/$boot"
sed -e "s|{{JS}}|$js|g" -e "s|{{WASM}}|$wasm_name|g" -e "s|{{CSS}}|$css|g" -e "s|{{BOOT}}|$boot|g" \
  portal/index.html >"$staging/index.html"

# Precompressed copies, served to browsers that accept them.
for file in "$staging/index.html" "$staging"/assets/*; do
  gzip -9 -n -k "$file"
  if command -v brotli >/dev/null 2>&1; then brotli -q 11 -k "$file"; fi
done
rm -rf "$staging/pkg"

# An unchanged bundle keeps its files (and their times), so cargo does not recompile the server.
if [ -d "$out" ] && diff -rq "$staging" "$out" >/dev/null 2>&1; then
  say "unchanged"
else
  rm -rf "$out"
  cp -r "$staging" "$out"
fi

size() { wc -c <"$1" | tr -d ' '; }
w="$out/assets/$wasm_name"
say "wrote $out: wasm $(size "$w") bytes, gzip $(size "$w.gz")$( [ -f "$w.br" ] && echo ", brotli $(size "$w.br")"); js $(size "$out/assets/$js") bytes"
