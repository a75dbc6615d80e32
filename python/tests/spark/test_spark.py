"""The proof of `dlp.spark.scan_files` on a Spark cluster on this machine (see spark_support.py for
the cluster), over the fixture documents and a generated tree of 2,000 files
(spark_tree.py: text, CSV, JSON, logs, document copies, empty files, a symbolic link, a 20 MB
file), plus a path that does not exist:

* the findings equal `dlp scan --format jsonl --report-skipped` on the same inputs (path,
  member, detector, start, end, fingerprint), and so do the skips;
* the written table has exactly one status row per input file;
* a task made to fail once (after it yielded rows) is retried, and no row is duplicated;
* a second, incremental run reads no file: a file rewritten at the same size with its
  modification time restored keeps its old findings (it would lose them if read), and once
  its modification time moves it is read again, alone.
"""

# ruff: noqa: F811
from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter

import pytest
from spark_support import require_spark

require_spark()

import pyarrow.parquet as pq  # noqa: E402

import dlp  # noqa: E402
from dlp import spark as dlp_spark  # noqa: E402

# The shared fixtures, imported so that pytest finds them here (the F811 that linters then see
# on every test taking one is that pattern's false alarm).
from spark_support import _isolated_home, dlp_cli, dlp_env, s3_env, spark  # noqa: E402, F401
from spark_tree import FIXTURES, generate  # noqa: E402

FINDING_KEY = ("path", "member", "detector", "start", "end", "fingerprint")


def read_table(path) -> list:
    """The rows of a written result (Parquet files, read without Spark)."""
    return pq.read_table(str(path)).to_pylist()


def findings(rows) -> Counter:
    return Counter(tuple(r[k] for k in FINDING_KEY) for r in rows if r["record"] == "finding")


def status_rows(rows) -> list:
    return [r for r in rows if r["record"] == "file"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("tree") / "t", files=2000)


@pytest.fixture(scope="module")
def inputs(tree, tmp_path_factory):
    missing = tmp_path_factory.mktemp("gone") / "missing.txt"
    return [str(FIXTURES), str(tree.root), str(missing)]


@pytest.fixture(scope="module")
def cli_records(dlp_cli, dlp_env, inputs):
    """`dlp scan --format jsonl --report-skipped` on the inputs, before any test changes them."""
    run = subprocess.run(
        [str(dlp_cli), "scan", "--format", "jsonl", "--report-skipped", "--quiet", *inputs],
        env=dict(os.environ, **dlp_env),
        check=False,
        capture_output=True,
        text=True,
    )
    # 2: one input (the missing path) does not exist; the others are scanned all the same.
    assert run.returncode == 2, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def expected_paths(tree, inputs):
    """Every input file, as the driver's listing must name it: one status row each."""
    paths = set()
    for root in inputs[:2]:
        for d, dirs, files in os.walk(root):
            paths.update(os.path.join(d, f) for f in files)
            # A symbolic link to a directory would be listed as a file-like entry too.
            paths.update(os.path.join(d, x) for x in dirs if os.path.islink(os.path.join(d, x)))
    paths.add(inputs[2])
    return paths


@pytest.fixture(scope="module")
def first_run(spark, tree, inputs, cli_records, tmp_path_factory):
    """scan_files over the inputs, written as Parquet, with partition 1's first attempt made to
    fail after it yielded its first file's rows."""
    fail_dir = tmp_path_factory.mktemp("fail-once")
    out = tmp_path_factory.mktemp("runs") / "run1"
    started = time.monotonic()
    df = dlp_spark.scan_files(spark, inputs, _fail_once_dir=str(fail_dir), _fail_once_partition=1)
    df.write.parquet(str(out))
    elapsed = time.monotonic() - started
    rows = read_table(out)
    print(f"first run: {len(status_rows(rows))} files in {elapsed:.1f}s")
    return {"out": out, "rows": rows, "fail_dir": fail_dir, "elapsed": elapsed}


