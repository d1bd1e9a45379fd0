"""``minis2s gradcheck``: every backward pass against numerical gradients (float64, NumPy)."""
from __future__ import annotations

from ...backend import current, float_dtype, use
from ...gradcheck import standard_cases


def add_parser(sub) -> None:
    g = sub.add_parser("gradcheck", help="check every backward pass against numerical gradients",
                       description="Gradient-check every functional op, layer and both models "
                                   "(float64, NumPy); exit status 0 only if all pass.")
    g.set_defaults(func=run)


def run(args, command: str) -> int:
    saved = (current().name, float_dtype())
    use("numpy", dtype="float64")          # numerical gradients need float64
    try:
        print(f"{'':<11}{'check':<42}{'max rel. error':>14}  result")
        failures = 0
        cases = standard_cases()
        for group, name, run in cases:
            report = run()
            failures += not report.passed
            worst = ", ".join(report.failed)
            result = "ok" if report.passed else f"FAIL ({worst})"
            print(f"{group:<11}{name:<42}{report.max_error:>14.2e}  {result}", flush=True)
    finally:
        use(*saved)
    tol = report.tol
    if failures:
        print(f"{failures} of {len(cases)} checks FAILED (tolerance {tol:.0e})")
        return 1
    print(f"all {len(cases)} checks passed (tolerance {tol:.0e}; a correct backward pass "
          "scores around 1e-9 or below)")
    return 0
