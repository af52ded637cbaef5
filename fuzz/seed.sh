#!/usr/bin/env bash
# Seed each fuzz target's corpus from the conformance fixtures (prefix byte 0x40
# so the first split lands inside the body).
set -euo pipefail
cd "$(dirname "$0")"
seed() { # target, files...
  local target=$1; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do
    { printf '\x40'; cat "$f"; } > "corpus/$target/$(basename "$f")"
  done
}
F=../tests/fixtures
for d in openai anthropic gemini ollama cohere; do seed "$d" "$F/$d"/*; done
seed sse_framing "$F"/*/*.sse
seed ndjson_framing "$F"/ollama/*.ndjson
