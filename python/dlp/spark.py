"""Bulk scans on Apache Spark: :func:`scan_files` spreads files over the executors.

>>> from dlp.spark import scan_files
>>> df = scan_files(spark, "/mnt/share/exports", detectors=["default", "country:DE"])
>>> df.write.parquet("/mnt/share/dlp/run-2")                      # doctest: +SKIP
>>> again = scan_files(spark, "/mnt/share/exports", previous="/mnt/share/dlp/run-2",
...                    detectors=["default", "country:DE"])       # doctest: +SKIP

The result has one row per finding (``record = "finding"``: the fields of ``dlp scan --format
jsonl``), one row per skipped member of an archive or document (``record = "skipped"``) and
exactly one status row per input file (``record = "file"``: ``status`` is ``scanned`` or
``skipped``, ``reason`` and ``detail`` say why a file was skipped, ``bytes`` what was read,
``size`` and ``mtime_ns`` what the listing saw, ``elapsed`` the seconds it took, ``config_id``
the engine's :attr:`dlp.Engine.config_id`, ``reused`` whether the row was carried over from
``previous``). Columns that do not apply to a record are null. See :data:`OUTPUT_SCHEMA`.

How the work is done, and what this module must never do:

* **Listing is on the driver, and only metadata**: paths, sizes and modification times, never
  contents. ``paths`` is a local path (a file, or a directory walked recursively: symbolic
  links and special files inside it are not followed but reported as ``not_a_file`` skips, as
  ``dlp scan`` does), a glob (``*``, ``?``, ``[``; ``**`` crosses directories), an ``s3://``
  prefix (listed with :func:`dlp.list_objects`), a list of any of these, or a DataFrame with a
  ``path`` column (collected to the driver; its ``size`` and ``mtime_ns`` columns are used when
  it has both, else each path is looked up on the driver like a path given in a list). A path
  given explicitly that does not exist, or a glob that matches nothing, still gets its status
  row (``skipped``, ``not_found``). Local paths must name the same files on the driver and on
  every executor: a shared file system (NFS, a FUSE mount such as ``/dbfs/...``) or ``s3://``.
* **Files are read by the executors**, by the engine in a Python worker, never through the
  driver: ``engine.iter_path`` over the files of each Arrow batch of a partition (one engine
  batch for up to ``spark.sql.execution.arrow.maxRecordsPerBatch`` files, since a call per
  file would pay the batch's set-up for each). The engine is built on the driver (so that bad
  rules or selectors fail at once, with :class:`dlp.RulesError`), pickled as its
  configuration, and rebuilt once per Python worker process (``spark.python.worker.reuse``, on
  by default, keeps that process from task to task). It starts ``spark.task.cpus`` document
  workers (unless ``workers`` is given) and scans as many files at once (unless ``threads``
  is given). An executor whose engine would produce other fingerprints than the driver's
  (another ``config_id``: a different key, another dlp version) fails its task with an
  explanation rather than writing rows that do not compare.
* **Partitions are packed by size**: every file weighs its size plus ``file_cost`` bytes (the
  per-file overhead, in bytes of scanning); the number of partitions is ``partitions`` or else
  the larger of 4 × ``spark.default.parallelism`` and total weight / ``partition_bytes``, at
  most one per file. A file that weighs at least a partition's share is alone in its
  partition; the rest are packed greedily, heaviest first, into the least loaded partition.
  Each bin becomes exactly one Spark partition (``parallelize`` with one slice per bin, then
  ``flatMap``: no shuffle; this needs the classic API, not Spark Connect), heaviest first, so
  that the largest files start first and one huge file never holds a partition of small ones
  back. A single file is never split: the slowest file bounds the job.
* **Work runs in** ``mapInArrow``: Arrow batches of listed files in, Arrow batches of result
  rows out (4,096 rows at most each). A partition's rows depend only on its files' contents
  (apart from ``elapsed``), so a retried or speculative attempt produces the same rows; written
  with ``df.write`` they go through Spark's commit protocol, which keeps exactly one attempt per
  partition, so task retries and speculation never duplicate rows in the written table. The
  returned DataFrame is lazy: each action scans again, so write it (or persist it) once.
* **An engine error** (:class:`dlp.Error` from ``iter_path``; missing, unreadable, too large,
  broken or hostile files are ordinary skips, not errors) is recorded as a ``skipped`` row with
  reason ``error`` and the message as ``detail`` for each file of the batch not yet reported,
  rather than failing the job. A listed file that is a directory by the time it is scanned is
  a ``not_a_file`` skip.
* **Incremental rescans**: with ``previous`` (an earlier result: a DataFrame, or the path of
  the Parquet it was written to), a file whose ``path``, ``size`` and ``mtime_ns`` equal those
  of its status row in ``previous``, with the same ``config_id`` (same rules, options,
  fingerprint key and engine version), is not read again when that row says ``scanned``, or
  ``skipped`` for a reason that the same bytes always give (``too_large``, ``filtered_type``,
  ``unsupported_format``, ``encrypted``, ``broken_file``, ``limit_exceeded``, ``no_text``) and
  no member of it was skipped for another reason: its previous rows (status row, findings,
  member skips) are carried into the result with ``reused = true``. Files skipped for a reason
  of the moment or the machine (``not_found``, ``unreadable``, ``not_a_file``, ``timeout``,
  ``ocr_unavailable``, ``error``) are always tried again. ``previous`` must be one result of
  :func:`scan_files` (one status row per path); write the new result to a new location, not
  over the one being read. A file rewritten within the same modification-time tick at the
  same size is not noticed (as with rsync and git).

Options that start with an underscore are for tests: ``_fail_once_dir`` (with
``_fail_once_partition``, default 0) makes the first attempt of that partition's task fail
after yielding its first file's rows, once per directory: it creates
``partition-N.failed`` there, and each later attempt writes ``partition-N.attempt-K``.
"""

