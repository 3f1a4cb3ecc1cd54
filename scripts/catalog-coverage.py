#!/usr/bin/env python3
"""List the security-catalog rows and the tests that cover them.

A row is covered by every Rust test function whose name starts with the row's
lower-case id followed by an underscore (`p02_dot_flood_rejected` covers P02).
Rows that do not apply carry a reason in docs/catalog-rows.tsv instead.

Exit status: 0 when every row is covered or has a reason, 1 otherwise.
Usage: scripts/catalog-coverage.py [--list] [--root DIR]
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["crates", "src", "tests", "examples"]
TEST_FN = re.compile(r"\bfn\s+([a-z]\d{2})_([a-z0-9_]+)\s*[(<]")


def load_rows():
    rows = []
    for line in (ROOT / "docs" / "catalog-rows.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        row_id, row_class = fields[0], fields[1]
        reason = fields[2].strip() if len(fields) > 2 else ""
        rows.append((row_id, row_class, reason))
    return rows


def find_tests():
    tests = {}
    for directory in SOURCE_DIRS:
        base = ROOT / directory
        if not base.exists():
            continue
        for path in sorted(base.rglob("*.rs")):
            if "target" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in TEST_FN.finditer(text):
                row_id = match.group(1).upper()
                name = f"{match.group(1)}_{match.group(2)}"
                location = path.relative_to(ROOT)
                tests.setdefault(row_id, []).append(f"{location}::{name}")
    return tests


def main():
    global ROOT
    arguments = sys.argv[1:]
    show_list = "--list" in arguments
    if "--root" in arguments:
        ROOT = pathlib.Path(arguments[arguments.index("--root") + 1]).resolve()
    rows = load_rows()
    tests = find_tests()
    uncovered = []
    covered = 0
    not_applicable = 0
    for row_id, row_class, reason in rows:
        covering = tests.get(row_id, [])
        if covering:
            covered += 1
            status = f"{len(covering)} test(s)"
        elif reason:
            not_applicable += 1
            status = f"not applicable: {reason}"
        else:
            uncovered.append(row_id)
            status = "NOT COVERED"
        if show_list:
            print(f"{row_id}\t{row_class}\t{status}")
            for test in covering:
                print(f"\t\t{test}")
    total = len(rows)
    print(
        f"catalog coverage: {covered}/{total} rows have a test, "
        f"{not_applicable} not applicable, {len(uncovered)} uncovered"
    )
    if uncovered:
        print("uncovered rows: " + " ".join(uncovered), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
