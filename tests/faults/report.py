"""Print the fault tests' reconciliation numbers (var/faults/*.json) as a Markdown table.

.venv/bin/python -m tests.faults.report
"""

from __future__ import annotations

from tests.faults.harness import REPORT_DIR, report_rows

COLUMNS = (
    "test",
    "sent",
    "acknowledged",
    "recorded",
    "delivered",
    "lost",
    "duplicated",
    "seconds",
    "notes",
)


def table() -> str:
    rows = report_rows()
    if not rows:
        return f"no results in {REPORT_DIR}: run `pytest tests/faults` first"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