from __future__ import annotations

import glob
import heapq
import math
import os
import stat
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import dlp

__all__ = ["OUTPUT_SCHEMA", "scan_files"]  # noqa: F822 (OUTPUT_SCHEMA: module __getattr__)

# The output columns, in order: (name, type); types map to Spark and Arrow types below.
_COLUMNS = (
    ("record", "string"),
    ("path", "string"),
    ("member", "string"),
    ("detector", "string"),
    ("category", "string"),
    ("confidence", "string"),
    ("start", "long"),
    ("end", "long"),
    ("line", "long"),
    ("column", "long"),
    ("location", "string"),
    ("masked", "string"),
    ("fingerprint", "string"),
    ("ocr", "boolean"),
    ("status", "string"),
    ("reason", "string"),
    ("detail", "string"),
    ("file_type", "string"),
    ("bytes", "long"),
    ("size", "long"),
    ("mtime_ns", "long"),
    ("elapsed", "double"),
    ("config_id", "string"),
    ("reused", "boolean"),
)
_FINDING_FIELDS = (
    "member",
    "detector",
    "category",
    "confidence",
    "start",
    "end",
    "line",
    "column",
    "location",
    "masked",
    "fingerprint",
    "ocr",
)

# The planned files, one row each: what the executors receive.
_PLAN_COLUMNS = (
    ("path", "string"),
    ("size", "long"),
    ("mtime_ns", "long"),
    ("skip", "string"),  # a reason known from the listing (not_a_file, unreadable): not read
    ("skip_detail", "string"),
)

_BATCH_ROWS = 4096
_NO_LONGER_A_FILE = "a file when listed, no longer one when scanned"
_DEFAULT_FILE_COST = 64 * 1024
_DEFAULT_PARTITION_BYTES = 128 * 1024 * 1024
_PARTITIONS_PER_CORE = 4


def _spark_type(name: str):
    from pyspark.sql import types as T

    return {
        "string": T.StringType(),
        "long": T.LongType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
    }[name]


def _arrow_type(name: str):
    import pyarrow as pa

    return {
        "string": pa.string(),
        "long": pa.int64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
    }[name]


