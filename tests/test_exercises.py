"""The exercise checker: right answers pass, typical mistakes fail and are named, the
library cannot do the exercise, and hints come only when asked for.

The checker's oracle is a numerical gradient or the library's own result, never
the reference solutions (instructor/solutions.py, outside the package) -- so
"every solution passes" is a real test of both.
"""
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minis2s.exercises as exercises
import minis2s.functional as F
from minis2s.exercises import EXERCISES, check, hint, list_exercises, template
from conftest import instructor_module

ROOT = Path(__file__).parents[1]

solutions = instructor_module("solutions")

LADDER = ["softmax_cross_entropy", "embedding_backward", "rnn_step_backward", "rnn_backward",
          "lstm_step_forward", "lstm_step_backward", "lstm_backward", "peeky_concat",
          "peeky_decoder_backward", "masked_softmax_forward", "masked_softmax_backward",
          "attention_backward", "clip_gradients", "adam_update", "greedy_search",
          "beam_search", "corpus_bleu", "gru_step_backward"]


def solution(name):
    return getattr(solutions, EXERCISES[name].stub.__name__)


def test_the_ladder_is_in_course_order_with_difficulty_and_time():
    assert list_exercises() == LADDER
    for ex in EXERCISES.values():
        assert ex.level in (1, 2, 3) and 5 <= ex.minutes <= 90
        assert len(ex.hints) == 3


def test_the_solutions_are_not_in_the_package():
    assert not (ROOT / "minis2s" / "exercises" / "solutions.py").exists()
    assert not hasattr(exercises, "solutions")


# --- right answers pass, stubs fail without giving anything away --------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", LADDER)
def test_every_reference_solution_passes(name, seed):
    result = check(name, solution(name), seed=seed, verbose=False)
    assert result, str(result)
    assert list(result.errors) == list(EXERCISES[name].outputs)


def test_sizes_change_with_the_seed():
    sizes = {EXERCISES["lstm_step_backward"].make_case(np.random.default_rng(s)).sizes for s in range(4)}
    assert len(sizes) > 1


@pytest.mark.parametrize("name", LADDER)
def test_every_stub_fails_as_not_implemented_and_gives_no_hint(name, capsys):
    result = check(name, EXERCISES[name].stub)
    out = capsys.readouterr().out
    assert not result and result.errors == {}
    assert "not implemented yet" in result.problem
    assert f"hint({name!r})" in out                        # says where hints are ...
    for level_text in EXERCISES[name].hints:               # ... but prints none of them
        assert level_text.strip().splitlines()[0].strip() not in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL")


def test_the_lstm_stub_does_not_give_dc_total_away(capsys):
    check("lstm_step_backward", EXERCISES["lstm_step_backward"].stub)
    out = capsys.readouterr().out
    assert "dc_total" not in out and "tanh_c" not in out


def test_hints_come_in_levels_that_say_what_they_reveal(capsys):
    hint("lstm_step_backward")
    menu = capsys.readouterr().out
    assert "1: the concept" in menu and "2: the shapes" in menu and "3: the structure" in menu
    assert "dc_total" not in menu
    texts = []
    for level in (1, 2, 3):
        hint("lstm_step_backward", level)
        texts.append(capsys.readouterr().out)
    assert "dc_total =" not in texts[0] and "(N, 4H)" not in texts[0]
    assert "(N, 4H)" in texts[1] and "dc_total =" not in texts[1]
    assert "(1) The cell state c reaches the loss twice" in texts[2]
    assert "dc_total" not in texts[2] and "np." not in texts[2]
    with pytest.raises(ValueError, match="1, 2 or 3"):
        hint("lstm_step_backward", 4)


def test_no_hint_is_code():
    """Level 3 explains the structure in words: no line of any hint is a Python statement that
    computes something, and no hint holds a line of the reference solutions (the audit's test)."""
    import ast
    edition = instructor_module("make_student_edition")
    fingerprints = edition.solution_lines()
    for ex in EXERCISES.values():
        for level, text in enumerate(ex.hints, 1):
            assert edition.find_leaks(text, fingerprints) == [], (ex.name, level)
            if level < 3:
                continue
            for line in textwrap.dedent(text).strip().splitlines():
                try:
                    tree = ast.parse(line.strip())
                except SyntaxError:
                    continue
                assert not any(isinstance(n, (ast.Assign, ast.AugAssign, ast.Call, ast.For))
                               for n in ast.walk(tree)), (ex.name, line)


# --- the verdict is the truth value ----------------------------------------------------

def test_a_failed_check_is_falsy_and_a_passed_one_truthy():
    wrong = check("peeky_concat", lambda dout, E: (dout[..., :E], dout[..., E:].mean(axis=1)),
                  verbose=False)
    assert not wrong and bool(wrong) is False
    with pytest.raises(AssertionError):
        assert check("peeky_concat", lambda dout, E: (dout[..., :E], dout[..., E:].mean(axis=1)),
                     verbose=False)
    assert check("peeky_concat", solutions.peek_backward, verbose=False)


# --- the library cannot do the exercise -------------------------------------------------

LIBRARY_ATTEMPTS = {
    "lstm_step_backward": F.lstm_step_backward,
    "lstm_backward": F.lstm_backward,
    "softmax_cross_entropy": F.softmax_cross_entropy,   # same signature as the exercise
    "rnn_step_backward": lambda dh, cache: F.rnn_step_backward(dh, cache),
    "masked_softmax_backward": F.masked_softmax_backward,
    "attention_backward": F.attention_backward,                # same signature as the exercise
    "gru_step_backward": F.gru_step_backward,                  # same signature as the exercise
}


@pytest.mark.parametrize("name", list(LIBRARY_ATTEMPTS))
def test_the_library_backward_does_not_pass(name, capsys):
    result = check(name, LIBRARY_ATTEMPTS[name])
    assert not result
    assert "minis2s's own code" in result.problem
    assert "minis2s.functional" in capsys.readouterr().out


