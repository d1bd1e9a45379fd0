r"""The exercise checker: run a student's function on a fresh random case and judge it.

An :class:`Exercise` is a function to write (its stub), the names and shapes of
its outputs, and ``make_case(rng)``, which builds one random float64 problem --
sizes drawn from ``rng`` (odd, all different from each other), non-zero
biases, padding in the masks -- and the *oracle* each output must match:

* for a backward pass, the central-difference numerical gradient
  (:func:`minis2s.gradcheck.numerical_gradient`) of the package's own forward
  pass (:mod:`minis2s.functional`), taken against a random upstream gradient.
  No stored answer plays a part: an answer passes only if it really is the
  derivative of the forward pass;
* for a value (a loss, a forward pass, a search, BLEU, an optimiser step), what
  the library computes: the loss from :func:`minis2s.functional.log_softmax`,
  :mod:`minis2s.functional`'s forward passes, :mod:`minis2s.models.search`,
  :mod:`minis2s.metrics`, :mod:`minis2s.optim`. Where that function is itself a hole
  of a student edition, the edition stores the full package's answers for the
  public seeds (:mod:`minis2s.exercises.stored`).

Where padding must receive nothing at all -- attention's weights and gradients
at padded source positions -- a case also names those entries
(``Case.exact``), and they must equal the oracle's zeros exactly: a leak of
1e-40 passes a relative tolerance, not this.

The checker cannot be fooled by in-place tricks: the oracle is computed before
the student's function runs, and the function gets deep copies of its
arguments. Nor by the library: the exercises' caches have their own layout
(the library's backward passes cannot read them), and a function that uses
minis2s's own code (anything outside :mod:`minis2s.exercises`) is refused
with a FAIL that names what it used. The autograder (:mod:`minis2s.grading`)
goes further and runs submissions where minis2s cannot be imported at all.

It prints one line per output and a final ``PASS`` or ``FAIL`` line naming
every wrong output. The result is truthy only when the attempt passed, so
``assert check(...)`` works.
"""
from __future__ import annotations

import copy
import math
import textwrap
import traceback
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..gradcheck import DEFAULT_TOL, rel_error
from .stored import UNAVAILABLE
from .markov import prepare

__all__ = ["Case", "Exercise", "ExerciseResult", "run_exercise", "judge", "library_uses",
           "DIFFICULTY"]

DIFFICULTY = {1: "* (warm-up)", 2: "** (core)", 3: "*** (challenge)"}
LARGE_TOL = 1e-5            # a large case's directional derivatives: sums over ~1e5 terms
GATES = "ifgo"


@dataclass
class Case:
    """One random problem: what the student's function is called with, and the answers.

    args: plain data (arrays, numbers, lists, dicts); the function is called as
        ``fn(*prepare(name, deepcopy(args)))`` (:func:`minis2s.exercises.markov.prepare`).
    oracle: {output name: what that output must match}, in return order.
    sizes: the sizes, spelled for the header line, e.g. ``"N=3, D=5, H=4"``.
    exact: {output name: (boolean array of its shape, what those entries are)}: entries
        that must equal the oracle *exactly*, not merely within the tolerance -- the
        zeros that padding must get, e.g. ``{"dhs": (padded, "the padded source
        positions")}``. A tiny leak there passes a relative-error test, so it is
        checked on its own.
    context: what the finer feedback needs to say *where* an output is wrong: ``"ids"``
        (the ids an embedding looked up), ``"mask"`` ((N, T) bool, True at real positions).
    directional: {output name: (V, D)} for a *large* case (see ``Exercise.make_large_case``),
        where no full numerical gradient exists: the output g must have V's shape after its
        first axis, and its projections <g, V[k]> must equal the directional derivatives D[k]
        (:func:`minis2s.exercises._cases.directional_oracle`). Its entry in ``oracle`` is None.
    """
    args: tuple
    oracle: dict
    sizes: str
    exact: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    directional: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """One exercise: the function to write, how to check it, how hard it is.

    name: the key in :data:`minis2s.exercises.EXERCISES`.
    signature: how the student's function is called and what it returns.
    outputs: {output name: its shape in symbols, e.g. "(H, 4H)"}, in return order.
        A shape written in brackets, e.g. "[N id lists]", is a list of token-id
        lists, compared exactly (its error is the fraction of lists that differ).
    make_case: ``rng -> Case``, a fresh random problem with its oracle.
    stub: the function to fill in (it raises NotImplementedError, with no hint).
    hints: (concept, shapes, formula): what ``hint(name, 1..3)`` prints.
    level: 1, 2 or 3 (see DIFFICULTY). minutes: the expected time.
    oracle: what the outputs are compared with, for the header line.
    tol: the largest relative error that counts as right.
    points: what the autograder gives for the whole exercise (shared by its cases: a case
        earns its share only when every output is right).
    explain: {output name: "gates" | "rows" | "positions"}: where the report looks closer
        when that output is wrong -- which gate blocks (i, f, g, o) of a (.., 4H) array, which
        rows of an embedding gradient (and whether their ids repeat), which (n, t) positions
        of a masked sequence (and whether they are padding).
    make_large_case: ``rng -> Case``, a case of realistic size whose outputs are checked
        along random directions (``Case.directional``): a right backward pass takes
        milliseconds on it, finite differences of a copied forward pass hours -- the grader
        adds one to every exercise that has it, within the same time limit.
    unpack: ``return value -> tuple of the outputs``, for a function that returns more than
        arrays (attention_backward's dict of weight gradients); it raises ``ValueError``
        saying what was expected when the return value does not have that form.
    """
    name: str
    signature: str
    outputs: dict
    make_case: Callable
    stub: Callable
    hints: tuple
    level: int
    minutes: int
    oracle: str = "a numerical gradient"
    tol: float = DEFAULT_TOL
    points: float = 0.0
    explain: dict = field(default_factory=dict)
    make_large_case: Callable | None = None
    unpack: Callable | None = None

    @property
    def max_points(self) -> float:
        return self.points or 2.0 * self.level