def _struct(columns):
    from pyspark.sql import types as T

    return T.StructType([T.StructField(n, _spark_type(t), True) for n, t in columns])


def _output_schema():
    return _struct(_COLUMNS)


def __getattr__(name: str):
    # OUTPUT_SCHEMA is a pyspark StructType, built on first use so that importing this module
    # does not need pyspark until it is used.
    if name == "OUTPUT_SCHEMA":
        return _output_schema()
    raise AttributeError(f"module 'dlp.spark' has no attribute {name!r}")


# A listed file: (path, size, mtime_ns, skip reason, skip detail); size and mtime_ns are None
# when the listing could not see the file (then the executor's scan says why).
_Listed = Tuple[str, Optional[int], Optional[int], Optional[str], Optional[str]]


def _is_s3(path: str) -> bool:
    return path.startswith("s3://")


def _walk(root: str, out: List[_Listed]) -> None:
    """Every file under a directory, as `dlp scan` walks it: sorted by name, symbolic links and
    special files reported rather than followed."""
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        out.append((root, None, None, "unreadable", e.strerror or str(e)))
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, out)
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                out.append((entry.path, st.st_size, st.st_mtime_ns, None, None))
            else:
                out.append(
                    (
                        entry.path,
                        None,
                        None,
                        "not_a_file",
                        "symbolic link or special file, not followed",
                    )
                )
        except OSError as e:
            out.append((entry.path, None, None, "unreadable", e.strerror or str(e)))


def _list_local(path: str, out: List[_Listed]) -> None:
    try:
        st = os.stat(path)
    except OSError:
        # Missing or unreadable: the executor's scan reports which, as `dlp scan` does.
        out.append((path, None, None, None, None))
        return
    if stat.S_ISREG(st.st_mode):
        out.append((path, st.st_size, st.st_mtime_ns, None, None))
    elif stat.S_ISDIR(st.st_mode):
        _walk(path, out)
    else:
        out.append((path, None, None, "not_a_file", "not a regular file"))


def _list_objects(prefix: str):
    list_objects = getattr(dlp, "list_objects", None)
    if list_objects is None:
        raise dlp.InputError(
            f"{prefix}: this dlp package was built without object storage (no dlp.list_objects)"
        )
    return list_objects(prefix)


def _list_one(path: Union[str, os.PathLike], out: List[_Listed]) -> None:
    path = os.fspath(path)
    if _is_s3(path):
        found = _list_objects(path)
        if not found:
            out.append((path, None, None, None, None))
        out.extend((url, size, mtime, None, None) for url, size, mtime in found)
    elif glob.has_magic(path) and not os.path.lexists(path):
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            out.append((path, None, None, None, None))
        for match in matches:
            _list_local(match, out)
    else:
        _list_local(path, out)


def _s3_object(url: str) -> _Listed:
    for found, size, mtime in _list_objects(url):
        if found == url:
            return (url, size, mtime, None, None)
    return (url, None, None, None, None)


def _list_frame(frame) -> List[_Listed]:
    columns = set(frame.columns)
    if "path" not in columns:
        raise dlp.InputError(
            f"scan_files: the DataFrame has no `path` column (it has {sorted(columns)})"
        )
    out: List[_Listed] = []
    if {"size", "mtime_ns"} <= columns:
        for row in frame.select("path", "size", "mtime_ns").toLocalIterator():
            if row["path"] is not None:
                out.append((row["path"], row["size"], row["mtime_ns"], None, None))
        return out
    for row in frame.select("path").toLocalIterator():
        path = row["path"]
        if path is None:
            continue
        if _is_s3(path):
            out.append(_s3_object(path))
        else:
            _list_local(path, out)
    return out


