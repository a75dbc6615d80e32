"""kreuzberg (PyPI) on the PDFs of the PDF quality measurement, with its word definition.

Run `bash .ci/pdf-quality` first (it caches pdftotext's text under target/tmp), then, from the
project root:

    python3 -m venv target/kreuzberg && target/kreuzberg/bin/pip install kreuzberg
    target/kreuzberg/bin/python benches/kreuzberg_pdf.py

Prints one row of the README's PDF table: mean and median distinct-word recall against
pdftotext -layout, the share below 0.8, mean precision, failures (an exception or 30 s), files/s.
"""
import os, time, unicodedata, statistics, multiprocessing as mp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "pdf")
CACHE = os.path.join(ROOT, "target", "tmp", "pdf-quality-pdftotext")

def words(text):
    t = unicodedata.normalize("NFKC", text)
    out, cur = set(), []
    for c in t:
        if c.isalnum(): cur.append(c)
        elif cur: out.add("".join(cur).lower()); cur = []
    if cur: out.add("".join(cur).lower())
    return out

def count(text):
    t = unicodedata.normalize("NFKC", text)
    n, inw = 0, False
    for c in t:
        if c.isalnum():
            if not inw: n += 1; inw = True
        else: inw = False
    return n

def extract(path):
    from kreuzberg import extract_file_sync
    r = extract_file_sync(path)
    return r.content

def main():
    files = []
    for d, _, fs in os.walk(CORPUS):
        for f in sorted(fs):
            files.append(os.path.join(d, f))
    kept = []
    for p in files:
        name = os.path.basename(p); size = os.path.getsize(p)
        tp = os.path.join(CACHE, f"{name}.{size}.txt")
        if not os.path.exists(tp): continue
        theirs = open(tp, encoding="utf-8", errors="replace").read()
        if count(theirs) >= 5: kept.append((p, theirs))
    print(f"{len(kept)} kept of {len(files)}", flush=True)
    pool = mp.Pool(1)
    recalls, precisions, failed, secs = [], [], 0, 0.0
    for p, theirs in kept:
        t = time.time()
        try:
            ours = pool.apply_async(extract, (p,)).get(timeout=30)
        except mp.TimeoutError:
            pool.terminate(); pool = mp.Pool(1); ours = None; failed += 1
        except Exception:
            ours = None; failed += 1
        secs += time.time() - t
        tw = words(theirs); ow = words(ours or "")
        recalls.append(len(tw & ow) / len(tw) if tw else 1.0)
        if ow: precisions.append(len(ow & tw) / len(ow))
    below = sum(r < 0.8 for r in recalls)
    print(f"| kreuzberg {__import__('kreuzberg').__version__} | {statistics.mean(recalls):.3f} | {statistics.median(recalls):.3f} | {100*below/len(recalls):.1f}% ({below}) | {statistics.mean(precisions):.3f} | {failed} failed | {len(kept)/secs:.0f} files/s (kept files, one process) |")

if __name__ == "__main__":
    main()