@dataclass
class ExerciseResult:
    """The verdict on one attempt; ``bool(result)`` is the verdict.

    errors: {output name: error against the oracle}; ``inf`` for an output of
        the wrong shape or kind; empty when the outputs could not be compared at
        all (see ``problem``).
    problem: why nothing could be compared (an exception, ``None`` returned, the
        wrong number of outputs, the library used), or "" when they were compared.
    """
    name: str
    errors: dict
    tol: float
    problem: str = ""
    lines: list = field(default_factory=list, repr=False)
    tols: dict = field(default_factory=dict)       # per-output tolerances, where not ``tol``

    @property
    def passed(self) -> bool:
        """True when every output agrees with its oracle."""
        return not self.problem and bool(self.errors) and not self.failed

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failed(self) -> list:
        """Names of the outputs that are wrong (a NaN error counts as wrong)."""
        return [k for k, e in self.errors.items() if not e <= self.tols.get(k, self.tol)]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def assert_passed(self) -> "ExerciseResult":
        """Raise AssertionError with the whole report unless the attempt passed."""
        if not self.passed:
            raise AssertionError(f"exercise {self.name} failed:\n{self}")
        return self


# --- the library may not do the exercise ---------------------------------------------

def _is_library(obj) -> str:
    """The dotted name of ``obj`` if it is minis2s's own code (not the exercises' package)."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        name = getattr(obj, "__module__", None) or ""
        if not isinstance(name, str) or not name:
            return ""
        name = f"{name}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"
    allowed = "minis2s.exercises"       # the stubs, check and hint
    if (name == "minis2s" or name.startswith("minis2s.")) and not name.startswith(allowed):
        return name
    return ""


def _code_names(code) -> set:
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def library_uses(fn, _seen=None) -> list:
    """The minis2s objects (outside :mod:`minis2s.exercises`) that ``fn`` reaches.

    Looks at ``fn`` itself, the globals and closure variables its code names, and,
    one level at a time, the student's own functions it calls. A static look: it
    catches ``F.lstm_step_backward(...)`` and ``from minis2s... import x``, not
    code that goes out of its way to hide (the autograder's sandbox catches that).
    """
    seen = set() if _seen is None else _seen
    if id(fn) in seen:
        return []
    seen.add(id(fn))
    own = _is_library(fn)
    if own:
        return [own]
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)     # a callable object: look at its __call__
        return library_uses(call, seen) if isinstance(call, types.FunctionType) else []
    scope = dict(getattr(fn, "__globals__", {}))
    if fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__):
            try:
                scope[name] = cell.cell_contents
            except ValueError:                          # an empty cell
                pass
    found = []
    names = _code_names(code)
    for name in sorted(names):
        if name not in scope:
            continue
        obj = scope[name]
        lib = _is_library(obj)
        if lib:
            found.append(lib)
        elif isinstance(obj, types.FunctionType):
            found += library_uses(obj, seen)
        elif isinstance(obj, types.ModuleType) and obj.__name__.startswith("minis2s."):
            # an exercises module is allowed, not what it imported: ``lstm.F.lstm_step_forward``
            found += [lib for lib in (_is_library(getattr(obj, n, None)) for n in sorted(names)) if lib]
    return sorted(set(found))


# --- judging outputs -------------------------------------------------------------------

def _as_host_array(value):
    """The output as a float64 NumPy array, or an error message saying why it is not one."""
    if value is None:
        return None, "is None"
    if hasattr(value, "get") and not isinstance(value, (dict, np.ndarray)):  # a CuPy array
        value = value.get()
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        return None, f"is not an array of numbers (got {type(value).__name__}: {e})"
    return a, ""


def _as_id_lists(value):
    """The output as a list of lists of ints, or an error message."""
    try:
        return [[int(t) for t in row] for row in value], ""
    except (TypeError, ValueError) as e:
        return None, f"is not a list of token-id lists (got {type(value).__name__}: {e})"


def _student_traceback(e: BaseException, skip: int = 1) -> str:
    """The traceback without the checker's frames: it starts in the student's code."""
    tb = e.__traceback__
    for _ in range(skip):
        tb = tb.tb_next if tb is not None else None
    return "".join(traceback.format_exception(type(e), e, tb)).rstrip()


def _spell_values(values) -> str:
    """'0' when every value is 0 (padding's gradients), else 'what the oracle says'."""
    return "0" if values.size and np.all(values == 0.0) else "what the oracle says"


def _label(seed) -> str:
    """'seed 3' for a public seed; a grader's label ('case 2') as it is."""
    return seed if isinstance(seed, str) else f"seed {seed}"


def _header(ex: Exercise, case: Case, seed) -> str:
    return f"{ex.name} ({_label(seed)}; {case.sizes}): outputs compared with {ex.oracle}"


def _listed(items, most: int = 6) -> str:
    items = [str(k) for k in items]
    return ", ".join(items[:most]) + (f" ... ({len(items)} in all)" if len(items) > most else "")


def _wrong_entries(a, want, tol):
    """Boolean array: the entries of ``a`` that disagree with ``want`` by more than the tolerance
    (measured as rel_error measures: against the larger of the two arrays' largest entries)."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(want).max(initial=0.0), 1e-300)
    return ~(np.abs(a - want) <= tol * scale)                # NaN counts as wrong


def explain(kind: str, a, want, tol: float, case: Case) -> str:
    """Where a wrong output is wrong, for the report (issue 22's finer feedback); "" if unknown."""
    bad = _wrong_entries(a, want, tol)
    if kind == "gates" and a.shape[-1] % 4 == 0:
        H = a.shape[-1] // 4
        blocks = [GATES[k] for k in range(4) if bad[..., k * H:(k + 1) * H].any()]
        right = [g for g in GATES if g not in blocks]
        if not blocks:
            return ""
        return (f"wrong in the {'block' if len(blocks) == 1 else 'blocks'} of gate"
                f"{'' if len(blocks) == 1 else 's'} {', '.join(blocks)}"
                + (f" (columns k*H..(k+1)*H, order i, f, g, o; {', '.join(right)} right)"
                   if right else " (all four gate blocks)"))
    if kind == "rows" and a.ndim == 2 and "ids" in case.context:
        ids = np.asarray(case.context["ids"]).reshape(-1)
        rows = np.flatnonzero(bad.any(axis=1))
        if rows.size == 0:
            return ""
        counts = np.bincount(ids, minlength=a.shape[0])
        repeated = [int(r) for r in rows if counts[r] > 1]
        unused = [int(r) for r in rows if counts[r] == 0]
        text = f"rows {_listed(rows.tolist())} differ"
        if repeated and len(repeated) == rows.size:
            text += " -- every one of them an id that occurs several times in ids (are repeats added up?)"
        elif repeated:
            text += f"; of them, ids that occur several times: {_listed(repeated)}"
        if unused:
            text += f"; rows no id looked up (should be exactly 0): {_listed(unused)}"
        return text
    if kind == "positions" and "mask" in case.context and a.ndim >= 2:
        real = np.asarray(case.context["mask"], dtype=bool)          # (N, T)
        where = bad.reshape(bad.shape[:2] + (-1,)).any(axis=2) if a.ndim > 2 else bad
        if where.shape != real.shape or not where.any():
            return ""
        pos = [(int(n), int(t)) for n, t in zip(*np.nonzero(where))]
        padded = [p for p in pos if not real[p]]
        text = f"positions (n, t) that differ: {_listed(pos)}"
        if padded and len(padded) == len(pos):
            text += " -- all of them padding (a padded step must pass the gradient through untouched)"
        elif padded:
            text += f"; {len(padded)} of them padding, {len(pos) - len(padded)} real"
        else:
            text += " -- all of them real tokens"
        return text
    return ""


def judge(ex: Exercise, case: Case, out, seed=0, lines=None) -> ExerciseResult:
    """Compare the outputs ``out`` of one call with the case's oracle.

    seed: the public seed (an int), or the grader's label for a secret case ("case 2").
    """
    lines = [_header(ex, case, seed)] if lines is None else lines
    names = list(ex.outputs)

    def fail(problem):
        lines.append(f"FAIL: {problem}")
        return ExerciseResult(ex.name, {}, ex.tol, problem, lines)

    if out is None:
        return fail("not implemented yet: the function returned None "
                    "(write its body -- and check it ends with a `return`)")
    if ex.unpack is not None:
        try:
            out = ex.unpack(out)
        except ValueError as e:
            return fail(str(e))
    if len(names) == 1 and not isinstance(out, tuple):
        out = (out,)
    expected = ", ".join(f"{n} {ex.outputs[n]}" for n in names)
    if not isinstance(out, (tuple, list)):
        return fail(f"expected a tuple of {len(names)} outputs ({expected}), "
                    f"got one {type(out).__name__}")
    if len(out) != len(names):
        return fail(f"expected {len(names)} output{'s' * (len(names) > 1)} ({expected}), "
                    f"got {len(out)}")

    width = max(len(n) for n in names)
    errors, unusable = {}, {}             # unusable: output name -> what is wrong with it
    tols = {n: LARGE_TOL for n in case.directional}
    for name, value in zip(names, out):
        want = case.oracle[name]
        if ex.outputs[name].startswith("["):                    # token-id lists, exact
            got, why = _as_id_lists(value)
            if got is not None and len(got) != len(want):
                why = f"holds {len(got)} lists, expected {len(want)}"
            if why:
                errors[name], unusable[name] = math.inf, f"{name} {why}"
                lines.append(f"  {name:<{width}}  {why}  WRONG")
                continue
            wrong = [k for k, (a, b) in enumerate(zip(got, want)) if a != b]
            errors[name] = len(wrong) / max(len(want), 1)
            detail = (f"{len(want) - len(wrong)}/{len(want)} sequences equal" +
                      (f" (first wrong: #{wrong[0]}: {got[wrong[0]]} != {want[wrong[0]]})" if wrong else ""))
            lines.append(f"  {name:<{width}}  {detail}  {'WRONG' if wrong else 'ok'}")
            continue
        if name in case.directional:
            a, why = _as_host_array(value)
            V, D = case.directional[name]
            if a is not None and a.shape != V.shape[1:]:
                why = f"has shape {a.shape}, expected {ex.outputs[name]} = {V.shape[1:]}"
            if why:
                errors[name], unusable[name] = math.inf, f"{name} {why}"
                lines.append(f"  {name:<{width}}  {why}  WRONG")
                continue
            proj = np.tensordot(V, a, axes=a.ndim)
            errors[name] = rel_error(proj, D) if np.all(np.isfinite(proj)) else math.inf
            verdict = "ok" if errors[name] <= LARGE_TOL else "WRONG"
            if name in case.exact and verdict == "ok":
                where, what = case.exact[name]
                if np.any(a[where] != 0.0):
                    errors[name] = math.inf
                    unusable[name] = f"{name} is not exactly 0 at {what}"
                    verdict = f"WRONG: not exactly 0 at {what}"
            lines.append(f"  {name:<{width}}  {str(V.shape[1:]):<12} rel. error {errors[name]:9.2e}  "
                         f"{verdict} (along {len(D)} random directions)")
            continue
        want = np.asarray(want, dtype=np.float64)
        a, why = _as_host_array(value)
        if a is not None and a.shape != want.shape:
            why = f"has shape {a.shape}, expected {ex.outputs[name]} = {want.shape}"
        if why:
            errors[name], unusable[name] = math.inf, f"{name} {why}"
            lines.append(f"  {name:<{width}}  {why}  WRONG")
            continue
        if np.array_equal(np.isinf(a), np.isinf(want)) and np.all(a[np.isinf(a)] == want[np.isinf(want)]):
            finite = ~np.isinf(want)                            # -inf scores compare as equal
            errors[name] = rel_error(a[finite], want[finite]) if finite.any() else 0.0
        else:
            errors[name] = math.inf
        shown = errors[name]
        verdict = "ok" if errors[name] <= ex.tol else "WRONG"
        if name in case.exact and errors[name] <= ex.tol:       # close is not enough here
            where, what = case.exact[name]
            off = np.nan_to_num(np.abs(a[where] - want[where]), nan=math.inf)
            if off.size and off.max() > 0.0:
                errors[name] = math.inf
                leak = np.argwhere(where & ~(np.abs(a - want) == 0.0))
                at = _listed([tuple(int(i) for i in k) for k in leak], 4)
                unusable[name] = (f"{name} is not exactly {_spell_values(want[where])} at "
                                  f"{what} (off by up to {off.max():.1e}; at indices {at})")
                verdict = f"WRONG: not exactly {_spell_values(want[where])} at {what}"
        lines.append(f"  {name:<{width}}  {str(want.shape):<12} rel. error {shown:9.2e}  {verdict}")
        if verdict == "WRONG" and name in ex.explain:
            where = explain(ex.explain[name], a, want, ex.tol, case)
            if where:
                lines.append(f"  {'':<{width}}  -> {where}")

    result = ExerciseResult(ex.name, errors, ex.tol, "", lines, tols)
    if result.passed:
        what = f"all {len(names)} outputs agree" if len(names) > 1 else f"{names[0]} agrees"
        worst = max(errors.values())
        tol = f"{ex.tol:.0e}" + (f" ({LARGE_TOL:.0e} along random directions)" if tols else "")
        lines.append(f"PASS: {what} with {ex.oracle} (max error {worst:.1e} <= {tol})")
    else:
        parts = list(unusable.values())
        wrong_values = [n for n in result.failed if n not in unusable]
        if wrong_values:
            tol = f"{ex.tol:.0e}" + (f", {LARGE_TOL:.0e} along random directions" if tols else "")
            parts.append(f"wrong values in {', '.join(wrong_values)} (tolerance {tol})")
        lines.append(f"FAIL: {'; '.join(parts)}")
    return result


def run_exercise(ex: Exercise, student_fn: Callable, seed: int = 0,
                 verbose: bool = True, large: bool = False) -> ExerciseResult:
    """Build the case for ``seed``, call ``student_fn`` on it and judge every output."""
    if large and ex.make_large_case is None:
        raise ValueError(f"exercise {ex.name} has no large case")
    try:
        case = (ex.make_large_case if large else ex.make_case)(np.random.default_rng(seed))
    except UNAVAILABLE as e:         # a student edition: a hole, or an unstored seed
        result = ExerciseResult(ex.name, {}, ex.tol, str(e), [
            f"{ex.name}: this check's oracle runs the package's own code, which is yours here",
            f"FAIL: {e}"])
        if verbose:
            print(result)
        return result
    lines = [_header(ex, case, seed)]

    def finish(result):
        if verbose:
            print(result)
        return result

    def fail(problem):
        lines.append(f"FAIL: {problem}")
        return finish(ExerciseResult(ex.name, {}, ex.tol, problem, lines))

    used = library_uses(student_fn)
    if used:
        return fail(f"your function uses minis2s's own code ({', '.join(used)}); the exercise "
                    "is to write it yourself, with NumPy only")
    args = prepare(ex.name, copy.deepcopy(case.args))
    try:
        out = student_fn(*args)
    except NotImplementedError:
        return fail(f"{ex.name} is not implemented yet (it raised NotImplementedError). "
                    f"Stuck? hint({ex.name!r}) lists the hint levels.")
    except Exception as e:  # any bug in the student's code is a FAIL, never a crash
        lines.append(_student_traceback(e))
        return fail(f"your function raised {type(e).__name__}: {e}")
    return finish(judge(ex, case, out, seed, lines))


def format_hint(ex: Exercise, level: int | None) -> str:
    """The text ``hint(name, level)`` prints (level None: the menu)."""
    what = ("1: the concept (the idea, no shapes, no formula)",
            "2: the shapes (what each intermediate array is, and its shape)",
            "3: the structure (every step in order, in words: what comes from what -- not the code)")
    if level is None:
        count = (f"{len(ex.hints)} hint levels; each reveals more than the one before"
                 if len(ex.hints) > 1 else "1 hint level")
        return (f"{ex.name}: {count}.\n  "
                + "\n  ".join(what[:len(ex.hints)])
                + f"\nAsk for one with hint({ex.name!r}, 1).")
    if level not in range(1, len(ex.hints) + 1):
        levels = " or ".join(", ".join(map(str, range(1, len(ex.hints) + 1))).rsplit(", ", 1))
        fewer = (f" (this course's edition of minis2s has {len(ex.hints)} hint level"
                 f"{'s' * (len(ex.hints) > 1)})") if len(ex.hints) < 3 and level in (2, 3) else ""
        raise ValueError(f"hint level must be {levels}, got {level!r}{fewer}")
    return f"{ex.name}, hint {what[level - 1]}:\n" + textwrap.indent(
        textwrap.dedent(ex.hints[level - 1]).strip(), "  ")
