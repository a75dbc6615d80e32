#!/usr/bin/env bash
# Writes text no generator wrote, from what a Debian machine with Rust has on disk:
#
#   bash benches/real_text.sh [code] > /tmp/code.txt   # up to 32 MiB: the cargo registry's Rust
#                                                      # sources, /usr/share/doc, JSON and TOML
#   bash benches/real_text.sh prose > /tmp/prose.txt   # 16 MiB: /usr/share/doc's text files,
#                                                      # copyright files and changelogs
#
# Code is full of `::`, hex constants and long identifiers; the documentation and changelogs of
# packages are prose with e-mail addresses, dates and version numbers: both the other side of the
# generated corpus (prose, logs and configuration with planted values). For example:
#
#   cargo run --release -p dlp-detect --features bench --example prof -- all file:/tmp/code.txt
#   DLP_PLAN_FILE=/tmp/code.txt cargo run --release -p dlp-detect --features bench --example plan -- --only=all
set -euo pipefail
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
case "${1:-code}" in
  code)
    {
      find "$registry" -name '*.rs' -size -200k 2>/dev/null | sort | head -3000 | xargs -r cat
      find /usr/share/doc \( -name '*.txt' -o -name 'README*' -o -name '*.md' \) 2>/dev/null | sort | head -500 | xargs -r cat
      find "$registry" \( -name '*.json' -o -name '*.toml' \) 2>/dev/null | sort | head -2000 | xargs -r cat
    } 2>/dev/null | head -c 33554432
    ;;
  prose)
    {
      find /usr/share/doc \( -name '*.txt' -o -name 'README*' -o -name '*.md' -o -name copyright -o -name 'changelog*' \) -not -name '*.gz' 2>/dev/null | sort | xargs -r cat
      find /usr/share/doc -name 'changelog*.gz' 2>/dev/null | sort | xargs -r zcat
    } 2>/dev/null | head -c 16777216
    ;;
  *)
    echo "usage: bash benches/real_text.sh [code|prose]" >&2
    exit 2
    ;;
esac