def _list(paths) -> List[_Listed]:
    """The files to scan, once each, in a stable order."""
    from pyspark.sql import DataFrame

    if isinstance(paths, DataFrame):
        listed = _list_frame(paths)
    elif isinstance(paths, (str, os.PathLike)):
        listed = []
        _list_one(paths, listed)
    else:
        listed = []
        for path in paths:
            _list_one(path, listed)
    seen = set()
    unique = []
    for item in listed:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def _pack(files: Sequence[_Listed], partitions: int, file_cost: int) -> List[List[_Listed]]:
    """Bins of files of about equal weight (size + file_cost), heaviest bin first.

    A file that weighs at least an equal share of the total is alone in its bin; the others go
    largest first into the least loaded bin (longest-processing-time-first scheduling)."""
    if not files:
        return []

    def weight(f: _Listed) -> int:
        return (f[1] or 0) + file_cost

    partitions = max(1, min(partitions, len(files)))
    order = sorted(files, key=lambda f: (-weight(f), f[0]))
    share = sum(weight(f) for f in order) / partitions
    alone = [f for f in order if weight(f) >= share][: partitions - 1]
    rest = order[len(alone) :]
    bins: List[Tuple[int, List[_Listed]]] = [(weight(f), [f]) for f in alone]
    heap = [(0, i) for i in range(max(1, partitions - len(alone)))]
    packed: List[List[_Listed]] = [[] for _ in heap]
    loads = [0] * len(heap)
    for f in rest:
        load, i = heapq.heappop(heap)
        packed[i].append(f)
        loads[i] = load + weight(f)
        heapq.heappush(heap, (loads[i], i))
    bins.extend((loads[i], packed[i]) for i in range(len(packed)) if packed[i])
    bins.sort(key=lambda b: -b[0])
    return [files_ for _, files_ in bins]


def _partition_count(spark, files: Sequence[_Listed], file_cost: int, partition_bytes: int) -> int:
    total = sum((f[1] or 0) + file_cost for f in files)
    by_cores = _PARTITIONS_PER_CORE * spark.sparkContext.defaultParallelism
    return max(by_cores, math.ceil(total / max(1, partition_bytes)))


def _plan_frame(spark, bins: List[List[_Listed]]):
    """A DataFrame of the planned files whose partition i holds exactly bin i."""
    if not bins:
        return spark.createDataFrame([], _struct(_PLAN_COLUMNS))
    sc = spark.sparkContext
    # One element per slice: parallelize pickles a list of n elements into n batches of one,
    # and slices them one per partition; flatMap keeps the partitioning.
    rdd = sc.parallelize(bins, len(bins)).flatMap(lambda files: files)
    return spark.createDataFrame(rdd, _struct(_PLAN_COLUMNS), verifySchema=False)


class _Rows:
    """Output rows gathered column by column, handed out as Arrow record batches."""

    def __init__(self) -> None:
        self.columns = {name: [] for name, _ in _COLUMNS}
        self.count = 0

    def add(self, **values: Any) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))
        self.count += 1

    def add_findings(self, path: str, findings, config_id: str) -> None:
        """A file's findings, a column at a time (they are most of the rows)."""
        n = len(findings)
        if not n:
            return
        given = {
            "record": ["finding"] * n,
            "path": [path] * n,
            "config_id": [config_id] * n,
            "reused": [False] * n,
        }
        for name in _FINDING_FIELDS:
            given[name] = [getattr(f, name) for f in findings]
        nulls = [None] * n
        for name, column in self.columns.items():
            column.extend(given.get(name, nulls))
        self.count += n

    def batch(self):
        import pyarrow as pa

        schema = pa.schema([(n, _arrow_type(t)) for n, t in _COLUMNS])
        batch = pa.RecordBatch.from_pydict(self.columns, schema=schema)
        self.columns = {name: [] for name, _ in _COLUMNS}
        self.count = 0
        return batch


def _add_result(rows: _Rows, path: str, size, mtime_ns, result, config_id: str) -> None:
    rows.add_findings(path, result.findings, config_id)
    own_detail = None
    for s in result.skipped:
        if s.member is None:
            own_detail = own_detail or s.detail
            continue
        rows.add(
            record="skipped",
            path=path,
            member=s.member,
            reason=s.reason,
            detail=s.detail,
            config_id=config_id,
            reused=False,
        )
    rows.add(
        record="file",
        path=path,
        status=result.status,
        reason=result.reason,
        detail=own_detail if result.status == "skipped" else None,
        file_type=result.file_type,
        bytes=result.bytes,
        size=size,
        mtime_ns=mtime_ns,
        elapsed=result.elapsed,
        config_id=config_id,
        reused=False,
    )


