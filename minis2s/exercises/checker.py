r"""The exercise checker: run a student's function on a fresh random case and judge it.

An :class:`Exercise` is a function to write (its stub), the names and shapes of
its outputs, and ``make_case(rng)``, which builds one random float64 problem --
odd sizes that are all different, non-zero biases, padding in the masks -- and
the *oracle* each output must match:

* for a backward pass, the central-difference numerical gradient
  (:func:`minis2s.gradcheck.numerical_gradient`) of the *given* forward pass,
  taken against a random upstream gradient. The reference solutions in
  :mod:`minis2s.exercises.solutions` play no part: an answer passes only if it
  really is the derivative of the forward pass;
* for a value (a loss, an optimiser step), the value computed by the given
  forward pass or by :class:`minis2s.optim.Adam`.

The checker cannot be fooled by in-place tricks: the oracle is computed before
the student's function runs, and the function gets deep copies of its
arguments. It prints one line per output (relative error, ``ok`` or ``WRONG``)
and a final ``PASS`` or ``FAIL`` line naming every wrong output. A function that
raises, returns ``None`` (a stub not written yet), returns the wrong number of
outputs, or outputs of the wrong shape, fails with a message saying so.
"""
from __future__ import annotations

import copy
import math
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..backend import to_cpu
from ..gradcheck import DEFAULT_TOL, rel_error

__all__ = ["Case", "Exercise", "ExerciseResult", "run_exercise"]


@dataclass
class Case:
    """One random problem: what the student's function is called with, and the answers.

    args: the student's function is called as ``fn(*deepcopy(args))``.
    oracle: {output name: the array (or 0-d array) that output must match}, in return order.
    sizes: the sizes, spelled for the header line, e.g. ``"N=3, D=5, H=4"``.
    """
    args: tuple
    oracle: dict
    sizes: str


@dataclass(frozen=True)
class Exercise:
    """One exercise: the function to write and how to check it.

    name: the key in :data:`minis2s.exercises.EXERCISES`.
    signature: how the student's function is called and what it returns.
    outputs: {output name: its shape in symbols, e.g. "(H, 4H)"}, in return order.
    make_case: ``rng -> Case``, a fresh random problem with its oracle.
    stub: the function to fill in (it raises NotImplementedError with a hint).
    oracle: what the outputs are compared with, for the header line.
    tol: the largest relative error that counts as right.
    """
    name: str
    signature: str
    outputs: dict
    make_case: Callable
    stub: Callable
    oracle: str = "a numerical gradient"
    tol: float = DEFAULT_TOL


@dataclass
class ExerciseResult:
    """The verdict on one attempt.

    errors: {output name: max relative error against the oracle}; ``inf`` for an
        output of the wrong shape or that is not an array; empty when the
        outputs could not be compared at all (see ``problem``).
    problem: why nothing could be compared (an exception, ``None`` returned, the
        wrong number of outputs), or "" when the outputs were compared.
    """
    name: str
    errors: dict
    tol: float
    problem: str = ""
    lines: list = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        """True when every output agrees with the numerical gradient."""
        return not self.problem and bool(self.errors) and not self.failed

    @property
    def failed(self) -> list:
        """Names of the outputs that are wrong (a NaN error counts as wrong)."""
        return [k for k, e in self.errors.items() if not e <= self.tol]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def assert_passed(self) -> "ExerciseResult":
        """Raise AssertionError with the whole report unless the attempt passed."""
        if not self.passed:
            raise AssertionError(f"exercise {self.name} failed:\n{self}")
        return self


def _as_host_array(value):
    """The output as a float64 NumPy array, or an error message saying why it is not one."""
    if value is None:
        return None, "is None"
    try:
        a = np.asarray(to_cpu(value), dtype=np.float64)
    except (TypeError, ValueError) as e:
        return None, f"is not an array of numbers (got {type(value).__name__}: {e})"
    return a, ""


def _student_traceback(e: BaseException) -> str:
    """The traceback without this module's frame: it starts in the student's code."""
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
    return "".join(traceback.format_exception(type(e), e, tb)).rstrip()


def run_exercise(ex: Exercise, student_fn: Callable, seed: int = 0,
                 verbose: bool = True) -> ExerciseResult:
    """Build the case for ``seed``, call ``student_fn`` on it and judge every output."""
    case = ex.make_case(np.random.default_rng(seed))
    names = list(ex.outputs)
    lines = [f"{ex.name} (seed {seed}; {case.sizes}): outputs compared with {ex.oracle}"]

    def finish(errors, problem=""):
        if problem:
            lines.append(f"FAIL: {problem}")
        result = ExerciseResult(ex.name, errors, ex.tol, problem, lines)
        if verbose:
            print(result)
        return result

    # 1. Call it -- on copies, so it cannot change the case.
    try:
        out = student_fn(*copy.deepcopy(case.args))
    except NotImplementedError as e:
        if str(e):
            lines.append(textwrap.fill(str(e), 88, initial_indent="  ", subsequent_indent="  "))
        return finish({}, f"{ex.name} is not implemented yet (it raised NotImplementedError)")
    except Exception as e:  # any bug in the student's code is a FAIL, never a crash
        lines.append(_student_traceback(e))
        return finish({}, f"your function raised {type(e).__name__}: {e}")
    if out is None:
        return finish({}, "not implemented yet: the function returned None "
                          "(write its body -- and check it ends with a `return`)")

    # 2. The right number of outputs.
    if len(names) == 1 and not isinstance(out, (tuple, list)):
        out = (out,)
    expected = ", ".join(f"{n} {ex.outputs[n]}" for n in names)
    if not isinstance(out, (tuple, list)):
        return finish({}, f"expected a tuple of {len(names)} outputs ({expected}), "
                          f"got one {type(out).__name__}")
    if len(out) != len(names):
        return finish({}, f"expected {len(names)} output{'s' * (len(names) > 1)} "
                          f"({expected}), got {len(out)}")

    # 3. Each output: the right shape, then the right values.
    width = max(len(n) for n in names)
    errors, unusable = {}, {}  # unusable: output name -> what is wrong with it
    for name, value in zip(names, out):
        want = case.oracle[name]
        a, why = _as_host_array(value)
        if a is not None and a.shape != want.shape:
            why = f"has shape {a.shape}, expected {ex.outputs[name]} = {want.shape}"
        if why:
            errors[name] = math.inf
            unusable[name] = f"{name} {why}"
            lines.append(f"  {name:<{width}}  {why}  WRONG")
            continue
        errors[name] = rel_error(a, want)
        verdict = "ok" if errors[name] <= ex.tol else "WRONG"
        lines.append(f"  {name:<{width}}  {str(want.shape):<12} rel. error {errors[name]:9.2e}  {verdict}")

    result = ExerciseResult(ex.name, errors, ex.tol, "", lines)
    if result.passed:
        what = f"all {len(names)} outputs agree" if len(names) > 1 else f"{names[0]} agrees"
        lines.append(f"PASS: {what} with {ex.oracle} "
                     f"(max rel. error {max(errors.values()):.1e} <= {ex.tol:.0e})")
    else:
        parts = list(unusable.values())
        wrong_values = [n for n in result.failed if n not in unusable]
        if wrong_values:
            parts.append(f"wrong values in {', '.join(wrong_values)} (tolerance {ex.tol:.0e})")
        lines.append(f"FAIL: {'; '.join(parts)}")
    if verbose:
        print(result)
    return result
