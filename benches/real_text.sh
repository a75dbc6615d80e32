#!/usr/bin/env bash
# Writes 32 MiB of text no generator wrote, from what a Rust machine has on disk: the sources of
# the crates in the cargo registry, the plain-text documentation under /usr/share/doc, then the
# registry's JSON and TOML files. Code-heavy (`::`, hex constants, long identifiers): the other
# side of the generated corpus, which is prose, logs and configuration.
#
#   bash benches/real_text.sh > /tmp/real.txt
#   cargo run --release -p dlp-detect --features bench --example prof -- all file:/tmp/real.txt
#   DLP_PLAN_FILE=/tmp/real.txt cargo run --release -p dlp-detect --features bench --example plan -- --only=all
set -euo pipefail
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
{
  find "$registry" -name '*.rs' -size -200k 2>/dev/null | sort | head -3000 | xargs -r cat
  find /usr/share/doc \( -name '*.txt' -o -name 'README*' -o -name '*.md' \) 2>/dev/null | sort | head -500 | xargs -r cat
  find "$registry" \( -name '*.json' -o -name '*.toml' \) 2>/dev/null | sort | head -2000 | xargs -r cat
} 2>/dev/null | head -c 33554432