def _file_row(rows: _Rows, path, size, mtime_ns, reason, detail, config_id) -> None:
    rows.add(
        record="file",
        path=path,
        status="skipped",
        reason=reason,
        detail=detail,
        bytes=0,
        size=size,
        mtime_ns=mtime_ns,
        elapsed=0.0,
        config_id=config_id,
        reused=False,
    )


class InjectedFailure(RuntimeError):
    """The failure that ``_fail_once_dir`` injects into a task (tests only)."""


def _fails_now(fail_dir: Optional[str], fail_partition: int) -> bool:
    """Whether this task attempt is the one to fail (tests only); records later attempts."""
    if fail_dir is None:
        return False
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None or ctx.partitionId() != fail_partition:
        return False
    marker = os.path.join(fail_dir, f"partition-{fail_partition}.failed")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        attempt = os.path.join(
            fail_dir, f"partition-{fail_partition}.attempt-{ctx.attemptNumber()}"
        )
        with open(attempt, "w", encoding="utf-8") as f:
            f.write(f"stage {ctx.stageId()} task attempt {ctx.taskAttemptId()}\n")
        return False


def _scanner(engine, config_id: str, threads: int, fail_dir, fail_partition: int):
    """The function mapInArrow runs on each partition (pickled with the engine's config)."""

    def scan_partition(batches: Iterator) -> Iterator:
        if engine.config_id != config_id:
            raise dlp.Error(
                "this executor's dlp engine has config_id "
                f"{engine.config_id[:12]}, the driver's {config_id[:12]}: its fingerprints "
                "would not compare (another fingerprint key, or another dlp version). Give "
                "every executor the driver's key (spark.executorEnv.DLP_FINGERPRINT_KEY, or "
                "fingerprint_key_file on shared storage) and the same dlp wheel."
            )
        fail = _fails_now(fail_dir, fail_partition)
        rows = _Rows()
        for batch in batches:
            plan = batch.to_pydict()
            pending = {}
            for path, size, mtime_ns, skip, skip_detail in zip(
                plan["path"], plan["size"], plan["mtime_ns"], plan["skip"], plan["skip_detail"]
            ):
                if skip is not None:
                    _file_row(rows, path, size, mtime_ns, skip, skip_detail, config_id)
                else:
                    pending[path] = (size, mtime_ns)
            if not pending:
                continue
            # One engine batch for the Arrow batch's files (a scan_path per file would pay
            # the batch's set-up, about 0.2 ms, for each).
            try:
                for result in engine.iter_path(list(pending), threads=threads):
                    listed = pending.pop(result.path, None)
                    if listed is None:
                        continue  # under a listed file that became a directory since
                    _add_result(rows, result.path, *listed, result, config_id)
                    if fail:
                        yield rows.batch()
                        raise InjectedFailure(
                            f"injected failure of partition {fail_partition}'s first attempt"
                        )
                    if rows.count >= _BATCH_ROWS:
                        yield rows.batch()
            except dlp.Error as e:
                error = str(e)
            else:
                error = None
            for path, (size, mtime_ns) in sorted(pending.items()):
                if error is not None:
                    _file_row(rows, path, size, mtime_ns, "error", error, config_id)
                else:
                    _file_row(
                        rows, path, size, mtime_ns, "not_a_file", _NO_LONGER_A_FILE, config_id
                    )
            if rows.count >= _BATCH_ROWS:
                yield rows.batch()
        if rows.count:
            yield rows.batch()

    return scan_partition


def _previous_frame(spark, previous):
    if isinstance(previous, (str, os.PathLike)):
        return spark.read.parquet(os.fspath(previous))
    return previous


