"""A seeded tree of files with planted (fake) sensitive values, for the Spark test and
benches/spark_scale.py.

`generate(root, files=2000)` writes `files` files under `root` (nested directories up to three
deep): text, CSV, JSON and log files with planted card numbers (Luhn-valid, and near misses
that fail it), SSNs, e-mail addresses and AWS keys; copies of the fixture documents
(`fixtures/docs/*`: PDF, Office, OpenDocument, e-mail, archives); empty files; one symbolic link
(a `not_a_file` skip); and one large text file (`big_mb` MB, default 20) with values at its
start, middle and end. The same seed gives the same bytes. It returns a `Tree` naming the
large file and `mutable`, a text file whose only finding is a card, for the incremental test.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures" / "docs"

WORDS = (
    "invoice customer account payment order shipping contract renewal meeting notes quarterly "
    "report budget forecast employee onboarding review ticket support refund address phone "
    "project milestone deadline vendor approval summary draft final update access token"
).split()


@dataclass
class Tree:
    root: Path
    files: List[Path]  # every path written, the symbolic link included
    big: Path
    mutable: Path
    mutable_card: bytes  # the card's text in `mutable`


def luhn_card(rng: random.Random, prefix: str = "4", length: int = 16) -> str:
    digits = [int(c) for c in prefix] + [rng.randrange(10) for _ in range(length - len(prefix) - 1)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i : i + 4] for i in range(0, len(s), 4))


def near_miss_card(rng: random.Random) -> str:
    card = luhn_card(rng)
    last = int(card[-1])
    return card[:-1] + str((last + 1) % 10)


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def email(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}.{rng.randrange(1000)}@example.com"


def aws_key(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "AKIAIOSFODNN7EXAMPLE"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(rng.choice(alphabet) for _ in range(16))


def planted(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return f"card {luhn_card(rng)}"
    if kind == 1:
        return f"ssn {ssn(rng)}"
    if kind == 2:
        return f"contact {email(rng)}"
    if kind == 3:
        return f"aws_access_key_id = {aws_key(rng)}"
    if kind == 4:
        return f"ref {near_miss_card(rng)}"
    return "card 4111 1111 1111 1111 and SSN 536-22-8813"


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))


def text_file(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randrange(3, 200)):
        lines.append(planted(rng) if rng.random() < 0.08 else sentence(rng))
    return ("\n".join(lines) + "\n").encode()


def csv_file(rng: random.Random) -> bytes:
    rows = ["name,amount,reference,note"]
    for i in range(rng.randrange(2, 120)):
        note = planted(rng) if rng.random() < 0.1 else sentence(rng)
        rows.append(
            f"{rng.choice(WORDS).title()} {i},{rng.randrange(10**5)},R{rng.randrange(10**8)},{note}"
        )
    return ("\n".join(rows) + "\n").encode()


def json_file(rng: random.Random) -> bytes:
    records = [
        {
            "id": rng.randrange(10**6),
            "user": {"email": email(rng) if rng.random() < 0.2 else None, "note": sentence(rng)},
            "payment": {"card": luhn_card(rng).replace(" ", "")} if rng.random() < 0.3 else None,
            "key": aws_key(rng) if rng.random() < 0.1 else None,
        }
        for _ in range(rng.randrange(1, 40))
    ]
    return json.dumps(records, indent=2).encode()


def log_file(rng: random.Random) -> bytes:
    lines = []
    for i in range(rng.randrange(5, 300)):
        msg = planted(rng) if rng.random() < 0.03 else sentence(rng)
        lines.append(f"2024-05-{1 + i % 28:02d}T12:{i % 60:02d}:00Z INFO {msg}")
    return ("\n".join(lines) + "\n").encode()


def big_file(path: Path, rng: random.Random, megabytes: int) -> None:
    # A megabyte of varied sentences, written over and over.
    block = bytearray()
    while len(block) < 1024 * 1024:
        block += (sentence(rng) + "\n").encode()
    with open(path, "wb") as f:
        f.write(b"card 4111 1111 1111 1111\n")
        for i in range(megabytes):
            f.write(block)
            if i == megabytes // 2:
                f.write(f"middle {email(rng)} ssn 536-22-8813\n".encode())
        f.write(b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")


def generate(root, files: int = 2000, seed: int = 13, big_mb: int = 20) -> Tree:
    root = Path(root)
    rng = random.Random(seed)
    documents = sorted(
        p for p in FIXTURES.iterdir() if p.is_file() and p.suffix not in (".md", ".py")
    )
    dirs = [root]
    for a in range(8):
        dirs.append(root / f"d{a}")
        for b in range(4):
            dirs.append(root / f"d{a}" / f"s{b}")
            if b == 0:
                dirs.append(root / f"d{a}" / f"s{b}" / "deep")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    big = root / "d0" / "big.log"
    big_file(big, rng, big_mb)
    written.append(big)
    mutable = root / "d1" / "mutable.txt"
    mutable_card = b"4111 1111 1111 1111"
    mutable.write_bytes(b"nothing else here\ncard " + mutable_card + b"\nend\n")
    written.append(mutable)
    link = root / "d2" / "link.txt"
    os.symlink(mutable, link)
    written.append(link)
    makers = [(text_file, ".txt"), (csv_file, ".csv"), (json_file, ".json"), (log_file, ".log")]
    i = 0
    while len(written) < files:
        d = rng.choice(dirs)
        roll = rng.random()
        if roll < 0.02:
            path = d / f"empty{i}.txt"
            path.write_bytes(b"")
        elif roll < 0.04:
            source = documents[i % len(documents)]
            path = d / f"copy{i}-{source.name}"
            shutil.copyfile(source, path)
        else:
            make, ext = rng.choice(makers)
            path = d / f"f{i}{ext}"
            path.write_bytes(make(rng))
        written.append(path)
        i += 1
    return Tree(root=root, files=written, big=big, mutable=mutable, mutable_card=mutable_card)


if __name__ == "__main__":
    import sys

    tree = generate(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
    size = sum(p.stat().st_size for p in tree.files if not p.is_symlink())
    print(f"{len(tree.files)} files, {size / 1e6:.1f} MB under {tree.root}")
