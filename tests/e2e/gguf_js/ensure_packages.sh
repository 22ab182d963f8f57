# Sourced by the e2e tests that drive llama.cpp through node-llama-cpp (JS = this directory, fail
# defined): installs the locked packages when missing, without node-llama-cpp's other platforms'
# optional binaries (`npm ci` refuses this lock: it lacks entries for those platform packages).
# Exits 0 with SKIP when the npm registry is unreachable; an install that fails while it is reachable
# is a failure.
if [ ! -f "$JS/node_modules/node-llama-cpp/package.json" ]; then
  if ! (cd "$JS" && npm install --omit=optional --no-save --no-audit --no-fund --loglevel=error >"${TMPDIR:-/tmp}/baimo-gguf-npm.log" 2>&1); then
    npm ping >/dev/null 2>&1 && { cat "${TMPDIR:-/tmp}/baimo-gguf-npm.log"; fail "npm install failed in $JS with the registry reachable"; }
    echo "SKIP: the npm registry is unreachable: no llama.cpp to compare with"
    exit 0
  fi
fi