def test_findings_equal_the_cli(first_run, cli_records):
    expected = findings(cli_records)
    got = findings(first_run["rows"])
    assert sum(expected.values()) > 10_000, "the generated tree plants many values"
    missing, extra = expected - got, got - expected
    assert not missing and not extra, (
        f"{sum(missing.values())} findings of the CLI missing, e.g. {list(missing)[:3]}; "
        f"{sum(extra.values())} extra, e.g. {list(extra)[:3]}"
    )


def test_skips_equal_the_cli(first_run, cli_records):
    cli_files = {
        (r["path"], r["reason"])
        for r in cli_records
        if r["record"] == "skipped" and not r["member"]
    }
    cli_members = Counter(
        (r["path"], r["member"], r["reason"])
        for r in cli_records
        if r["record"] == "skipped" and r["member"]
    )
    rows = first_run["rows"]
    skipped = {(r["path"], r["reason"]) for r in status_rows(rows) if r["status"] == "skipped"}
    members = Counter(
        (r["path"], r["member"], r["reason"]) for r in rows if r["record"] == "skipped"
    )
    assert skipped == cli_files
    assert {reason for _, reason in skipped} >= {"not_found", "not_a_file"}
    assert members == cli_members


def test_one_status_row_per_file(first_run, expected_paths, tree):
    statuses = status_rows(first_run["rows"])
    counts = Counter(r["path"] for r in statuses)
    assert [p for p, n in counts.items() if n > 1] == []
    assert set(counts) == expected_paths
    assert len(statuses) == len(expected_paths) >= 2000
    big = next(r for r in statuses if r["path"] == str(tree.big))
    assert big["status"] == "scanned" and big["bytes"] == big["size"] > 20_000_000
    scanned = [r for r in statuses if r["status"] == "scanned"]
    assert all(r["config_id"] and r["reused"] is False for r in statuses)
    assert all(r["size"] is not None and r["mtime_ns"] is not None for r in scanned)


def test_failed_task_is_retried_without_duplicates(first_run, cli_records):
    marks = sorted(os.listdir(first_run["fail_dir"]))
    assert "partition-1.failed" in marks, f"the injected failure did not happen: {marks}"
    retries = [m for m in marks if m.startswith("partition-1.attempt-")]
    assert retries, f"partition 1 was not attempted again after its failure: {marks}"
    # The failed attempt had yielded its first file's rows: none of them is in the table twice.
    rows = first_run["rows"]
    assert max(Counter(r["path"] for r in status_rows(rows)).values()) == 1
    assert findings(rows) == findings(cli_records)


