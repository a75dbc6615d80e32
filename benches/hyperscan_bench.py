#!/usr/bin/env python3
"""Hyperscan on the corpus and patterns that `dlp bench --compare hyperscan` wrote.

Usage: hyperscan_bench.py --patterns patterns.json --corpus corpus.bin [--repeat 3]

patterns.json is a list of {"id": ..., "regex": ...}: the exact regexes of the engine's
compiled patterns (no validators). Every pattern is first compiled alone, so that those that
Hyperscan rejects are reported by id and left out; the rest are compiled into one block-mode
database, timed, and scanned over the whole corpus in one call (best of --repeat), with no match
handler: Hyperscan finds every match but calls no Python function for each (a native caller's
cost, not the interpreter's). One more scan, untimed as such, counts the matches as Hyperscan
reports them: one per end offset (no start-of-match tracking), so the count is not comparable
with findings; its speed is given too (`mb_per_s_with_python_callback`). Prints one JSON object
on stdout.

Install the binding with benches/install-hyperscan.sh (PyPI `hyperscan`).
"""

import argparse
import json
import sys
import time


def translate(regex):
    """Rust regex syntax to Hyperscan's PCRE dialect, where they differ in spelling only."""
    # `(?-u:...)` (bytes instead of Unicode classes) has no PCRE spelling; ASCII is the default.
    regex = regex.replace("(?-u:", "(?:").replace("(?-u)", "")
    return regex


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patterns", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import hyperscan
    except ImportError:
        print(json.dumps({"error": "the Python package `hyperscan` is not installed; "
                                   "run `bash benches/install-hyperscan.sh`"}))
        return 3

    with open(args.patterns, encoding="utf-8") as f:
        patterns = json.load(f)
    with open(args.corpus, "rb") as f:
        data = f.read()

    accepted, rejected = [], []
    for p in patterns:
        expr = translate(p["regex"]).encode("utf-8")
        try:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[expr], ids=[0], elements=1, flags=[0])
            accepted.append((p["id"], expr))
        except Exception as e:  # hyperscan.error and its subclasses
            rejected.append({"id": p["id"], "error": str(e)})
    if not accepted:
        print(json.dumps({"error": "Hyperscan rejected every pattern", "rejected": rejected}))
        return 4

    exprs = [e for _, e in accepted]
    t0 = time.perf_counter()
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs),
               flags=[0] * len(exprs))
    compile_s = time.perf_counter() - t0

    count = [0]

    def on_match(_id, _start, _end, _flags, _context):
        count[0] += 1

    # The timed scans report matches to no handler (the binding passes Hyperscan a null
    # callback): Hyperscan still finds every match, but a Python call per match would add the
    # interpreter's cost to Hyperscan's figure. One more scan, untimed, counts the matches.
    best = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        db.scan(data)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    t0 = time.perf_counter()
    db.scan(data, match_event_handler=on_match)
    with_callback = time.perf_counter() - t0

    print(json.dumps({
        "version": getattr(hyperscan, "__version__", "?"),
        "patterns": len(patterns),
        "compiled": len(exprs),
        "rejected": rejected,
        "compile_seconds": compile_s,
        "bytes": len(data),
        "scan_seconds": best,
        "mb_per_s": len(data) / 1e6 / best if best > 0 else None,
        "matches": count[0],
        "mb_per_s_with_python_callback": len(data) / 1e6 / with_callback
        if with_callback > 0 else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
