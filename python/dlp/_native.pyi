"""Type stubs of dlp's native module (PyO3)."""

import os
from typing import Any, Iterable, Iterator, Optional, Union

__version__: str

_StrPath = Union[str, "os.PathLike[str]"]
_Names = Union[str, Iterable[str]]

class Error(Exception):
    """Base class of dlp's errors."""

class RulesError(Error):
    """A rule file, a detector selection or an option that cannot make an engine."""

class InputError(Error):
    """Input that cannot be scanned at all: an unreadable fingerprint key file, say. A file
    that is merely missing, broken or hostile is not an error: its result is skipped."""

class Finding:
    """One finding: the fields of ``dlp scan --format jsonl``'s finding record."""

    path: Optional[str]
    """The item's path, or the name given to the scan (None when none was given)."""
    member: Optional[str]
    """The path inside containers (archive member, attachment); None at the top level."""
    detector: str
    category: str
    """pii, financial, health, secret or custom."""
    confidence: str
    """low, medium or high."""
    start: int
    """Byte offset of the value in the member's extracted text (UTF-8)."""
    end: int
    line: int
    column: int
    """The column of ``start`` on its line, in characters (1-based)."""
    location: Optional[str]
    """Where in the document: ``page 3``, ``sheet Q2``, ``slide 4``."""
    masked: str
    """A preview that never holds the whole value."""
    fingerprint: str
    """HMAC-SHA-256 (or plain SHA-256 when asked) of the normalized value, lower-case hex."""
    ocr: bool
    """Found in text read by OCR (an image, an image-only PDF page)."""
    char_start: Optional[int]
    """For :meth:`Engine.scan_text`: the value's offsets in the Python string."""
    char_end: Optional[int]
    def to_dict(self) -> dict[str, Any]: ...

class Skip:
    """An item, or a member inside it, that was not (fully) inspected, and why."""

    path: Optional[str]
    member: Optional[str]
    reason: str
    """not_found, unreadable, not_a_file, too_large, filtered_type, broken_file, timeout,
    limit_exceeded, encrypted, unsupported_format, no_text or ocr_unavailable."""
    detail: str
    def to_dict(self) -> dict[str, Any]: ...

class ScanResult:
    """What one scan found."""

    path: Optional[str]
    status: str
    """``skipped`` when the item itself could not be inspected, else ``scanned``."""
    reason: Optional[str]
    """The item's own skip reason, when it was skipped."""
    bytes: int
    files: int
    items_scanned: int
    allowed: int
    file_type: Optional[str]
    elapsed: float
    findings: list[Finding]
    skipped: list[Skip]
    def to_dict(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...

class Engine:
    """The inspection engine: built once, shared between threads, pickled as its
    configuration (rule files travel as their text) and rebuilt once per process."""

    def __init__(
        self,
        rules: Optional[Union[_StrPath, Iterable[_StrPath]]] = None,
        detectors: Optional[_Names] = None,
        exclude_detectors: Optional[_Names] = None,
        min_confidence: Optional[str] = None,
        *,
        fingerprint_key_file: Optional[_StrPath] = None,
        plain_fingerprints: bool = False,
        max_file_size: Optional[int] = None,
        file_types: Optional[_Names] = None,
        ocr: bool = True,
        ocr_languages: Optional[_Names] = None,
        in_process: bool = False,
        workers: Optional[int] = None,
    ) -> None: ...
    @property
    def config_id(self) -> str:
        """A digest of what the results depend on: version, rules, options, key."""
    def detectors(self) -> list[dict[str, Any]]: ...
    def scan_text(self, text: str, name: Optional[str] = None) -> ScanResult: ...
    def scan_bytes(self, data: bytes, name: Optional[str] = None) -> ScanResult: ...
    def scan_path(self, path: _StrPath, threads: Optional[int] = None) -> ScanResult: ...
    def iter_path(
        self, paths: Union[_StrPath, Iterable[_StrPath]], threads: Optional[int] = None
    ) -> Iterator[ScanResult]:
        """One ScanResult per file, as each finishes; leaving the loop stops the scan."""

def list_objects(url: str) -> list[tuple[str, int, int]]:
    """The objects under an ``s3://bucket/prefix`` URL: (url, size, mtime_ns) tuples.
    Credentials, region and endpoint come from the usual AWS_* environment variables."""

def _engine_from_state(state: str) -> Engine: ...
def _engines_built() -> int: ...
def _serve_worker() -> None: ...
