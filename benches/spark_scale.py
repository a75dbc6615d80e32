#!/usr/bin/env python3
"""Files/s and MB/s of `dlp.spark.scan_files` with 1 and 2 executors, beside `dlp scan` (one
process, 1 and 2 threads) on the same files: the figures of docs/scale-out.md.

Usage (after `bash .ci/spark`, which builds the CLI and installs pyspark and the package):

    target/spark-venv/bin/python benches/spark_scale.py [--files 20000] [--big-mb 20]
        [--repeat 3] [--dir DIR] [--json FILE]

The corpus is python/tests/spark/spark_tree.py's generated tree (seeded: text, CSV, JSON and
log files with planted values, copies of the fixture documents, empty files, one large file),
written to DIR (default: a temporary directory) and read from the page cache by every run.
Each Spark run is a child process with its own `local-cluster[N,1,1024]` (N executors of one
core and 1 GiB each); its time is `scan_files(...)` plus `.write.parquet(...)`, listing on the
driver included, after a warm-up scan that starts the executors' Python workers and engines
(as in a long job, where that cost is paid once). Before anything is timed, each run's finding
count must equal the CLI's. The best of --repeat runs is reported, with the load average,
since this machine is shared, and with the CPU seconds the run took (user + system, of the CLI;
of the whole Spark process tree: driver, executors, Python workers, dlp's document workers):
on 2 cores a single executor already keeps both busy (the engine scans on its own thread while
the Python worker turns results into Arrow and the JVM writes Parquet), so the per-core cost,
files and MB per CPU-second, is the figure a model of a larger cluster starts from.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python" / "tests" / "spark"))
KEY = "5a" * 32


def corpus_size(root: Path):
    files = size = 0
    for d, _, names in os.walk(root):
        for n in names:
            p = Path(d) / n
            if p.is_file() and not p.is_symlink():
                files += 1
                size += p.stat().st_size
    return files, size


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and every live descendant, with what each
    has reaped: the driver JVM, the executors, their Python workers and dlp's workers."""
    parent, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parent[pid] = int(fields[1])
        cpu[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    me = os.getpid()

    def mine(pid):
        while pid > 1:
            if pid == me:
                return True
            pid = parent.get(pid, 0)
        return False

    return sum(t for pid, t in cpu.items() if mine(pid)) / os.sysconf("SC_CLK_TCK")


def run_cli(cli: Path, root: Path, threads: int, env: dict):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(
        [str(cli), "scan", "--format", "jsonl", "--quiet", "--threads", str(threads), str(root)],
        env=env,
        check=True,
        capture_output=True,
    ).stdout
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, out.count(b'"record":"finding"')


def spark_child(args) -> None:
    """One Spark run (in a child process): prints a JSON line per timed repetition."""
    import pyspark
    from pyspark.sql import SparkSession

    import pyarrow.parquet as pq
    from dlp.spark import _list, scan_files

    n = args.spark_child
    work = tempfile.mkdtemp(prefix="spark-bench-")
    os.environ.setdefault("SPARK_HOME", os.path.dirname(pyspark.__file__))
    os.environ.update(
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_WORKER_DIR=work,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    builder = (
        SparkSession.builder.master(f"local-cluster[{n},1,1024]")
        .appName("dlp-spark-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.executor.memory", "1g")
        .config("spark.local.dir", work)
    )
    for name in ("DLP_FINGERPRINT_KEY", "DLP_HOME"):
        builder = builder.config(f"spark.executorEnv.{name}", os.environ[name])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    deadline = time.monotonic() + 180
    while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1 < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"local-cluster[{n},1,1024] did not start {n} executors")
        time.sleep(0.5)
    # Warm-up: every executor's Python worker starts and builds its engine.
    scan_files(spark, str(REPO / "fixtures" / "docs"), partitions=4 * n).collect()
    for i in range(args.repeat):
        out = os.path.join(work, f"out{i}")
        cpu = tree_cpu()
        started = time.monotonic()
        listed = _list(args.dir)
        listing = time.monotonic() - started
        scan_files(spark, args.dir).write.parquet(out)
        elapsed = time.monotonic() - started
        cpu = tree_cpu() - cpu
        table = pq.read_table(out, columns=["record"]).column("record").to_pylist()
        print(
            json.dumps(
                {
                    "executors": n,
                    "elapsed": elapsed,
                    "cpu": cpu,
                    "listing": listing,
                    "files": len(listed),
                    "findings": table.count("finding"),
                    "status_rows": table.count("file"),
                }
            ),
            flush=True,
        )
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--big-mb", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", help="where the corpus is (generated when absent)")
    ap.add_argument("--json", help="also write the results here as JSON")
    ap.add_argument("--spark-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("DLP_FINGERPRINT_KEY", KEY)
    os.environ.setdefault("DLP_HOME", tempfile.mkdtemp(prefix="dlp-home-"))
    if args.spark_child:
        spark_child(args)
        return

    from spark_tree import generate

    temporary = None
    if args.dir is None:
        temporary = tempfile.mkdtemp(prefix="dlp-spark-corpus-")
        args.dir = os.path.join(temporary, "corpus")
    root = Path(args.dir)
    if not root.exists():
        generate(root, files=args.files, big_mb=args.big_mb)
    files, size = corpus_size(root)
    cli = REPO / "target" / "release" / "dlp"
    env = dict(os.environ)
    print(
        f"corpus: {files} files, {size / 1e6:.1f} MB in {root}; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    results = []
    expected = None
    for threads in (1, 2):
        runs = [run_cli(cli, root, threads, env) for _ in range(args.repeat)]
        counts = {c for _, _, c in runs}
        assert len(counts) == 1, f"the CLI's finding count varies: {counts}"
        expected = counts.pop()
        best = min(runs)
        results.append(
            {
                "what": f"dlp scan --threads {threads}",
                "elapsed": best[0],
                "cpu": best[1],
                "findings": expected,
                "all": [t for t, _, _ in runs],
            }
        )
        print(json.dumps(results[-1]), flush=True)
    for n in (1, 2):
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--spark-child",
                str(n),
                "--dir",
                str(root),
                "--repeat",
                str(args.repeat),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        runs = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
        for r in runs:
            assert r["findings"] == expected, (
                f"{n} executors found {r['findings']}, the CLI {expected}"
            )
            assert r["status_rows"] == r["files"] >= files, r  # the listing has the link too
        best = min(runs, key=lambda r: r["elapsed"])
        results.append(
            {
                "what": f"scan_files, local-cluster[{n},1,1024]",
                "elapsed": best["elapsed"],
                "cpu": best["cpu"],
                "listing": best["listing"],
                "findings": best["findings"],
                "all": [r["elapsed"] for r in runs],
            }
        )
        print(json.dumps(results[-1]), flush=True)

    print(f"\n{files} files, {size / 1e6:.1f} MB, {expected} findings; best of {args.repeat}\n")
    print("| run | seconds | files/s | MB/s | CPU seconds | files per CPU-s | MB per CPU-s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        r.update(
            files=files,
            bytes=size,
            files_per_s=files / r["elapsed"],
            mb_per_s=size / 1e6 / r["elapsed"],
            files_per_cpu_s=files / r["cpu"],
            mb_per_cpu_s=size / 1e6 / r["cpu"],
        )
        print(
            f"| {r['what']} | {r['elapsed']:.2f} | {r['files_per_s']:,.0f} | {r['mb_per_s']:.1f} "
            f"| {r['cpu']:.1f} | {r['files_per_cpu_s']:,.0f} | {r['mb_per_cpu_s']:.1f} |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if temporary:
        shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    main()
