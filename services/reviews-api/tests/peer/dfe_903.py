"""The DfE's SSDA903 validator (csc-validator-be-903) on a folder of CSVs: the children it flags.

Run by the interpreter of the validator's own virtual environment (`.ci/dfe-903`), never by
the project's: `python dfe_903.py FOLDER YEAR RULE...` prints one JSON object: each requested
rule code -> {CHILD: the sorted [file, line] of each row the rule flags for that child, in any
table} (a rule that is not in that year's registry -> null). A line is as a text editor
numbers it (the column names are line 1). YEAR is the year the collection ends in (2025 = 2024/25);
the validator's rule registry is that year's, or the nearest it has (2022/23 to 2026/27).
Files whose columns match no SSDA903 table are left out, as the validator refuses them.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import io
import json
import logging
import sys
from pathlib import Path

FIRST_REGISTRY, LAST_REGISTRY = 2023, 2027  # lac2022_23 .. lac2026_27


def registry_for(year: int) -> dict:
    ends = min(max(year, FIRST_REGISTRY), LAST_REGISTRY)
    module = importlib.import_module(f"lac_validator.rules.lac{ends - 1}_{ends % 100:02d}")
    return module.registry


def uploads(folder: Path) -> tuple[list[dict], dict[str, tuple[str, list[int]]]]:
    """The files the validator reads, and for each of its tables the file and each row's line."""
    from lac_validator.config import column_names

    files, lines = [], {}
    for path in sorted(folder.glob("*.csv")):
        content = path.read_bytes()
        if content.startswith(b"\xef\xbb\xbf"):
            continue  # the validator would read the mark into the first column's name
        reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
        columns = next(reader, [])
        table = next((t for t, c in column_names.items() if set(c) == set(columns)), None)
        if table is None:
            continue  # the validator refuses a file whose columns match no table
        # pandas skips blank lines; every other record is one row of the table, in order.
        rows = [reader.line_num for record in reader if record]
        files.append({"name": path.name, "file_content": content, "description": "This year"})
        lines[table] = (path.name, rows)
    return files, lines


def flagged(folder: Path, year: int, codes: list[str]) -> dict[str, dict | None]:
    logging.disable(logging.CRITICAL)  # the validator logs every rule at INFO
    with contextlib.redirect_stdout(sys.stderr):
        from lac_validator import lac_validator
        from lac_validator.lac_validator import LacValidator

        # The validator hands each rule a shallow copy of the files ("a clean copy", its comment
        # says), and rule 365 fills blank DECs in place, so every rule after it sees no open
        # episode (rule 359 then never fires). Each rule gets a deep copy here.
        lac_validator.copy_datastore = lambda store: {
            k: v.copy(deep=True) if k != "metadata" else v for k, v in store.items()
        }

        registry = registry_for(year)
        wanted = [code for code in codes if code in registry]
        files, lines = uploads(folder)
        validator = LacValidator(
            metadata={"collectionYear": str(year), "localAuthority": "E09000027"},
            files=files,
            registry=registry,
            selected_rules=wanted,
        )
    if validator.fails:
        raise SystemExit(f"rules failed to run: {', '.join(validator.fails)}")
    result: dict[str, dict | None] = {code: None for code in codes}
    for code in wanted:
        children: dict[str, list[list]] = {}
        for table, (name, rows) in lines.items():
            frame = validator.ds_results[table]
            column = f"ERR_{code}"
            if column not in frame.columns:
                continue
            hits = frame.loc[frame[column].fillna(False).astype(bool), "CHILD"]
            for position, child in hits.items():
                if isinstance(child, str):
                    children.setdefault(child, []).append([name, rows[position]])
        result[code] = {child: sorted(found) for child, found in sorted(children.items())}
    return result


def main(argv: list[str]) -> None:
    folder, year, *codes = argv
    print(json.dumps(flagged(Path(folder), int(year), codes), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
