"""dlp: find sensitive data (card numbers, national ids, IBANs, API keys, private keys, and what
custom rules describe) in text, documents and archives.

Build an :class:`Engine` once and share it (it is thread-safe and releases the GIL while it
scans); scan with :meth:`Engine.scan_text`, :meth:`Engine.scan_bytes` or
:meth:`Engine.scan_path`. Each returns a :class:`ScanResult` with :class:`Finding` objects
(the fields of ``dlp scan --format jsonl``) and :class:`Skip` objects (what could not be read,
and why).

>>> import dlp
>>> engine = dlp.Engine()
>>> result = engine.scan_text("card 4111 1111 1111 1111")
>>> [(f.detector, f.masked) for f in result.findings]
[('credit_card', '**** **** **** 1111')]

Object storage: :meth:`Engine.scan_path` and :meth:`Engine.iter_path` take ``s3://bucket/prefix``
URLs too, and :func:`list_objects` lists one (credentials from the usual AWS_* variables).

Documents are parsed in isolated worker processes (this interpreter re-run), so a hostile file
costs its item, never this process. Bulk scans on Apache Spark: :mod:`dlp.spark`.
"""

from dlp._native import (
    Engine,
    Error,
    Finding,
    InputError,
    RulesError,
    ScanResult,
    Skip,
    __version__,
    list_objects,
)

__all__ = [
    "Engine",
    "Error",
    "Finding",
    "InputError",
    "RulesError",
    "ScanResult",
    "Skip",
    "__version__",
    "list_objects",
]
