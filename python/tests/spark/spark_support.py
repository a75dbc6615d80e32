"""What the Spark test's modules share: the check that skips them (or fails, with
DLP_SPARK_REQUIRED=1, as `.ci/spark` sets) without pyspark, pyarrow or a Java runtime, and the
fixtures: a Spark cluster on this machine, the fingerprint key shared by the CLI, the driver and
the executors, and the release CLI. Not a conftest.py: a second module named `conftest` would
shadow python/tests/conftest.py, which the package's other tests import.

The cluster is `local-cluster[2,1,1024]` (two executor processes of one core, as on a real
cluster: separate JVMs and Python workers); if it cannot start (two executors not registered
within DLP_SPARK_START_TIMEOUT seconds, default 120), the tests run on `local[2,4]` (one JVM,
two threads, four attempts per task) and say so at the end. DLP_SPARK_MASTER chooses another
master.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

# python/tests holds the helpers that the package's other tests share.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from programs import moto_server  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
FINGERPRINT_KEY = "5a" * 32  # the test's key: 64 hex digits, the same for the CLI and Spark


def require_spark() -> None:
    """Skips the calling test module without pyspark, pyarrow or Java (fails instead when
    DLP_SPARK_REQUIRED=1). Called at a test module's top: a conftest cannot skip."""
    required = os.environ.get("DLP_SPARK_REQUIRED") == "1"
    missing = []
    for module in ("pyspark", "pyarrow"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing.append("a Java runtime (java on PATH or JAVA_HOME)")
    if not missing:
        return
    message = f"the Spark tests need {', '.join(missing)}"
    if required:
        pytest.fail(f"{message} (DLP_SPARK_REQUIRED=1)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def dlp_env():
    """The environment every dlp in the test shares: the fingerprint key, a private DLP_HOME."""
    home = tempfile.mkdtemp(prefix="dlp-home-")
    env = {"DLP_FINGERPRINT_KEY": FINGERPRINT_KEY, "DLP_HOME": home}
    os.environ.update(env)
    yield env
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_home(dlp_env, monkeypatch):
    """Overrides python/tests/conftest.py's per-test key and home: the executors started with
    the session's, and the driver must keep it for the engines' config_id to match."""
    for name, value in dlp_env.items():
        monkeypatch.setenv(name, value)


def _executors(spark) -> int:
    # The block managers Spark knows, the driver's included.
    return spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1


def _session(master: str, env: dict, work: str):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("dlp-spark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.executor.memory", "1g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.python.worker.faulthandler.enabled", "true")
        # Speculative copies of slow tasks, as a cluster may run them: the written table must
        # still hold each row once.
        .config("spark.speculation", "true")
        .config("spark.speculation.multiplier", "2")
        .config("spark.speculation.quantile", "0.5")
        .config("spark.local.dir", work)
    )
    for name, value in env.items():
        builder = builder.config(f"spark.executorEnv.{name}", value)
    return builder.getOrCreate()


@pytest.fixture(scope="session")
def s3_env():
    """moto's S3-compatible server on 127.0.0.1, and the AWS_* variables that point at it (the
    driver's and, through spark.executorEnv, the executors')."""
    with moto_server() as env:
        os.environ.update(env)
        yield env


@pytest.fixture(scope="session")
def spark(dlp_env, s3_env, request, tmp_path_factory):
    import pyspark

    work = str(tmp_path_factory.mktemp("spark-work"))
    os.environ.setdefault("SPARK_HOME", os.path.dirname(pyspark.__file__))
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # no traffic beyond the loopback interface
    os.environ["SPARK_WORKER_DIR"] = work  # local-cluster's executor logs, not in site-packages
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env = dict(dlp_env, PYSPARK_PYTHON=sys.executable, **s3_env)

    master = os.environ.get("DLP_SPARK_MASTER", "local-cluster[2,1,1024]")
    session = _session(master, env, work)
    mode = master
    if master.startswith("local-cluster"):
        deadline = time.monotonic() + float(os.environ.get("DLP_SPARK_START_TIMEOUT", "120"))
        while _executors(session) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        if _executors(session) < 2:
            found = _executors(session)
            session.stop()
            master = "local[2,4]"
            mode = f"{master} (local-cluster[2,1,1024] started {found} of 2 executors)"
            session = _session(master, env, work)
        else:
            mode = f"{master} (2 executor processes)"
    session.sparkContext.setLogLevel("ERROR")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"spark: {mode}, pyspark {pyspark.__version__}")
    request.config.pluginmanager.register(_SaysMode(mode), "dlp-spark-mode")
    yield session
    session.stop()


class _SaysMode:
    """A plugin that ends the run's report with the Spark mode used."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(f"spark ran on {self.mode}")


@pytest.fixture(scope="session")
def dlp_cli():
    cli = REPO / "target" / "release" / "dlp"
    if not cli.is_file():
        pytest.fail(f"{cli} is missing: build it with `cargo build --release`", pytrace=False)
    return cli
