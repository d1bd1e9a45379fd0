"""Test-run presentation for the whole repository (the fixtures live in tests/conftest.py).

``-ra`` (setup.cfg) lists every skipped test in the short summary, and pytest folds
skips together only when they come from the same line: one reason shared by many
tests -- no GPU for the CuPy half of the backend fixture, torch not installed --
gave 53 lines that look like failures. Here each reason is folded into one line
("SKIPPED [53] first/location.py:12: no usable GPU ...") before the summary is printed.
"""


def pytest_terminal_summary(terminalreporter):
    by_reason = {}   # reason -> the skip reports that give it
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            by_reason.setdefault(report.longrepr[2], []).append(report)
    for reason, reports in by_reason.items():
        path, line, _ = reports[0].longrepr
        files = {r.longrepr[0] for r in reports}
        where = f" (first here; {len(files)} test files)" if len(files) > 1 else ""
        for report in reports:
            report.longrepr = (path, line, reason + where)
