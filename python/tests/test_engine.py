"""The Python package: the engine's API, its agreement with `dlp scan`, its errors, pickling,
threads, and its isolation from hostile documents."""

import io
import multiprocessing
import os
import pickle
import resource
import threading
import time
import zipfile
import zlib

import pytest

import dlp
from dlp import _native
from conftest import FIXTURES, cli_jsonl

CARD = "4111 1111 1111 1111"


def key(record):
    return (
        record["path"],
        record["member"] or "",
        record["detector"],
        record["start"],
        record["end"],
        record["fingerprint"],
    )


def test_scan_text_finds_values_with_byte_and_char_offsets():
    engine = dlp.Engine()
    text = f"Überweisung: Karte {CARD}, ключ AKIAIOSFODNN7EXAMPLE"
    result = engine.scan_text(text)
    assert result.status == "scanned" and result.reason is None
    got = {f.detector: f for f in result.findings}
    assert set(got) == {"credit_card", "aws_access_key_id"}
    card = got["credit_card"]
    assert text[card.char_start : card.char_end] == CARD
    assert text.encode()[card.start : card.end] == CARD.encode()
    assert card.start != card.char_start  # "Ü" is two bytes
    assert CARD not in repr(card) and CARD not in str(card.to_dict())
    assert card.masked == "4111 **** **** 1111"
    assert card.path is None and result.path is None
    assert result.to_dict()["findings"][0]["record"] == "finding"


def test_char_offsets_hold_for_many_findings_among_wide_characters():
    engine = dlp.Engine()
    parts = [f"日本語 ü 🙂 {i} card {CARD} ssn 536-22-8813\n" for i in range(500)]
    text = "".join(parts)
    result = engine.scan_text(text)
    assert len(result.findings) == 1000
    values = {text[f.char_start : f.char_end] for f in result.findings}
    assert values == {CARD, "536-22-8813"}


def test_findings_equal_the_cli_on_every_fixture():
    engine = dlp.Engine()
    result = engine.scan_path(FIXTURES)
    assert result.files >= 15
    cli = cli_jsonl(FIXTURES)
    cli_findings = sorted(key(r) for r in cli if r["record"] == "finding")
    assert len(cli_findings) > 20
    assert sorted(key(f.to_dict()) for f in result.findings) == cli_findings
    cli_skips = sorted(
        (r["path"], r["member"] or "", r["reason"]) for r in cli if r["record"] == "skipped"
    )
    assert sorted((s.path, s.member or "", s.reason) for s in result.skipped) == cli_skips


def test_scan_bytes_reads_documents_and_archives_like_scan_path():
    engine = dlp.Engine()
    for name in ("sample.pdf", "sample.docx", "sample.zip", "sample.xlsx", "sample.eml"):
        data = (FIXTURES / name).read_bytes()
        from_bytes = engine.scan_bytes(data, name=name)
        from_path = engine.scan_path(FIXTURES / name)
        assert from_bytes.findings, name
        assert [(f.member, f.detector, f.start, f.fingerprint) for f in from_bytes.findings] == [
            (f.member, f.detector, f.start, f.fingerprint) for f in from_path.findings
        ], name
        assert from_bytes.findings[0].path == name
    members = {f.member for f in engine.scan_bytes((FIXTURES / "sample.zip").read_bytes()).findings}
    assert any(m and m.endswith(".txt") for m in members), members


def test_limits_and_skip_reasons_are_those_of_dlp_scan(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(f"{CARD}\n" * 1000)
    engine = dlp.Engine(max_file_size=1000)
    result = engine.scan_path(big)
    assert (result.status, result.reason) == ("skipped", "too_large")
    assert result.findings == []
    cli = cli_jsonl(big, extra=["--max-file-size", "1000"])
    assert [r["reason"] for r in cli] == ["too_large"]
    missing = engine.scan_path(tmp_path / "missing.pdf")
    assert (missing.status, missing.reason) == ("skipped", "not_found")
    filtered = dlp.Engine(file_types=["pdf"]).scan_path(FIXTURES / "sample.docx")
    assert filtered.reason == "filtered_type"


def deep_pdf(depth=200_000):
    """A PDF whose page dictionary nests arrays deeply enough to overflow a parser's stack."""
    deep = "[" * depth + "]" * depth
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /Deep {deep} >>",
    ]
    return pdf(objects)


def pdf(objects):
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        body = body if isinstance(body, bytes) else body.encode()
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def inflate_bomb_pdf():
    """One page whose 1 MB content stream inflates to 1 GiB."""
    z = zlib.compressobj(1)
    chunk = b" " * (1 << 20)
    stream = b"".join(z.compress(chunk) for _ in range(1024)) + z.flush()
    return pdf(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
            f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            + stream
            + b"\nendstream",
        ]
    )


