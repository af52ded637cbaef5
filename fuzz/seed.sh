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
# whole_response: [dialect flags] [status 200] [no header] [no cut] [no retry] body;
# dialect 0 openai, 1 anthropic, 2 gemini, 3 ollama, 4 cohere; +6 asks for a stream.
seed_whole() { # dialect-byte, files...
  local flags=$1; shift
  mkdir -p corpus/whole_response
  for f in "$@"; do
    { printf "\\x$(printf %02x "$flags")\\x00\\x00\\x00\\x00\\x00"; cat "$f"; } \
      > "corpus/whole_response/$flags-$(basename "$f")"
  done
}
shopt -s nullglob
i=0
for d in openai anthropic gemini ollama cohere; do
  seed_whole "$i" "$F/$d"/*.json
  seed_whole "$((i + 6))" "$F/$d"/*.sse "$F/$d"/*.ndjson
  i=$((i + 1))
done
