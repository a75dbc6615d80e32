"""Programs the Python tests run beside the package, shared by python/tests and
python/tests/spark: finding them (or failing with what to install), and moto's S3-compatible
server on 127.0.0.1."""

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest


def find_program(env: str, name: str, hint: str, candidates=()) -> str:
    """The program named by the variable `env`, else the first of `candidates` that exists,
    else `name` beside this interpreter or on PATH; the test fails with `hint` otherwise."""
    given = os.environ.get(env)
    if given:
        return given
    for candidate in [*candidates, pathlib.Path(sys.executable).parent / name]:
        if pathlib.Path(candidate).is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{hint} (or set {env})", pytrace=False)


@contextlib.contextmanager
def moto_server():
    """Starts moto's server on a free port of 127.0.0.1; yields the AWS_* variables that point
    at it, and stops it on exit."""
    program = find_program(
        "DLP_TEST_MOTO_SERVER",
        "moto_server",
        "the S3 tests need moto's server: run `bash .ci/test` (or `.ci/spark`), which installs "
        "it, or pip install 'moto[server]'",
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [program, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("moto's server did not start", pytrace=False)
                time.sleep(0.1)
        yield {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-never-shown",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
    finally:
        server.kill()
        server.wait()