def nested_zip_bomb(levels=12):
    data = b"\0" * (8 << 20)
    name = "zeros.bin"
    for level in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
            if level == levels - 1:
                z.writestr("notes.txt", f"card {CARD}\n")
        data, name = buf.getvalue(), f"level{level}.zip"
    return data


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_hostile_document_costs_its_item_never_the_process():
    engine = dlp.Engine()
    started = time.monotonic()
    overflow = engine.scan_bytes(deep_pdf(), name="overflow.pdf")
    assert overflow.status == "skipped", overflow.skipped
    assert overflow.reason in ("broken_file", "limit_exceeded", "timeout"), overflow.skipped
    bomb = engine.scan_bytes(inflate_bomb_pdf(), name="bomb.pdf")
    assert bomb.reason in ("limit_exceeded", "broken_file", "timeout"), bomb.skipped
    nested = engine.scan_bytes(nested_zip_bomb(), name="nested.zip")
    assert "limit_exceeded" in {s.reason for s in nested.skipped}, nested.skipped
    assert [f.detector for f in nested.findings] == ["credit_card"]
    assert time.monotonic() - started < 120
    # The process lives on, with its memory, and the engine still reads documents.
    assert peak_rss_mib() < 1024
    assert engine.scan_path(FIXTURES / "sample.pdf").findings


def test_documents_are_parsed_in_worker_processes_text_in_process():
    engine = dlp.Engine()
    before = set(worker_pids())
    assert engine.scan_text(CARD).findings
    assert set(worker_pids()) == before
    assert engine.scan_bytes((FIXTURES / "sample.pdf").read_bytes()).findings
    assert set(worker_pids()) - before
    in_process = dlp.Engine(in_process=True)
    assert in_process.scan_bytes((FIXTURES / "sample.pdf").read_bytes()).findings


def test_bad_rules_and_options_are_typed_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "broken"\npattern = "([a-z"\n')
    with pytest.raises(dlp.RulesError, match="broken"):
        dlp.Engine(rules=bad)
    with pytest.raises(dlp.RulesError, match="cannot read the rule file"):
        dlp.Engine(rules=tmp_path / "missing.toml")
    with pytest.raises(dlp.RulesError, match="no_such_detector"):
        dlp.Engine(detectors=["no_such_detector"])
    with pytest.raises(dlp.RulesError, match="low, medium|\"low\""):
        dlp.Engine(min_confidence="very")
    with pytest.raises(dlp.RulesError, match="not a file type"):
        dlp.Engine(file_types=["pdff"])
    key_file = tmp_path / "key"
    key_file.write_text("not hex")
    with pytest.raises(dlp.InputError, match="64|hexadecimal"):
        dlp.Engine(fingerprint_key_file=key_file)
    with pytest.raises(TypeError, match="scan_text"):
        dlp.Engine().scan_bytes("a str")
    assert issubclass(dlp.RulesError, dlp.Error) and issubclass(dlp.InputError, dlp.Error)


def test_custom_rules_selection_and_confidence(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "project_code"\npattern = \'PRJ-[0-9]{6}\'\n')
    engine = dlp.Engine(rules=rules, detectors="project_code,credit_card")
    found = {f.detector for f in engine.scan_text(f"PRJ-123456 {CARD} AKIAIOSFODNN7EXAMPLE").findings}
    assert found == {"project_code", "credit_card"}
    ids = {d["id"] for d in engine.detectors()}
    assert ids == {"project_code", "credit_card"}
    financial = dlp.Engine(detectors=["financial"], min_confidence="high")
    assert {d["category"] for d in financial.detectors()} == {"financial"}
    no_cards = dlp.Engine(exclude_detectors=["credit_card"])
    assert not no_cards.scan_text(CARD).findings


def test_fingerprints_are_keyed_and_plain_only_on_request(tmp_path, monkeypatch):
    keyed = dlp.Engine().scan_text(CARD).findings[0].fingerprint
    plain = dlp.Engine(plain_fingerprints=True).scan_text(CARD).findings[0].fingerprint
    import hashlib

    assert plain == hashlib.sha256(CARD.replace(" ", "").encode()).hexdigest()
    assert keyed != plain
    other = tmp_path / "other.key"
    other.write_text("07" * 32)
    assert dlp.Engine(fingerprint_key_file=other).scan_text(CARD).findings[0].fingerprint != keyed
    assert dlp.Engine(fingerprint_key_file=other).config_id != dlp.Engine().config_id


def test_pickles_as_its_configuration_and_rebuilds_once_per_process(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "project_code"\npattern = \'PRJ-[0-9]{6}\'\n')
    engine = dlp.Engine(rules=rules, min_confidence="medium")
    blob = pickle.dumps(engine)
    assert b"PRJ-" in blob  # the rules travel as text: no copy of the file is needed
    rules.unlink()
    before = _native._engines_built()
    copies = [pickle.loads(blob) for _ in range(5)]
    assert _native._engines_built() - before == 1
    assert all(c.config_id == engine.config_id for c in copies)
    assert [f.detector for f in copies[3].scan_text("PRJ-654321").findings] == ["project_code"]
    assert len(pickle.dumps(dlp.Engine())) < len(blob)


