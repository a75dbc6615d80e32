"""Shared fixtures of the Python package's tests.

The tests compare with the command-line tool: they find it through DLP_BIN, else the
workspace's target/release/dlp or target/debug/dlp (`bash .ci/test` builds it before it runs
them). Fingerprints are keyed: every test runs with one DLP_FINGERPRINT_KEY and its own
DLP_HOME, so the package and the CLI agree.
"""

import pathlib
import subprocess

import pytest
from programs import find_program

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "docs"
KEY = "5e" * 32


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DLP_HOME", str(tmp_path / "dlp-home"))
    monkeypatch.setenv("DLP_FINGERPRINT_KEY", KEY)


def dlp_bin() -> str:
    return find_program(
        "DLP_BIN",
        "dlp",
        "these tests compare with the dlp command-line tool: build it (cargo build); "
        "`bash .ci/test` does",
        candidates=[ROOT / "target" / profile / "dlp" for profile in ("release", "debug")],
    )


def cli_jsonl(*paths, extra=()):
    """`dlp scan --format jsonl --report-skipped` on paths: its records, as dicts."""
    import json

    out = subprocess.run(
        [dlp_bin(), "scan", "--format", "jsonl", "--report-skipped", "--quiet", *extra]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