# Skip reasons that the same bytes under the same configuration always give again: a file (or
# member) skipped for one of them is not read again. The others depend on the moment or the
# machine (a missing or unreadable path, a timeout under load, Tesseract not installed, an
# engine error): such files are always read again.
_DURABLE_SKIPS = frozenset(
    {
        "too_large",
        "filtered_type",
        "unsupported_format",
        "encrypted",
        "broken_file",
        "limit_exceeded",
        "no_text",
    }
)


def _reusable(previous, config_id: str):
    """(path → (size, mtime_ns)) of the files whose rows in `previous` a rescan with this
    configuration would give again: scanned, or skipped for a durable reason, and without a
    member skipped for a passing one."""
    from pyspark.sql import functions as F

    rows = (
        previous.where(
            (F.col("config_id") == config_id)
            & ((F.col("record") == "file") | (F.col("record") == "skipped"))
        )
        .select("record", "path", "size", "mtime_ns", "status", "reason")
        .toLocalIterator()
    )
    known = {}
    passing = set()
    for r in rows:
        durable = r["reason"] is None or r["reason"] in _DURABLE_SKIPS
        if r["record"] == "skipped":
            if not durable:
                passing.add(r["path"])
        elif r["status"] == "scanned" or (r["status"] == "skipped" and durable):
            known[r["path"]] = (r["size"], r["mtime_ns"])
    for path in passing:
        known.pop(path, None)
    return known


def scan_files(
    spark,
    paths,
    *,
    previous=None,
    partitions: Optional[int] = None,
    partition_bytes: int = _DEFAULT_PARTITION_BYTES,
    file_cost: int = _DEFAULT_FILE_COST,
    threads: Optional[int] = None,
    _fail_once_dir: Optional[str] = None,
    _fail_once_partition: int = 0,
    **engine_options: Any,
):
    """Scans files on the executors of ``spark``; returns a lazy DataFrame of
    :data:`OUTPUT_SCHEMA` (see the module's documentation).

    ``paths``: a path, a glob, an ``s3://`` prefix, a list of these, or a DataFrame with a
    ``path`` column (and optionally ``size`` and ``mtime_ns``). ``previous``: an earlier result
    (DataFrame or Parquet path) for an incremental rescan. ``partitions``: how many tasks
    (default: see the module's documentation); ``partition_bytes``: the most bytes a partition
    should weigh; ``file_cost``: the weight of opening one file, in bytes; ``threads``: how many
    files a task scans at once (default ``spark.task.cpus``; more, say 16, on object storage,
    to overlap the requests' latency). ``engine_options`` are :class:`dlp.Engine`'s
    (``rules``, ``detectors``, ``exclude_detectors``, ``min_confidence``,
    ``fingerprint_key_file``, ``plain_fingerprints``, ``max_file_size``, ``ocr``, ...).
    Raises :class:`dlp.RulesError` for bad rules or selectors, on the driver.
    """
    from pyspark.sql import functions as F

    task_cpus = int(spark.sparkContext.getConf().get("spark.task.cpus", "1"))
    threads = max(1, threads or task_cpus)
    engine_options.setdefault("workers", task_cpus)
    engine = dlp.Engine(**engine_options)
    config_id = engine.config_id

    listed = _list(paths)
    carried = None
    if previous is not None:
        previous = _previous_frame(spark, previous)
        known = _reusable(previous, config_id)
        reused = [f for f in listed if f[1] is not None and known.get(f[0]) == (f[1], f[2])]
        if reused:
            reused_paths = {f[0] for f in reused}
            listed = [f for f in listed if f[0] not in reused_paths]
            keys = spark.createDataFrame([(p,) for p in sorted(reused_paths)], "path string")
            carried = (
                previous.join(keys, on="path", how="left_semi")
                .withColumn("reused", F.lit(True))
                .select(*[name for name, _ in _COLUMNS])
            )

    count = partitions or _partition_count(spark, listed, file_cost, partition_bytes)
    bins = _pack(listed, count, file_cost)
    plan = _plan_frame(spark, bins)
    scanned = plan.mapInArrow(
        _scanner(engine, config_id, threads, _fail_once_dir, _fail_once_partition),
        _output_schema(),
    )
    return scanned.unionByName(carried) if carried is not None else scanned
