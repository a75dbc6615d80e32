"""Object storage through the package: `scan_path`/`iter_path` on s3:// URLs and
`dlp.list_objects`, against moto's S3-compatible server on 127.0.0.1 (DLP_TEST_MOTO_SERVER,
else `moto_server` beside this interpreter; `bash .ci/test` installs it)."""

import pathlib
import time

import pytest

import dlp
from conftest import FIXTURES
from programs import moto_server

FILES = ["sample.pdf", "sample.docx", "sample.zip", "sample-utf8.txt", "sample.csv"]


@pytest.fixture(scope="module")
def moto():
    with moto_server() as env:
        yield env


@pytest.fixture
def bucket(moto, monkeypatch):
    import boto3  # installed with moto[server]

    for name, value in moto.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto["AWS_ENDPOINT_URL"])
    name = f"b{time.monotonic_ns()}"
    s3.create_bucket(Bucket=name)
    for file in FILES:
        s3.put_object(Bucket=name, Key=f"in/{file}", Body=(FIXTURES / file).read_bytes())
    return name


def key(f):
    return (pathlib.PurePath(f.path).name, f.member, f.detector, f.start, f.end, f.fingerprint)


def test_objects_have_the_findings_of_the_same_files_on_disk(bucket):
    engine = dlp.Engine()
    url = f"s3://{bucket}/in/"
    result = engine.scan_path(url)
    assert (result.path, result.status, result.files) == (url, "scanned", len(FILES))
    assert all(f.path.startswith(url) for f in result.findings)
    local = [f for file in FILES for f in engine.scan_path(FIXTURES / file).findings]
    assert len(local) > 10
    assert sorted(map(key, result.findings)) == sorted(map(key, local))
    listed = sorted(dlp.list_objects(url))
    assert [(u.rsplit("/", 1)[1], size) for u, size, _ in listed] == sorted(
        (file, (FIXTURES / file).stat().st_size) for file in FILES
    )
    assert all(mtime > 1_600_000_000 * 10**9 for _, _, mtime in listed)
    per_object = list(engine.iter_path([url, FIXTURES / "sample.eml"]))
    assert len(per_object) == len(FILES) + 1


def test_limits_and_missing_objects_are_skips(bucket):
    small = dlp.Engine(max_file_size=2000)
    result = small.scan_path(f"s3://{bucket}/in/")
    too_large = {pathlib.PurePath(s.path).name for s in result.skipped if s.reason == "too_large"}
    assert too_large == {f for f in FILES if (FIXTURES / f).stat().st_size > 2000}
    missing = dlp.Engine().scan_path(f"s3://{bucket}/nothing-here")
    assert (missing.status, missing.reason) == ("skipped", "not_found")


def test_bad_urls_and_credentials_are_input_errors(bucket, monkeypatch):
    engine = dlp.Engine()
    with pytest.raises(dlp.InputError, match="s3:/x"):
        engine.scan_path("s3:/x")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(dlp.InputError, match="AWS_ACCESS_KEY_ID") as raised:
        engine.scan_path(f"s3://{bucket}/in/")
    assert "testing-secret-never-shown" not in str(raised.value)