def _scan_in_child(engine, path):
    result = engine.scan_path(path)
    return os.getpid(), [(f.detector, f.fingerprint) for f in result.findings]


def test_engines_cross_process_boundaries(tmp_path):
    engine = dlp.Engine()
    expected = [(f.detector, f.fingerprint) for f in engine.scan_path(FIXTURES / "sample.pdf").findings]
    assert expected
    for method in ("spawn", "fork"):
        context = multiprocessing.get_context(method)
        with context.Pool(2) as pool:
            results = pool.starmap(_scan_in_child, [(engine, FIXTURES / "sample.pdf")] * 4)
        for pid, found in results:
            assert pid != os.getpid()
            assert found == expected, method
    # After the forks, this process's engine and its workers still serve.
    assert [(f.detector, f.fingerprint) for f in engine.scan_path(FIXTURES / "sample.pdf").findings] == expected


def test_the_gil_is_released_while_scanning():
    engine = dlp.Engine()
    text = ("lorem ipsum 4111 1111 1111 1112 dolor " * 200_000)  # 7.6 MB, no valid card
    done = threading.Event()
    spins = 0

    def scan():
        for _ in range(3):
            engine.scan_text(text)
        done.set()

    worker = threading.Thread(target=scan)
    worker.start()
    time.sleep(0.01)
    while not done.is_set():
        spins += 1
    worker.join()
    # With the lock held for the whole scan, this loop would barely run.
    assert spins > 100_000, spins


def test_one_engine_serves_many_threads():
    engine = dlp.Engine()
    errors = []
    counts = []

    def work():
        try:
            for _ in range(20):
                counts.append(len(engine.scan_text(f"a {CARD} b 536-22-8813").findings))
            counts.append(len(engine.scan_path(FIXTURES / "sample.docx").findings))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(counts) == 84 and all(c >= 1 for c in counts)


def worker_pids():
    pid = os.getpid()
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(k) for k in f.read().split()]
    found = []
    for kid in kids:
        try:
            with open(f"/proc/{kid}/cmdline", "rb") as f:
                if b"_serve_worker" in f.read():
                    found.append(kid)
        except FileNotFoundError:
            pass
    return found


def many_pages_pdf(pages):
    """A long, harmless PDF: `pages` pages of plain text (10,000 take a worker seconds)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    lines = " ".join("(plain words of a long report, nothing to find) Tj 0 -12 Td" for _ in range(50))
    content = f"BT /F1 10 Tf 50 700 Td {lines} ET".encode()
    font = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    for i in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /Contents {4 + 2 * i} 0 R /Resources {font} >>")
        objects.append(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
    return pdf(objects)


def test_a_worker_that_crashes_mid_document_costs_that_document_only():
    import signal

    engine = dlp.Engine(workers=1)
    bomb = many_pages_pdf(10_000)  # seconds of work in the worker
    others = set(worker_pids())  # idle workers of other tests' engines
    results = []
    scan = threading.Thread(target=lambda: results.append(engine.scan_bytes(bomb, name="bomb.pdf")))
    scan.start()
    deadline = time.monotonic() + 30
    while not set(worker_pids()) - others and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)
    (worker,) = set(worker_pids()) - others
    os.kill(worker, signal.SIGSEGV)  # what a parser's stack overflow or wild pointer does
    scan.join(60)
    assert not scan.is_alive()
    (result,) = results
    assert (result.status, result.reason) == ("skipped", "broken_file"), result.skipped
    assert "crash" in result.skipped[0].detail, result.skipped[0].detail
    # A fresh worker takes over.
    assert engine.scan_path(FIXTURES / "sample.pdf").findings
    assert worker_pids() and worker not in worker_pids()


def test_iter_path_gives_one_result_per_file_as_it_finishes(tmp_path):
    engine = dlp.Engine()
    whole = engine.scan_path(FIXTURES)
    results = list(engine.iter_path([FIXTURES, tmp_path / "missing.txt"], threads=2))
    assert len(results) == whole.files + 1
    assert len({r.path for r in results}) == len(results)
    missing = [r for r in results if r.path.endswith("missing.txt")]
    assert [(r.status, r.reason) for r in missing] == [("skipped", "not_found")]
    assert sorted(key(f.to_dict()) for r in results for f in r.findings) == sorted(
        key(f.to_dict()) for f in whole.findings
    )
    for r in results:
        assert all(f.path == r.path for f in r.findings)
    # Leaving early stops the scan; the engine goes on serving.
    for _ in engine.iter_path(FIXTURES, threads=1):
        break
    assert engine.scan_text(CARD).findings