def test_incremental_run_reads_no_file(spark, first_run, inputs, tree, tmp_path_factory):
    # Rewrite a file at the same size, then give it back its modification time: read again, it
    # would lose its card finding.
    before = tree.mutable.stat()
    content = tree.mutable.read_bytes()
    assert tree.mutable_card in content
    changed = content.replace(tree.mutable_card, b"x" * len(tree.mutable_card))
    tree.mutable.write_bytes(changed)
    os.utime(tree.mutable, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert tree.mutable.stat().st_size == before.st_size

    out = tmp_path_factory.mktemp("runs") / "run2"
    started = time.monotonic()
    dlp_spark.scan_files(spark, inputs, previous=str(first_run["out"])).write.parquet(str(out))
    print(f"incremental run: {time.monotonic() - started:.1f}s")
    rows = read_table(out)

    statuses = status_rows(rows)
    read = [r for r in statuses if not r["reused"]]
    # Only the inputs that are no file to read are looked at again: the missing path, the link.
    assert {(r["status"], r["reason"]) for r in read} <= {
        ("skipped", "not_found"),
        ("skipped", "not_a_file"),
    }, [r["path"] for r in read if r["status"] == "scanned"][:5]
    assert len(read) == 2
    assert Counter(r["path"] for r in statuses) == Counter(
        r["path"] for r in status_rows(first_run["rows"])
    )
    assert findings(rows) == findings(first_run["rows"])
    assert any(r["path"] == str(tree.mutable) for r in rows if r["record"] == "finding")

    # Its modification time moves: it is read again, and alone.
    os.utime(tree.mutable, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    out3 = tmp_path_factory.mktemp("runs") / "run3"
    dlp_spark.scan_files(spark, inputs, previous=str(out)).write.parquet(str(out3))
    rows3 = read_table(out3)
    reread = [r["path"] for r in status_rows(rows3) if not r["reused"] and r["status"] == "scanned"]
    assert reread == [str(tree.mutable)]
    expected = findings(first_run["rows"])
    expected = Counter({k: n for k, n in expected.items() if k[0] != str(tree.mutable)})
    assert findings(rows3) == expected


def test_each_bin_is_one_partition(spark, tree):
    from pyspark.sql import functions as F

    listed = dlp_spark._list([str(tree.root)])
    bins = dlp_spark._pack(listed, 8, dlp_spark._DEFAULT_FILE_COST)
    plan = dlp_spark._plan_frame(spark, bins)
    assert plan.rdd.getNumPartitions() == len(bins) == 8
    placed = plan.select("path", F.spark_partition_id().alias("p")).collect()
    assert len(placed) == len(listed)
    for row in placed:
        assert row["path"] in {f[0] for f in bins[row["p"]]}
    # The big file is in the first (heaviest) partition, which it nearly fills by itself.
    assert bins[0][0][0] == str(tree.big)


def test_other_kinds_of_input(spark, tree, tmp_path_factory):
    """A glob and a DataFrame of paths list the same files as the directory they select."""
    d = tree.root / "d3"
    expected = sorted(str(p) for p in d.rglob("*.csv"))
    assert expected
    by_glob = dlp_spark.scan_files(spark, str(d / "**" / "*.csv"))
    frame = spark.createDataFrame([(p,) for p in expected], "path string")
    by_frame = dlp_spark.scan_files(spark, frame)
    for df in (by_glob, by_frame):
        rows = [r.asDict() for r in df.collect()]
        assert sorted(r["path"] for r in status_rows(rows)) == expected


def test_bad_rules_fail_on_the_driver(spark, tmp_path):
    with pytest.raises(dlp.RulesError):
        dlp_spark.scan_files(spark, str(tmp_path), detectors=["no_such_detector"])


def test_pack_balances_and_isolates_huge_files():
    files = [(f"f{i}", 1000 + i, 0, None, None) for i in range(100)]
    files += [("huge1", 10**9, 0, None, None), ("huge2", 5 * 10**8, 0, None, None)]
    bins = dlp_spark._pack(files, 6, 0)
    assert sorted(f for b in bins for f in b) == sorted(files)
    assert bins[0] == [("huge1", 10**9, 0, None, None)]
    assert bins[1] == [("huge2", 5 * 10**8, 0, None, None)]
    loads = [sum(f[1] for f in b) for b in bins[2:]]
    assert max(loads) - min(loads) <= 1100  # greedy largest-first: within one file
    assert dlp_spark._pack(files, 6, 0) == bins  # deterministic
    assert dlp_spark._pack([], 4, 0) == []
    assert len(dlp_spark._pack(files[:3], 10, 0)) == 3  # never more bins than files


def test_objects_on_s3_are_read_by_the_executors(spark, s3_env, dlp_cli, dlp_env, tmp_path):
    """An s3:// prefix is listed on the driver and its objects read by the executors, through
    dlp-store (object_store), with the findings of `dlp scan s3://...` on the same objects."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"])
    s3.create_bucket(Bucket="spark-in")
    names = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())
    for name in names:
        s3.put_object(Bucket="spark-in", Key=f"docs/{name}", Body=(FIXTURES / name).read_bytes())
    out = tmp_path / "s3-run"
    dlp_spark.scan_files(spark, "s3://spark-in/docs/").write.parquet(str(out))
    rows = read_table(out)
    assert sorted(r["path"] for r in status_rows(rows)) == [f"s3://spark-in/docs/{n}" for n in names]
    assert all(r["status"] == "scanned" for r in status_rows(rows))
    cli = subprocess.run(
        [str(dlp_cli), "scan", "--format", "jsonl", "--quiet", "s3://spark-in/docs/"],
        env=dict(os.environ, **dlp_env, **s3_env),
        check=False,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    records = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    expected = findings(records)
    assert sum(expected.values()) > 20
    assert findings(rows) == expected
