"""The README's Python example runs as written (from the repository's root) and prints what it
says it does."""

import contextlib
import io
import os
import re

from conftest import ROOT


def test_readme_example_runs():
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- python-example:start -->\n```python\n(.*?)```\n<!-- python-example:end -->",
        readme,
        re.S,
    )
    assert match, "the README lost its Python example markers"
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(match.group(1), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("credit_card high 4111 **** **** 1111 5 24"), lines
    assert lines[1].startswith("aws_access_key_id high AKIA"), lines
    assert lines[2].startswith("scanned [("), lines
    assert re.match(r"\d+ files, \d+ findings, \d+ skipped", lines[3]), lines
    assert "'record': 'finding'" in lines[4], lines
    assert lines[5].startswith("bad selection: ") and "no_such_detector" in lines[5], lines
