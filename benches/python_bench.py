"""The Python package beside the CLI, on the same input, in one run.

    python benches/python_bench.py [--size-mib 64] [--dlp target/release/dlp]

Run it with the interpreter that has the package (`pip install ./python`). It prints: the
package's import time, the engine's build time in Python, and the throughput of one thread on
one text file (the fixtures' text formats repeated to --size-mib) by `Engine.scan_bytes`,
`Engine.scan_text`, `Engine.scan_path` and `dlp scan --threads 1`; then documents per second
for a small PDF scanned 200 times by `scan_bytes` (each through an isolated worker) and by the
CLI on 200 copies on disk. Nothing here is asserted: it is a measurement.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "docs"
TEXT_FIXTURES = ["sample-utf8.txt", "sample.csv", "sample.json", "sample.html", "sample.eml"]


def best(fn, runs=3):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def import_time(runs=15):
    """Median over fresh interpreters of `import dlp`'s cumulative time (`-X importtime`)."""

    def once():
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import dlp"],
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        for line in out.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "dlp":
                return int(parts[1]) / 1e6
        raise RuntimeError(f"no import time for dlp in: {out}")

    return statistics.median(once() for _ in range(runs))


def cli_throughput(dlp, paths, summary):
    started = time.perf_counter()
    subprocess.run(
        [dlp, "scan", "--threads", "1", "--quiet", "--format", "jsonl", "--summary", summary]
        + [str(p) for p in paths],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    with open(summary) as f:
        return elapsed, json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--dlp", default=str(ROOT / "target" / "release" / "dlp"))
    args = parser.parse_args()

    import dlp

    print(f"dlp {dlp.__version__} from {pathlib.Path(dlp.__file__).parent}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"import dlp: {import_time() * 1000:.1f} ms (median of 15 fresh interpreters, -X importtime)")
    build, engine = best(dlp.Engine, runs=5)
    print(f"dlp.Engine() build: {build * 1000:.1f} ms (best of 5; all built-in detectors' default set)")
    build_all, _ = best(lambda: dlp.Engine(detectors=["all"]), runs=5)
    print(f"dlp.Engine(detectors=['all']) build: {build_all * 1000:.1f} ms")

    unit = b"".join((FIXTURES / name).read_bytes() for name in TEXT_FIXTURES)
    size = args.size_mib << 20
    data = (unit * (size // len(unit) + 1))[:size]
    # Cut at a line end, so the text is valid UTF-8 and no value is split.
    data = data[: data.rfind(b"\n") + 1]
    mb = len(data) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        text_file = pathlib.Path(tmp) / "corpus.txt"
        text_file.write_bytes(data)
        summary = str(pathlib.Path(tmp) / "summary.json")

        t, result = best(lambda: engine.scan_bytes(data, name="corpus.txt"))
        n = len(result.findings)
        print(f"\none thread, {mb:.1f} MB of text ({n} findings):")
        print(f"  Engine.scan_bytes        {mb / t:8.1f} MB/s")
        text = data.decode("utf-8")
        t, result = best(lambda: engine.scan_text(text))
        assert len(result.findings) == n
        print(f"  Engine.scan_text         {mb / t:8.1f} MB/s (str to UTF-8 and char offsets included)")
        t, result = best(lambda: engine.scan_path(text_file, threads=1))
        assert len(result.findings) == n
        print(f"  Engine.scan_path         {mb / t:8.1f} MB/s")
        runs = [cli_throughput(args.dlp, [text_file], summary) for _ in range(3)]
        elapsed, cli = min(runs, key=lambda r: r[0])
        assert cli["findings_total"] == n, (cli["findings_total"], n)
        print(f"  dlp scan --threads 1     {mb / elapsed:8.1f} MB/s (whole process; the scan alone "
              f"{cli['throughput_mb_s']:.1f} MB/s)")

        pdf = (FIXTURES / "sample.pdf").read_bytes()
        copies = 200
        engine.scan_bytes(pdf)  # start the worker
        t, results = best(lambda: [engine.scan_bytes(pdf, name="s.pdf") for _ in range(copies)])
        assert all(r.findings for r in results)
        print(f"\n{copies} small PDFs ({len(pdf)} bytes), each through an isolated worker:")
        print(f"  Engine.scan_bytes        {copies / t:8.1f} documents/s")
        pdf_dir = pathlib.Path(tmp) / "pdfs"
        pdf_dir.mkdir()
        for i in range(copies):
            (pdf_dir / f"{i}.pdf").write_bytes(pdf)
        elapsed, cli = min((cli_throughput(args.dlp, [pdf_dir], summary) for _ in range(3)),
                           key=lambda r: r[0])
        print(f"  dlp scan --threads 1     {copies / elapsed:8.1f} documents/s (whole process)")


if __name__ == "__main__":
    main()