def test_the_lstm_exercises_are_the_engine_functions_on_the_engine_caches():
    """The exercise is minis2s's own lstm_step_backward: its case is the engine's cache, on which
    the engine's function gives the oracle's answer (and calling it is flagged, above)."""
    case = EXERCISES["lstm_step_backward"].make_case(np.random.default_rng(0))
    dh, dc, cache = case.args
    assert isinstance(cache, F.LSTMStepCache)
    for got, want in zip(F.lstm_step_backward(dh, dc, cache), case.oracle.values()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    cache = EXERCISES["lstm_backward"].make_case(np.random.default_rng(0)).args[3]
    assert isinstance(cache, F.LSTMCache) and isinstance(cache.steps[0], F.LSTMStepCache)


def test_the_attention_exercises_are_the_engine_functions_on_the_engine_caches():
    """On the engine's caches the engine's functions give the oracle's answers (and calling
    them is flagged, above)."""
    case = EXERCISES["attention_backward"].make_case(np.random.default_rng(0))
    dh, dhs, dkeys, grads = F.attention_backward(*case.args)
    for got, want in zip((dh, dhs, dkeys, grads["Wc"]), case.oracle.values()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    case = EXERCISES["masked_softmax_backward"].make_case(np.random.default_rng(0))
    np.testing.assert_allclose(F.masked_softmax_backward(*case.args), case.oracle["dscores"],
                               rtol=1e-6, atol=1e-8)


def test_wrappers_and_helpers_that_reach_the_library_are_flagged():
    from minis2s.metrics import bleu_details
    from minis2s.optim import clip_grad_norm

    def helper(logits, targets, pad):
        return F.softmax_cross_entropy(logits, targets, pad)

    def mine(logits, targets, ignore_index):           # calls the library through a helper
        return helper(logits, targets, ignore_index)
    assert not check("softmax_cross_entropy", mine, verbose=False)

    def bleu(h, r):
        d = bleu_details(h, r)
        return d.score, d.precisions, d.brevity_penalty
    assert "bleu_details" in check("corpus_bleu", bleu, verbose=False).problem

    def clip(dWx, dWh, db, max_norm):
        g = {"a": dWx, "b": dWh, "c": db}
        n = clip_grad_norm(g, max_norm)
        return g["a"], g["b"], g["c"], n
    assert not check("clip_gradients", clip, verbose=False)


def test_a_forward_exercise_answered_by_the_engines_own_forward_is_refused():
    """Its oracle is the engine's function: handing the work to it (or to the oracle's
    helpers, which reach the engine) is a call into minis2s's own code, a FAIL."""
    def lstm_step_forward(a_x, h_prev, c_prev, Wh):
        return F.lstm_step_forward(a_x, h_prev, c_prev, Wh)[:2]
    result = check("lstm_step_forward", lstm_step_forward, verbose=False)
    assert not result and "minis2s's own code" in result.problem
    assert "minis2s.functional" in result.problem

    def masked_softmax_forward(scores, mask):
        return vars(F)["masked_softmax_forward"](scores, mask)[0]         # under another name
    assert not check("masked_softmax_forward", masked_softmax_forward, verbose=False)

    import cheats                                       # in a namespace of its own: no F there
    scope = {}
    exec(cheats.given_forward_answers_the_forward(), scope)      # lstm.F.lstm_step_forward
    result = check("lstm_step_forward", scope["lstm_step_forward"], verbose=False)
    assert not result and "minis2s.functional" in result.problem


def test_a_backward_pass_by_finite_differences_of_the_oracles_loss_is_refused():
    """The oracle's own method, on the oracle's own loss (built on the engine's log_softmax) or
    on the engine's forward pass: right numbers, and a FAIL -- both reach minis2s's code. The
    grader's sandbox cannot import them at all; finite differences of a copy run out of time
    on the large case (tests/test_grading_cheats.py)."""
    from minis2s.exercises.softmax import cross_entropy_loss

    def softmax_cross_entropy(logits, targets, ignore_index):
        d = np.zeros_like(logits)
        for k in np.ndindex(logits.shape):                 # central differences, by hand
            old = logits[k]
            logits[k] = old + 1e-5
            up = float(cross_entropy_loss(logits, targets, ignore_index))
            logits[k] = old - 1e-5
            down = float(cross_entropy_loss(logits, targets, ignore_index))
            logits[k] = old
            d[k] = (up - down) / 2e-5
        return float(cross_entropy_loss(logits, targets, ignore_index)), d
    result = check("softmax_cross_entropy", softmax_cross_entropy, verbose=False)
    assert not result and "minis2s's own code" in result.problem
    assert "minis2s.functional" in result.problem

    def rnn_step_backward(dh, cache):
        h_prev, Wh, h = cache
        inputs = [np.arctanh(h) - h_prev @ Wh, h_prev.copy()]    # a_x, recovered from h
        grads = []
        for a in inputs:
            g = np.zeros_like(a)
            for k in np.ndindex(a.shape):
                old = a[k]
                a[k] = old + 1e-5
                up = (F.rnn_step_forward(*inputs, Wh)[0] * dh).sum()
                a[k] = old - 1e-5
                down = (F.rnn_step_forward(*inputs, Wh)[0] * dh).sum()
                a[k] = old
                g[k] = (up - down) / 2e-5
            grads.append(g)
        return tuple(grads)
    result = check("rnn_step_backward", rnn_step_backward, verbose=False)
    assert not result and "minis2s's own code" in result.problem


# --- the oracles ------------------------------------------------------------------------

def test_the_searches_step_imports_numpy_only():
    """The grader's sandbox loads markov.py by path where minis2s is not importable."""
    import ast
    tree = ast.parse((ROOT / "minis2s" / "exercises" / "markov.py").read_text())
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {node.module.split(".")[0] if node.module else "." for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported <= {"numpy", "__future__"}, imported


def test_the_attention_hints_say_more_at_each_level(capsys):
    texts = []
    for level in (1, 2, 3):
        hint("attention_backward", level)
        texts.append(capsys.readouterr().out)
    assert "used" in texts[0] and "twice" in texts[0] and "(N, S, H)" not in texts[0]
    assert "(N, S, H)" in texts[1] and "(N, S, H)" not in texts[0]
    assert "(5) scores = h keys^T" in texts[2] and "Add the two" in texts[2]
    hint("masked_softmax_forward", 1)
    assert "infinity" not in capsys.readouterr().out      # level 1 gives the idea, not the trick
    hint("masked_softmax_forward", 3)
    assert "minus infinity" in capsys.readouterr().out


def test_the_oracles_loss_is_the_library_loss(rng):
    from minis2s.exercises.softmax import cross_entropy_loss
    logits = rng.standard_normal((2, 3, 5))
    targets = np.array([[1, 2, 0], [4, 0, 0]])
    loss, _ = F.softmax_cross_entropy(logits, targets, ignore_index=0)
    assert abs(float(cross_entropy_loss(logits, targets, 0)) - float(loss)) < 1e-12
    # the mean is over the real positions only: padding moves nothing
    moved = logits.copy()
    moved[targets == 0] += 100.0 * rng.standard_normal(moved[targets == 0].shape)
    assert float(cross_entropy_loss(moved, targets, 0)) == float(cross_entropy_loss(logits, targets, 0))


# --- typical mistakes are caught and named ------------------------------------------------

def _replace(outputs, k, value):
    outputs = list(outputs)
    outputs[k] = value
    return tuple(outputs)


def test_dWh_from_h_instead_of_h_prev_is_named(capsys):
    def wrong(dhs, dhT, dcT, cache):                    # each step's h where its h_prev belongs
        good = solutions.lstm_backward(dhs, dhT, dcT, cache)
        shifted = cache._replace(h0=cache.hs[0], hs=np.concatenate([cache.hs[1:], cache.hs[-1:]]))
        return _replace(good, 4, solutions.lstm_backward(dhs, dhT, dcT, shifted)[4])
    result = check("lstm_backward", wrong)
    assert result.failed == ["dWh"]
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last.startswith("FAIL") and "dWh" in last


def test_transposed_dWh_is_named_with_its_shape(capsys):
    def wrong(dhs, dhT, dcT, cache):
        good = solutions.lstm_backward(dhs, dhT, dcT, cache)
        return _replace(good, 4, good[4].T)
    result = check("lstm_backward", wrong)
    assert result.failed == ["dWh"]
    assert "dWh has shape" in capsys.readouterr().out and "expected (H, 4H)" in result.lines[-1]


def test_missing_dc_term_is_named():
    def wrong(dh, dc, cache):                             # forgets the dc flowing in from t+1
        return solutions.lstm_step_backward(dh, np.zeros_like(dc), cache)
    result = check("lstm_step_backward", wrong, verbose=False)
    assert not result and "dc_prev" in result.failed


def test_lstm_backward_forgetting_the_mask_fails():
    def wrong(dhs, dhT, dcT, cache):
        return solutions.lstm_backward(dhs, dhT, dcT, cache._replace(mask=np.ones_like(cache.mask)))
    result = check("lstm_backward", wrong, verbose=False)
    assert not result and "dx" in result.failed


def test_rnn_backward_without_the_future_gradient_fails():
    def wrong(dhs, dhT, cache):                   # every step sees only its own loss
        steps = [step._replace(Wh=0.0 * step.Wh) for step in cache.steps]   # dh_prev = 0
        return solutions.rnn_backward(dhs, dhT, cache._replace(steps=steps))
    result = check("rnn_backward", wrong, verbose=False)
    assert not result and "dh0" in result.failed
    assert check("rnn_backward", solutions.rnn_backward, verbose=False)


def test_embedding_without_accumulation_is_named():
    def wrong(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] += dout                                   # repeated ids: only one of them counts
        return dW
    assert check("embedding_backward", wrong, verbose=False).failed == ["dW"]


def test_softmax_dividing_by_all_rows_fails():
    def wrong(logits, targets, ignore_index):
        loss, dz = solutions.softmax_cross_entropy(logits, targets, ignore_index)
        real, rows = (targets != ignore_index).sum(), targets.size
        return loss * real / rows, dz * real / rows
    assert set(check("softmax_cross_entropy", wrong, verbose=False).failed) == {"loss", "dlogits"}


def test_peeky_dctx_not_summed_over_time_is_a_shape_error():
    result = check("peeky_concat", lambda dout, E: (dout[..., :E], dout[..., E:]), verbose=False)
    assert result.failed == ["dctx"] and "expected (N, H)" in result.lines[-1]


def test_peeky_decoder_forgetting_the_output_side_dctx_names_dh_enc():
    def wrong(cache):
        out = solutions.peeky_decoder_backward(cache)
        p, H = cache["params"], cache["params"]["Wh"].shape[0]
        _, dlogits = solutions.softmax_cross_entropy(cache["logits"], cache["y_out"], cache["pad_id"])
        dctx_out = (dlogits @ p["W_out"].T)[..., H:].sum(axis=1)
        return _replace(out, 6, out[6] - dctx_out)
    assert check("peeky_decoder_backward", wrong, verbose=False).failed == ["dh_enc"]


def test_clipping_that_always_scales_fails_where_it_should_not_clip():
    def wrong(dWx, dWh, db, max_norm):
        norm = np.sqrt((dWx ** 2).sum() + (dWh ** 2).sum() + (db ** 2).sum())
        s = max_norm / (norm + 1e-6)
        return dWx * s, dWh * s, db * s, norm
    verdicts = [bool(check("clip_gradients", wrong, seed=s, verbose=False)) for s in range(6)]
    assert not all(verdicts)


def test_adam_without_bias_correction_fails():
    def wrong(p, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return p - lr * m / (np.sqrt(v) + eps), m, v
    assert check("adam_update", wrong, verbose=False).failed == ["p_new"]


def test_beam_search_that_keeps_extending_finished_hypotheses_fails():
    """A hypothesis that emitted <eos> must stop, score frozen; extending it is wrong."""
    def wrong(step, state, sos_id, eos_id, max_len, beam_size):
        toks, scores = [], []
        for n in range(state[0].shape[0]):
            s = tuple(a[n:n + 1] for a in state)
            hyps = [([], 0.0)]
            for _ in range(max_len):                      # no `finished`: every beam extends
                logp, ns = step(np.array([h[-1] if h else sos_id for h, _ in hyps]), s)
                cand = sorted(((sc + logp[r, v], h + [int(v)], r) for r, (h, sc) in enumerate(hyps)
                               for v in np.flatnonzero(np.isfinite(logp[r]))), key=lambda c: -c[0])
                cand = cand[:beam_size]
                s = tuple(a[[r for _, _, r in cand]] for a in ns)
                hyps = [(h, sc) for sc, h, _ in cand]
            best, score = hyps[0]
            toks.append(best[:best.index(eos_id)] if eos_id in best else best)
            scores.append(score)
        return toks, np.array(scores)
    verdicts = [bool(check("beam_search", wrong, seed=s, verbose=False)) for s in range(6)]
    assert not all(verdicts)
    assert solutions.beam_search is not wrong and all(
        check("beam_search", solutions.beam_search, seed=s, verbose=False) for s in range(6))


def test_greedy_that_keeps_scoring_after_eos_fails():
    def wrong(step, state, sos_id, eos_id, max_len):
        N = state[0].shape[0]
        tokens, scores, out, done = np.full(N, sos_id), np.zeros(N), [[] for _ in range(N)], np.zeros(N, bool)
        for _ in range(max_len):
            logp, state = step(tokens, state)
            tokens = logp.argmax(1)
            scores += logp[np.arange(N), tokens]                # no `finished` guard
            for n in np.flatnonzero(~done & (tokens != eos_id)):
                out[n].append(int(tokens[n]))
            done |= tokens == eos_id
        return out, scores
    verdicts = [check("greedy_search", wrong, seed=s, verbose=False) for s in range(4)]
    assert any(r.failed == ["scores"] for r in verdicts)


def test_a_beam_that_does_not_move_its_state_rows_with_its_hypotheses_fails():
    """The searches' step is a table whose state is the token before the last one: a beam that
    leaves its state rows where they were, instead of following each kept candidate's parent,
    looks up the wrong rows -- as it would read the wrong hidden states of a decoder."""
    def unmoved(step, state, sos_id, eos_id, max_len, beam_size):
        out, scores = [], []
        for n in range(state[0].shape[0]):
            s = tuple(a[n:n + 1] for a in state)
            hyps = [([], 0.0, False)]
            for _ in range(max_len):
                live = [b for b, h in enumerate(hyps) if not h[2]]
                if not live:
                    break
                logp, ns = step(np.array([hyps[b][0][-1] if hyps[b][0] else sos_id for b in live]),
                                tuple(a[live] for a in s))
                cand = [(sc, t, True) for t, sc, done in hyps if done]
                cand += [(hyps[b][1] + logp[r, v], hyps[b][0] + [int(v)], int(v) == eos_id)
                         for r, b in enumerate(live) for v in np.flatnonzero(np.isfinite(logp[r]))]
                best = sorted(cand, key=lambda c: -c[0])[:beam_size]
                s = tuple(a[np.arange(len(best)) % len(a)] for a in ns)   # rows stay in place
                hyps = [(t, sc, done) for sc, t, done in best]
            t, sc, _ = max(hyps, key=lambda h: h[1])
            out.append(t[:-1] if t and t[-1] == eos_id else t)
            scores.append(sc)
        return out, np.array(scores)
    verdicts = [bool(check("beam_search", unmoved, seed=s, verbose=False)) for s in range(10)]
    assert verdicts.count(False) >= 5, verdicts          # measured: 79 of seeds 0-99 fail


def test_the_search_cases_tell_greedy_from_beam_and_end_at_various_lengths():
    """On the same table, greedy decoding differs from the beam's answer on most beam cases
    (a greedy search handed in as beam search fails), and sentences end at many lengths."""
    from minis2s.exercises.markov import prepare
    differ, lengths, cut = 0, set(), 0
    for seed in range(20):
        case = EXERCISES["beam_search"].make_case(np.random.default_rng(seed))
        step, state, sos_id, eos_id, max_len, _ = prepare("beam_search", case.args)
        greedy, _ = solutions.greedy_search(step, state, sos_id, eos_id, max_len)
        differ += greedy != case.oracle["tokens"]
        g = EXERCISES["greedy_search"].make_case(np.random.default_rng(seed))
        lengths |= {len(t) for t in g.oracle["tokens"]}
        cut += any(len(t) == g.args[4] for t in g.oracle["tokens"])      # ran to max_len
    assert differ >= 15, differ                          # measured: 96 of seeds 0-99
    assert len(lengths) >= 6 and cut >= 2, (lengths, cut)


def test_a_hole_in_the_engine_is_answered_by_the_stored_answers(tmp_path, monkeypatch):
    """In a student edition the engine functions these oracles run are the student's holes:
    the answers stored for the public seeds judge instead -- exactly the computed ones, and
    before anything is computed (a filled but wrong hole does not become the oracle)."""
    from minis2s.errors import ExerciseNotDone
    from minis2s.exercises import stored
    import minis2s.models.search as engine_search

    names = stored.STORED_EXERCISES
    engine_step = F.lstm_step_forward
    computed = {name: [EXERCISES[name].make_case(np.random.default_rng(s)).oracle for s in (0, 1)]
                for name in names}
    monkeypatch.setattr(stored, "STORED", tmp_path / "stored_answers.json")
    stored.write(stored.STORED, names, seeds=(0, 1))

    def hole(name):
        def raises(*args, **kwargs):
            raise ExerciseNotDone(0, name, "a hole")
        return raises
    for module, name in ((F, "lstm_step_forward"), (F, "masked_softmax_forward"),
                         (engine_search, "greedy_search"), (engine_search, "beam_search")):
        monkeypatch.setattr(module, name, hole(name))
    for name in names:
        for seed in (0, 1):
            case = EXERCISES[name].make_case(np.random.default_rng(seed))
            for out, want in computed[name][seed].items():                 # bit for bit
                got = case.oracle[out]
                assert got == want if isinstance(want, list) else np.array_equal(got, want)
            assert check(name, solution(name), seed=seed, verbose=False)
        unstored = check(name, solution(name), seed=7, verbose=False)
        assert not unstored and "stores the answers of seeds 0-1 only" in unstored.problem

    def wrong(*args, **kwargs):                          # a filled hole, wrongly
        return tuple(0.0 * np.asarray(a) for a in args[:2]) + (None,)
    monkeypatch.setattr(F, "lstm_step_forward", wrong)
    assert check("lstm_step_forward", solution("lstm_step_forward"), seed=0, verbose=False)
    assert not check("lstm_step_forward", wrong, seed=0, verbose=False)
    # an unstored seed is refused, not computed: the filled hole would judge itself and pass
    self_judged = check("lstm_step_forward", wrong, seed=7, verbose=False)
    assert not self_judged and "which is your code" in self_judged.problem

    # the exercises the file does not name are computed as always (holes left filled in)
    stored.write(stored.STORED, ["beam_search"], seeds=(0,))
    monkeypatch.setattr(F, "lstm_step_forward", engine_step)
    assert check("lstm_step_forward", solution("lstm_step_forward"), seed=7, verbose=False)
    assert not check("lstm_step_forward", wrong, seed=7, verbose=False)


def test_bleu_without_clipping_or_brevity_penalty_fails():
    def unclipped(hyps, refs):
        from collections import Counter
        m, t = [0] * 4, [0] * 4
        for h, r in zip(hyps, refs):
            for n in range(1, 5):
                hc = Counter(tuple(h[k:k + n]) for k in range(len(h) - n + 1))
                rc = Counter(tuple(r[k:k + n]) for k in range(len(r) - n + 1))
                m[n - 1] += sum(c for g, c in hc.items() if g in rc)     # not min(count, ref count)
                t[n - 1] += sum(hc.values())
        p = [a / b for a, b in zip(m, t)]
        bleu, _, bp = solutions.corpus_bleu(hyps, refs)
        return bleu, p, bp
    assert any("precisions" in check("corpus_bleu", unclipped, seed=s, verbose=False).failed
               for s in range(4))

    def no_bp(hyps, refs):
        bleu, p, bp = solutions.corpus_bleu(hyps, refs)
        return bleu / bp, p, 1.0
    assert any(not check("corpus_bleu", no_bp, seed=s, verbose=False) for s in range(4))


def test_softmax_forward_forgetting_the_mask_is_named():
    def wrong(scores, mask):                              # a plain softmax: padding gets weight
        z = scores - scores.max(axis=2, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    result = check("masked_softmax_forward", wrong, verbose=False)
    assert result.failed == ["alpha"] and "wrong values in alpha" in result.lines[-1]


def test_softmax_forward_taking_the_maximum_over_padding_too_fails():
    """Masking after the shift: the huge padded scores send every real exp to 0 (0/0)."""
    def wrong(scores, mask):
        e = np.exp(scores - scores.max(axis=2, keepdims=True)) * mask[:, None, :]
        return e / e.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore"):
        result = check("masked_softmax_forward", wrong, verbose=False)
    assert result.failed == ["alpha"]


def test_softmax_forward_with_a_finite_mask_value_leaks_and_is_named():
    """-100 instead of -inf: weights of ~1e-44 on padding pass any relative tolerance, not this."""
    def leaky(scores, mask):
        z = np.where(mask[:, None, :] > 0, scores, 0.0) - 100.0 * (mask[:, None, :] == 0)
        z = z - z.max(axis=2, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    result = check("masked_softmax_forward", leaky, verbose=False)
    assert result.errors["alpha"] == np.inf and result.failed == ["alpha"]
    assert "alpha is not exactly 0 at the padded positions" in result.lines[-1]


def test_softmax_backward_with_only_the_jacobian_diagonal_is_named():
    def wrong(dalpha, cache):                             # alpha (1 - alpha): no cross terms
        return dalpha * cache * (1.0 - cache)
    assert check("masked_softmax_backward", wrong, verbose=False).failed == ["dscores"]


def test_softmax_backward_leaking_to_the_padding_is_named():
    def wrong(dalpha, cache):                             # padding keeps its upstream gradient
        return solutions.masked_softmax_backward(dalpha, cache) + (cache == 0) * dalpha
    result = check("masked_softmax_backward", wrong, verbose=False)
    assert result.failed == ["dscores"]


def _plain_softmax(scores):
    z = scores - scores.max(axis=2, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)


def _attention_backward(dh_tilde, cache, mask=True, keys_grad=True, h_direct=True, tanh_prime=True):
    """attention_backward written out, with a switch for each typical mistake (all on: right)."""
    _, _, (h, keys), alpha, (_, hs), (ctx_h, Wc, h_tilde, _) = cache
    H = h.shape[2]
    dpre = dh_tilde * (1.0 - h_tilde ** 2) if tanh_prime else dh_tilde
    dctx_h = dpre @ Wc.T
    dWc = ctx_h.reshape(-1, 2 * H).T @ dpre.reshape(-1, H)
    dctx, dh_direct = dctx_h[..., :H], dctx_h[..., H:]
    dalpha = dctx @ hs.transpose(0, 2, 1)
    dhs = alpha.transpose(0, 2, 1) @ dctx
    a = alpha if mask else _plain_softmax(h @ keys.transpose(0, 2, 1))   # the backward's weights
    dscores = a * (dalpha - (dalpha * a).sum(axis=2, keepdims=True))
    dh = dscores @ keys + (dh_direct if h_direct else 0.0)
    dkeys = dscores.transpose(0, 2, 1) @ h if keys_grad else np.zeros_like(keys)
    return dh, dhs, dkeys, {"Wc": dWc}


def _padded(cache):
    """(N, S) bool: the padded source positions (alpha is exactly 0 there)."""
    return cache.alpha[:, 0, :] == 0


def test_the_written_out_attention_backward_is_right():
    """The broken versions below differ from this one by one switch each."""
    assert all(check("attention_backward", _attention_backward, seed=s, verbose=False) for s in range(3))


def test_attention_forgetting_the_mask_in_the_softmax_backward_is_named():
    def wrong(dh_tilde, cache):                           # unmasked weights in the softmax backward
        return _attention_backward(dh_tilde, cache, mask=False)
    # dWc needs only ctx_h and h_tilde, dhs only alpha, which are right; dh and dkeys go
    # through the softmax backward's weights
    assert check("attention_backward", wrong, verbose=False).failed == ["dh", "dkeys"]
    dh_tilde, cache = EXERCISES["attention_backward"].make_case(np.random.default_rng(0)).args
    assert np.abs(wrong(dh_tilde, cache)[2][_padded(cache)]).min() > 0    # padding gets a gradient


def test_attention_recomputing_the_weights_without_the_mask_is_named():
    def wrong(dh_tilde, cache):                           # alpha itself unmasked, everywhere
        h, keys = cache.score_cache
        alpha = _plain_softmax(h @ keys.transpose(0, 2, 1))
        return solutions.attention_backward(dh_tilde, cache._replace(
            alpha=alpha, context=cache.context._replace(alpha=alpha)))
    assert check("attention_backward", wrong, verbose=False).failed == ["dh", "dhs", "dkeys"]


def test_attention_without_the_gradient_of_the_keys_is_named():
    """The dot score compares h with the keys: forgetting their gradient leaves dkeys wrong, only."""
    def wrong(dh_tilde, cache):
        return _attention_backward(dh_tilde, cache, keys_grad=False)
    assert check("attention_backward", wrong, verbose=False).failed == ["dkeys"]


def test_attention_with_h_only_in_the_scores_is_named():
    def wrong(dh_tilde, cache):                           # forgets h's place in [ctx ; h]
        return _attention_backward(dh_tilde, cache, h_direct=False)
    assert check("attention_backward", wrong, verbose=False).failed == ["dh"]


def test_attention_without_the_tanh_derivative_fails_everywhere():
    def wrong(dh_tilde, cache):                           # dpre = dh_tilde
        return _attention_backward(dh_tilde, cache, tanh_prime=False)
    assert check("attention_backward", wrong, verbose=False).failed == ["dh", "dhs", "dkeys", "dWc"]


def test_attention_transposed_dWc_is_a_shape_error_naming_it():
    def wrong(dh_tilde, cache):
        dh, dhs, dkeys, grads = solutions.attention_backward(dh_tilde, cache)
        return dh, dhs, dkeys, {"Wc": grads["Wc"].T}
    result = check("attention_backward", wrong, verbose=False)
    assert result.failed == ["dWc"] and "dWc has shape" in result.lines[-1]
    assert "expected (2H, H)" in result.lines[-1]


def test_attention_without_the_grads_dict_says_what_it_expects():
    def wrong(dh_tilde, cache):                           # dWc bare, as a fourth output
        dh, dhs, dkeys, grads = solutions.attention_backward(dh_tilde, cache)
        return dh, dhs, dkeys, grads["Wc"]
    result = check("attention_backward", wrong, verbose=False)
    assert not result and "grads {'Wc': dWc (2H, H)}" in result.problem


def test_attention_dhs_leaking_into_padding_is_named(capsys):
    """A gradient of 1e-30 on padded encoder outputs is within any tolerance, and still wrong."""
    def leaky(dh_tilde, cache):
        dh, dhs, dkeys, grads = solutions.attention_backward(dh_tilde, cache)
        return dh, dhs + 1e-30, dkeys, grads
    result = check("attention_backward", leaky)
    out = capsys.readouterr().out
    assert result.failed == ["dhs"]
    assert "dhs is not exactly 0 at the padded source positions" in result.lines[-1]
    assert "WRONG: not exactly 0 at the padded source positions" in out


def test_every_attention_case_has_padding_and_several_steps_positions_and_sentences():
    for seed in range(6):
        case = EXERCISES["attention_backward"].make_case(np.random.default_rng(seed))
        dh_tilde, cache = case.args
        N, T, S = cache.alpha.shape
        assert N > 1 and T > 1 and S > 1
        padded, _ = case.exact["dhs"]
        assert padded.any() and not padded.all()
        assert np.all(case.oracle["dhs"][padded] == 0.0)     # the numerical gradient: exactly 0


# --- the checker survives broken functions and cannot be fooled ----------------------------

def test_a_function_that_raises_fails_with_the_exception(capsys):
    def broken(dh, dc, cache):
        return dh @ cache.Wh.T                            # (N, H) @ (4H, H): a shape bug
    result = check("lstm_step_backward", broken)
    out = capsys.readouterr().out
    assert not result and "ValueError" in result.problem
    assert "Traceback" in out and "in broken" in out


def test_returning_None_is_not_implemented_yet():
    def forgot_return(dout, cache):
        ids, V = cache
        np.zeros((V, dout.shape[-1]))
    result = check("embedding_backward", forgot_return, verbose=False)
    assert not result and "not implemented yet" in result.problem


def test_wrong_number_of_outputs_fails():
    result = check("lstm_step_backward",
                   lambda dh, dc, cache: solutions.lstm_step_backward(dh, dc, cache)[:2], verbose=False)
    assert not result and "expected 3 outputs" in result.problem and "dc_prev (N, H)" in result.problem


def test_scribbling_on_the_arguments_changes_nothing():
    """The oracle is computed first and the function gets copies: in-place writes are harmless."""
    def scribbler(dh, dc, cache):
        grads = solutions.lstm_step_backward(dh, dc, cache)
        for a in (dh, dc, *cache):
            a[...] = 0.0
        return grads
    assert check("lstm_step_backward", scribbler, verbose=False)


def test_unknown_exercise_is_a_key_error():
    with pytest.raises(KeyError, match="lstm_step_backward"):
        check("lstm_step_backwards", solutions.lstm_step_backward)


def test_template_holds_every_stub_and_no_hint(tmp_path):
    text = template()
    compile(text, "submission.py", "exec")
    for ex in EXERCISES.values():
        assert f"def {ex.stub.__name__}(" in text
        assert ex.hints[2].strip().splitlines()[0].strip() not in text


# --- finer feedback: where a wrong output is wrong (issue 22) ----------------------------------

def _gate_columns(a, H, perm):
    """a (.., 4H) with its gate blocks reordered by perm (e.g. (0, 3, 2, 1) swaps f and o)."""
    return np.concatenate([a[..., k * H:(k + 1) * H] for k in perm], axis=-1)


def test_gates_in_the_wrong_order_name_their_blocks():
    def swapped(dh, dc, cache):                          # f and o swapped in da
        da, dh_prev, dc_prev = solutions.lstm_step_backward(dh, dc, cache)
        return _gate_columns(da, cache.Wh.shape[0], (0, 3, 2, 1)), dh_prev, dc_prev
    result = check("lstm_step_backward", swapped, verbose=False)
    assert result.failed == ["da"]
    text = str(result)
    assert text.count("-> wrong in the blocks of gates f, o") == 1 and "i, g right" in text
    wrong_bptt = check("lstm_backward", lambda *args: (lambda dx, dh0, dc0, dWx, dWh, db: (
        dx, dh0, dc0, *(_gate_columns(a, dWh.shape[0], (0, 3, 2, 1)) for a in (dWx, dWh, db))))(
        *solutions.lstm_backward(*args)), verbose=False)
    assert wrong_bptt.failed == ["dWx", "dWh", "db"]
    assert str(wrong_bptt).count("-> wrong in the blocks of gates f, o") == 3


def test_a_missing_forget_gate_term_names_the_f_block_only():
    def no_df(dh, dc, cache):                            # df = 0: forgets dc_total * c_prev
        return solutions.lstm_step_backward(dh, dc, cache._replace(c_prev=0.0 * cache.c_prev))
    result = check("lstm_step_backward", no_df, verbose=False)
    assert "da" in result.failed and "dc_prev" not in result.failed
    assert str(result).count("-> wrong in the block of gate f (") == 1


def test_embedding_without_accumulation_names_the_repeated_ids():
    def wrong(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] += dout                                   # repeated ids: only one write counts
        return dW
    result = check("embedding_backward", wrong, verbose=False)
    case = EXERCISES["embedding_backward"].make_case(np.random.default_rng(0))
    ids = case.context["ids"].reshape(-1)
    repeated = sorted(int(v) for v in set(ids.tolist()) if (ids == v).sum() > 1)
    assert f"rows {', '.join(map(str, repeated))} differ -- every one of them an id that occurs " \
           "several times" in str(result)


def test_embedding_writing_to_an_unused_row_names_it():
    def wrong(dout, cache):
        ids, V = cache
        dW = solutions.embedding_backward(dout, cache)
        dW[V - 1] += 1.0                                  # row V-1 is never looked up
        return dW
    result = check("embedding_backward", wrong, verbose=False)
    V = EXERCISES["embedding_backward"].make_case(np.random.default_rng(0)).args[1].V
    assert f"rows no id looked up (should be exactly 0): {V - 1}" in str(result)


def test_softmax_gradient_at_padding_names_the_padded_positions():
    def wrong(logits, targets, ignore_index):             # padding rows keep p - 0
        loss, d = solutions.softmax_cross_entropy(logits, targets, ignore_index)
        z = logits - logits.max(axis=-1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        pad = (targets == ignore_index)[..., None]
        return loss, np.where(pad, p / (targets != ignore_index).sum(), d)
    result = check("softmax_cross_entropy", wrong, verbose=False)
    assert result.failed == ["dlogits"]
    assert "-- all of them padding" in str(result)


def test_lstm_backward_ignoring_the_mask_names_the_positions():
    def wrong(dhs, dhT, dcT, cache):
        return solutions.lstm_backward(dhs, dhT, dcT, cache._replace(mask=np.ones_like(cache.mask)))
    result = check("lstm_backward", wrong, verbose=False)
    assert "dx" in result.failed
    line = next(l for l in result.lines if "positions (n, t) that differ" in l)
    assert "of them padding" in line and "real" in line


def test_padding_leaks_name_their_indices():
    def leaky(dh_tilde, cache):
        dh, dhs, dkeys, grads = solutions.attention_backward(dh_tilde, cache)
        dhs = dhs.copy()
        n, s = np.argwhere(_padded(cache))[0]
        dhs[n, s, 0] += 1e-30
        return dh, dhs, dkeys, grads
    result = check("attention_backward", leaky, verbose=False)
    assert result.failed == ["dhs"]
    n, s = np.argwhere(_padded(EXERCISES["attention_backward"].make_case(np.random.default_rng(0))
                               .args[1]))[0]
    assert f"at indices ({n}, {s}, 0))" in result.lines[-1]


# --- the large cases: realistic sizes, checked along random directions -------------------------

LARGE = [name for name, ex in EXERCISES.items() if ex.make_large_case is not None]


@pytest.mark.parametrize("name", LARGE)
def test_the_large_cases_pass_the_reference_and_catch_a_small_error(name):
    fn = solution(name)
    result = check(name, fn, seed=1, large=True, verbose=False)
    assert result, str(result)
    case = EXERCISES[name].make_large_case(np.random.default_rng(1))
    assert case.directional and "large" in case.sizes

    def slightly_off(*args):                            # one output 0.1 % too large
        out = fn(*args)
        out = out if isinstance(out, tuple) else (out,)
        k = list(EXERCISES[name].outputs).index(next(iter(case.directional)))
        out = out[:k] + (out[k] * 1.001,) + out[k + 1:]
        return out if len(out) > 1 else out[0]
    wrong = check(name, slightly_off, seed=1, large=True, verbose=False)
    assert wrong.failed == [next(iter(case.directional))]
    assert "along 4 random directions" in str(wrong)


def test_the_large_case_of_the_masked_softmax_still_wants_exact_zeros():
    def leaky(dalpha, cache):
        return solutions.masked_softmax_backward(dalpha, cache) + 1e-30
    result = check("masked_softmax_backward", leaky, large=True, verbose=False)
    assert result.failed == ["dscores"] and "not exactly 0 at the padded positions" in str(result)


# a realistic mistake in each sequence-level backward pass: (the reference's line, the mistake,
# outputs that must then be wrong)
LARGE_MISTAKES = {
    "rnn_backward": ("dh_next = dh_prev + np.where(real, 0.0, dh)", "dh_next = dh_prev",
                     {"dx", "dh0", "dWh"}),            # padded rows drop their gradient
    "lstm_backward": ("dc_next = dc_prev + np.where(real, 0.0, dc)", "dc_next = dc_prev",
                      {"dx", "dc0", "dWh"}),          # ... their cell's gradient
    "attention_backward": ("return dh_direct + dh_score,", "return dh_direct,", {"dh"}),
    "peeky_decoder_backward": ("dh_enc = dh0 + dctx_in + dctx_out", "dh_enc = dh0 + dctx_in",
                               {"dh_enc"}),           # the output side's use of ctx forgotten
}


@pytest.mark.parametrize("name", sorted(LARGE_MISTAKES))
def test_the_large_cases_of_the_sequence_backwards_catch_a_realistic_mistake(name):
    line, mistake, wrong_outputs = LARGE_MISTAKES[name]
    source = (ROOT / "instructor" / "solutions.py").read_text()
    assert line in source
    broken = {}
    exec(compile(source.replace(line, mistake), "broken_solutions.py", "exec"), broken)
    result = check(name, broken[EXERCISES[name].stub.__name__], seed=2, large=True, verbose=False)
    assert not result and wrong_outputs <= set(result.failed), str(result)
    assert "along 4 random directions" in str(result)


def test_the_large_case_of_attention_still_wants_exact_zeros_at_padding():
    def leaky(dh_tilde, cache):
        dh, dhs, dkeys, grads = solutions.attention_backward(dh_tilde, cache)
        return dh, dhs + 1e-30, dkeys, grads
    result = check("attention_backward", leaky, large=True, verbose=False)
    assert result.failed == ["dhs"] and "not exactly 0 at the padded source positions" in str(result)


def test_an_exercise_without_a_large_case_says_so():
    with pytest.raises(ValueError, match="no large case"):
        check("beam_search", solutions.beam_search, large=True)


# --- check(name) without a function: the package's own implementation ----------------------

from minis2s.exercises.engine import ENGINE  # noqa: E402


@pytest.mark.parametrize("name", list(ENGINE))
def test_the_packages_own_functions_pass_their_engine_checks(name):
    for seed in (0, 1):
        result = check(name, seed=seed, verbose=False)
        assert result, str(result)


def test_the_engine_check_judges_whatever_the_package_holds(monkeypatch, capsys):
    """Break it: a package whose lstm_step_backward forgets the forget-gate term fails, and the
    report names the f block of da -- the pre-activation gradient."""
    right = F.lstm_step_backward

    def no_df(dh, dc, cache):
        da, dh_prev, dc_prev = right(dh, dc, cache._replace(c_prev=0.0 * cache.c_prev))
        return da, da @ cache.Wh.T, dc_prev
    monkeypatch.setattr(F, "lstm_step_backward", no_df)
    result = check("lstm_step_backward")
    out = capsys.readouterr().out
    assert not result and "da" in result.failed and "dc_prev" not in result.failed
    assert "-> wrong in the block of gate f" in out
    assert "minis2s.functional.lstm_step_backward" in out
    with pytest.raises(KeyError, match="no engine check yet"):
        check("beam_search")


def test_the_engine_check_judges_the_decoders_own_backward(monkeypatch, capsys):
    """Exercise 9 is a method, Decoder.backward: check("peeky_decoder_backward") runs the
    package's decoder. Break it -- the gradient handed to the encoder loses half of h's -- and
    the check fails on dh_enc alone, naming the method."""
    from minis2s.models.decoder import Decoder
    from minis2s.models.encoder import Encoded
    right = Decoder.backward

    def half_dh(self, dlogits, cache):
        d = right(self, dlogits, cache)
        return Encoded(d.hs, d.mask, 0.5 * d.h, d.c)
    monkeypatch.setattr(Decoder, "backward", half_dh)
    result = check("peeky_decoder_backward")
    out = capsys.readouterr().out
    assert not result and result.failed == ["dh_enc"]
    assert "minis2s.models.decoder.Decoder.backward" in out


def test_the_engine_check_fails_a_gru_step_without_its_direct_path(monkeypatch, capsys):
    """Break it: a package whose gru_step_backward forgets h_prev's direct path (dh * z) fails
    on dh_prev alone; the reference solution of exercise 18, written that way, fails too."""
    right = F.gru_step_backward

    def no_highway(dh, cache):
        da_x, dh_prev, da_h = right(dh, cache)
        return da_x, dh_prev - dh * cache.z, da_h
    monkeypatch.setattr(F, "gru_step_backward", no_highway)
    result = check("gru_step_backward")
    out = capsys.readouterr().out
    assert not result and result.failed == ["dh_prev"]
    assert "minis2s.functional.gru_step_backward" in out

    def student_no_highway(dh, cache):
        da_x, dh_prev, da_h = solutions.gru_step_backward(dh, cache)
        return da_x, dh_prev - dh * cache.z, da_h
    assert not check("gru_step_backward", student_no_highway, verbose=False)
    assert check("gru_step_backward", solutions.gru_step_backward, verbose=False)


def test_lstm_step_forward_may_return_the_engines_cache_too():
    """The engine's lstm_step_forward returns (h, c, cache), and so does notebook 01's answer:
    check and the grader take (h, c) from it; any other length is still a FAIL."""
    def with_cache(*args):
        h, c = solutions.lstm_step_forward(*args)
        return h, c, ("a", "cache")
    assert check("lstm_step_forward", with_cache, verbose=False)
    assert not check("lstm_step_forward", lambda *a: with_cache(*a) + (0,), verbose=False)
