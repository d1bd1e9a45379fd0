"""The numbers docs/derivations.md states, recomputed with minis2s's own code.

Each test reads its claim *out of the Markdown* (a table row, a number in a sentence) and
computes it with the library (or with NumPy and sacrebleu where the claim is about
mathematics, not code), so the text and the code cannot drift apart: edit a number in the
text, or change what the code does, and a test here fails and names the claim.
test_docs.py checks the *names* the derivations use; this file checks their *numbers*.
"""
import inspect
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from minis2s.functional import lstm_forward, sigmoid
from minis2s.functional.attention import general_score_forward
from minis2s.layers import LSTM, Embedding
from minis2s.metrics import bleu_details, corpus_bleu
from minis2s.models.search import beam_search
from minis2s.optim import SGD, Adam, clip_grad_norm

TEXT = (Path(__file__).parents[1] / "docs" / "derivations.md").read_text()


def section(title):
    """The body of the '## title' section."""
    parts = re.split(r"^## (.+)$", TEXT, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        if name.strip() == title:
            return body
    raise AssertionError(f"docs/derivations.md has no section {title!r}")


def find(pattern, text, what):
    """The groups of the one match of ``pattern`` in ``text``; a failure names the claim."""
    m = re.search(pattern, text, flags=re.S | re.M)
    assert m, f"docs/derivations.md no longer states {what} (pattern {pattern!r})"
    return m.groups()


def number(s):
    """'1e-4', '1/16', '0.0021', '3000' -> float."""
    s = s.strip()
    if "/" in s:
        a, b = s.split("/")
        return float(a) / float(b)
    return float(s)


def decimals(s):
    """How many decimals a number was printed with: the tolerance the text promises."""
    s = s.strip()
    return len(s.split(".")[1]) if "." in s and "e" not in s else 0


def assert_printed(value, printed, what):
    """``value`` rounds to the number the text printed (at the text's own precision)."""
    if "/" in printed or "e" in printed:
        assert value == pytest.approx(number(printed), rel=0.05), f"{what}: text {printed}, code {value:.4g}"
        return
    tol = 0.5 * 10 ** -decimals(printed) + 1e-12
    assert abs(value - float(printed)) <= tol, f"{what}: text says {printed}, the code gives {value:.6g}"


# --- conventions: the initial and the final state ------------------------------------------

def test_the_state_convention_is_stated_once_and_matches_lstm_forward():
    conv = section("Conventions")
    find(r"initial\* state.*?\$h_\{-1\}, c_\{-1\}\$: the code's `h0`, `c0`", conv,
         "that the initial state h_{-1}, c_{-1} is the code's h0, c0")
    find(r"final\* state.*?\$h_\{T-1\}, c_\{T-1\}\$: the code's `hT`, `cT`", conv,
         "that the final state h_{T-1}, c_{T-1} is the code's hT, cT")
    # Nowhere else may a state be called h_0 / h_T (h_0 is step 0's *output*).
    rest = TEXT.replace(conv, "")
    stray = re.findall(r"\b(?:d?[hc])_(?:0|T)\b|\b(?:d?[hc])_\{(?:0|T)\}", rest)
    assert not stray, f"state symbols outside the convention: {stray}"

    rng = np.random.default_rng(0)
    N, T, D, H = 2, 4, 3, 5
    x = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((2, N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    hs, (hT, cT), _ = lstm_forward(x, h0, c0, Wx, Wh, b)
    assert np.array_equal(hT, hs[:, T - 1])           # hT is h_{T-1}, the last step's output
    assert not np.allclose(hs[:, 0], h0)             # h_0 (step 0's output) is not h0


# --- initialisation ---------------------------------------------------------------------

def _init_rows():
    body = section("Initialisation: the variance a layer passes on")
    E, H = map(int, find(r"embedding size E = D = (\d+), hidden size H = (\d+)", body,
                         "the sizes the initialisation table assumes"))
    rows = {}
    for name, vx, vw, std in re.findall(
            r"^\| (book|`uniform`|`scaled`|`fan_in`)[^|]*\| ([\d./e-]+) \| ([\d./e-]+) \| ([\d./e-]+) \|$",
            body, flags=re.M):
        rows[name.strip("`")] = (vx, vw, std)
    assert set(rows) == {"book", "uniform", "scaled", "fan_in"}, f"table rows found: {sorted(rows)}"
    return body, E, H, rows


def test_initialisation_table_matches_the_code():
    _, E, H, rows = _init_rows()
    V = 4000                                  # many embedding rows: tight variance estimates
    for init in ("uniform", "scaled", "fan_in"):
        rng = np.random.default_rng(0)
        W_emb = np.asarray(Embedding(V, E, rng, init).params["W"], dtype=np.float64)
        Wx = np.asarray(LSTM(E, H, rng, 1, 0.0, init).params["0.Wx"], dtype=np.float64)
        v_x, v_W, std = W_emb.var(), Wx.var(), (W_emb @ Wx).std()
        text_vx, text_vw, text_std = rows[init]
        for value, printed, what in ((v_x, text_vx, "embedding v_x"), (v_W, text_vw, "v_W"),
                                     (std, text_std, "std of x Wx")):
            # drawn values: within 5 % of the printed figure (or of its last digit)
            target = number(printed)
            slack = max(0.05 * target, 0.5 * 10 ** -decimals(printed))
            assert abs(value - target) <= slack, f"{init}: {what} text {printed}, code {value:.4g}"
        assert number(text_std) == pytest.approx(math.sqrt(E * number(text_vx) * number(text_vw)),
                                                 rel=0.1, abs=0.001), f"{init}: std != sqrt(D v_x v_W)"
    # the book's: embeddings N(0, 0.01^2), weights N(0, 1/D)
    vx, vw, std = rows["book"]
    assert number(vx) == pytest.approx(0.01 ** 2) and number(vw) == pytest.approx(1 / E)
    assert_printed(math.sqrt(E * 0.01 ** 2 / E), std, "book: std of x Wx")


def test_only_the_scaled_row_depends_on_H():
    body, E, H, rows = _init_rows()
    find(r"the `scaled`\s+row depends on H, the others do not", body, "which row depends on H")
    for init in ("uniform", "scaled", "fan_in"):
        v_W = [np.asarray(LSTM(E, width, np.random.default_rng(0), 1, 0.0, init).params["0.Wx"],
                          dtype=np.float64).var() for width in (H, H // 4)]
        changed = abs(v_W[1] - v_W[0]) > 0.5 * v_W[0]
        assert changed == (init == "scaled"), f"{init}: v_W {v_W[0]:.3g} at H = {H}, {v_W[1]:.3g} at H/4"


def test_recurrent_singular_values_and_gate_saturation():
    body = section("Initialisation: the variance a layer passes on")
    fan, uni, sca, H = find(r"about (\S+) for `fan_in`, (\S+) for `uniform` and (\S+) for `scaled` at\s+H = (\d+)",
                            body, "the largest singular value of a gate's block of Wh")
    H = int(H)
    for init, printed in (("fan_in", fan), ("uniform", uni), ("scaled", sca)):
        Wh = np.asarray(LSTM(8, H, np.random.default_rng(1), 1, 0.0, init).params["0.Wh"], dtype=np.float64)
        block = Wh[:, H:2 * H]                                  # the forget gate's H x H block
        sigma = np.linalg.svd(block, compute_uv=False)[0]
        assert sigma == pytest.approx(float(printed), rel=0.05), f"{init}: sigma_max {sigma:.3f}"
        assert sigma == pytest.approx(2 * math.sqrt(H * block.var()), rel=0.05)
    d2, d4 = find(r"it is (\S+) at\s+\$\|a\| = 2\$ and (\S+) at \$\|a\| = 4\$", body,
                  "the sigmoid's derivative at 2 and 4")
    for a, printed in ((2.0, d2), (4.0, d4)):
        s = float(sigmoid(np.array(a)))
        assert_printed(s * (1 - s), printed, f"sigmoid'({a})")


def test_fan_out_and_unscaled_weights():
    body, E, H, _ = _init_rows()
    printed, = find(r"\(4H/D\)\\, v_\{da\}\$ \((\d+) \$v_\{da\}\$ for the date task\)", body,
                    "the fan-out factor of Wx")
    # Var(dx) / Var(da) through dx = da @ Wx.T, measured with the fan_in-initialised Wx
    Wx = np.asarray(LSTM(E, H, np.random.default_rng(6), 1, 0.0, "fan_in").params["0.Wx"], dtype=np.float64)
    da = np.random.default_rng(7).standard_normal((2000, 4 * H))
    assert (da @ Wx.T).var() == pytest.approx(int(printed), rel=0.05)
    assert int(printed) == 4 * H // E
    var, std, share = find(r"variance of D = (\d+) \(std (\d+)\), and about (\d+) % of the gates would start "
                           r"beyond \$\|a\| = 4\$", body, "what unscaled N(0, 1) weights do")
    assert (int(var), int(std)) == (E, round(math.sqrt(E)))
    x = np.random.default_rng(8).standard_normal((4000, E))             # fan_in embeddings, N(0, 1)
    a = x @ np.random.default_rng(9).standard_normal((E, 4 * H))       # unscaled N(0, 1) weights
    assert 100 * np.mean(np.abs(a) > 4) == pytest.approx(int(share), abs=1)
    assert 100 * math.erfc(4 / (math.sqrt(E) * math.sqrt(2))) > int(share) + 1    # "not the 32 %"


def test_minis2s_sets_no_forget_gate_bias():
    body = section("The vanilla RNN and vanishing gradients")
    find(r"minis2s does\s+\*not\* do that", body, "that minis2s sets no forget-gate bias")
    H = 64
    for init in ("uniform", "scaled", "fan_in"):
        b = np.asarray(LSTM(8, H, np.random.default_rng(2), 1, 0.0, init).params["0.b"], dtype=np.float64)
        f = sigmoid(b[H:2 * H])                                 # gate order i, f, g, o
        assert abs(f.mean() - 0.5) < 0.02, f"{init}: forget gates start at {f.mean():.3f}, not ~0.5"


# --- Adam and clipping --------------------------------------------------------------------

def _adam_defaults():
    sig = inspect.signature(Adam)
    return sig.parameters["beta1"].default, sig.parameters["beta2"].default


def test_adam_first_step_factor_without_bias_correction():
    printed, = find(r"at \$t = 1\$ by a factor\s+\$\(1-\\beta_1\)/\\sqrt\{1-\\beta_2\} \\approx (\S+?)\$",
                    section("Adam"), "Adam's first-step factor without bias correction")
    b1, b2 = _adam_defaults()
    assert_printed((1 - b1) / math.sqrt(1 - b2), printed, "(1-b1)/sqrt(1-b2)")


def test_clipping_does_nothing_to_adams_first_step():
    body = section("Gradient clipping by global norm")
    find(r"clipping has no effect at all on the first step", body, "Adam's first step under clipping")
    rng = np.random.default_rng(3)
    g = rng.standard_normal(50) * 100                          # norm ~700: clipped to 1
    moves = []
    for clip in (False, True):
        p = {"w": np.zeros(50)}
        grads = {"w": g.copy()}
        if clip:
            assert clip_grad_norm(grads, 1.0) > 1.0
        Adam(p, lr=0.01).step(grads)
        moves.append(-p["w"])
    # lr g / (|g| + eps): the same for g and s g, up to eps / |s g| (<= 1e-4 here)
    np.testing.assert_allclose(moves[0], moves[1], rtol=1e-4)
    np.testing.assert_allclose(moves[1], 0.01 * np.sign(g), rtol=1e-4)   # lr * sign(g)


def _spike_run(optimizer, clip, steady, after):
    """Updates (in units of lr = 1): `steady` steps of (0.1, 0.1), one spike (100, 0.1), then steady."""
    p = {"w": np.zeros(2)}
    opt = Adam(p, lr=1.0) if optimizer == "Adam" else SGD(p, lr=1.0)
    updates = []
    for t in range(steady + 1 + after):
        grads = {"w": np.array([100.0, 0.1]) if t == steady else np.array([0.1, 0.1])}
        if clip:
            clip_grad_norm(grads, 1.0)
        before = p["w"].copy()
        opt.step(grads)
        updates.append(before - p["w"])
    return updates


def test_clipping_under_adam_and_sgd_table():
    body = section("Gradient clipping by global norm")
    steady, = find(r"\(0\.1, 0\.1\)\s+for (\d+) steps, then one spike \(100, 0\.1\)", body,
                   "the spike example's set-up")
    cols = [int(c) for c in find(r"\| \| at the spike \| (\d+) steps after it \| (\d+) steps after it \|",
                                 body, "the spike table's columns")]
    pair = r"\(([\d.]+), ([\d.]+)\)"
    rows = {}
    for opt, clip in (("Adam", "no clipping"), ("Adam", "clipping at 1"),
                      ("SGD", "no clipping"), ("SGD", "clipping at 1")):
        g = find(rf"^\| {opt}, {clip} \| {pair} \| {pair} \| {pair} \|$", body,
                 f"the row '{opt}, {clip}'")
        rows[opt, clip != "no clipping"] = [g[i:i + 2] for i in (0, 2, 4)]
    for (opt, clip), printed in rows.items():
        updates = _spike_run(opt, clip, int(steady), max(cols))
        at = [int(steady), int(steady) + cols[0], int(steady) + cols[1]]
        for t, (u0, u1) in zip(at, printed):
            assert_printed(updates[t][0], u0, f"{opt}, clip={clip}, step {t}, parameter 0")
            assert_printed(updates[t][1], u1, f"{opt}, clip={clip}, step {t}, parameter 1")
    # SGD: clipping keeps the spike's direction exactly
    u = _spike_run("SGD", True, 2, 0)[2]
    assert np.dot(u, [100, 0.1]) / (np.linalg.norm(u) * np.linalg.norm([100, 0.1])) == pytest.approx(1.0)


# --- beam search --------------------------------------------------------------------------

PAD, SOS, EOS, A, B, C = range(6)


@dataclass
class _ToyState:
    h: np.ndarray        # (1, M, 1): beam_search reads the number of rows and the dtype here
    n: np.ndarray        # (M,) tokens emitted so far

    def take(self, idx):
        return _ToyState(self.h[:, idx], self.n[idx])


class _ToyDecoder:
    """The text's example: <eos> 0.5, a 0.3, b 0.2; then a -> <eos> 0.98; b -> c x 8 -> <eos>, 0.999 each."""

    def start(self, enc):
        return _ToyState(np.zeros((1, enc, 1)), np.zeros(enc, dtype=int))

    def step(self, tokens, state):
        p = np.full((len(tokens), 6), 1e-9)
        for r, (tok, n) in enumerate(zip(tokens, state.n)):
            if tok == SOS:
                p[r, [EOS, A, B]] = 0.5, 0.3, 0.2
            elif tok == A:
                p[r, [EOS, C]] = 0.98, 0.02
            else:                                   # b or c: eight c's, then <eos>
                p[r, [C, EOS] if n < 9 else [EOS, C]] = 0.999, 0.001
        return np.log(p), _ToyState(state.h, state.n + 1)


def test_length_penalty_constants_and_pruning_on_raw_scores():
    body = section("Beam search with length normalisation")
    c, d = map(int, find(r"lp\(\|y\|\) = \\left\(\\frac\{(\d+) \+ \|y\|\}\{(\d+)\}\\right\)\^\{\\alpha\}", body,
                         "the length penalty's constants"))
    assert c + 1 == d, "lp(1) = 1 needs the denominator to be the numerator's constant + 1"
    best, empty = find(r"score,\s+\$\(\\log 0\.2 \+ 9 \\log 0\.999\)/2\.5 = (-[\d.]+)\$, against "
                       r"\$\\log 0\.5 = (-[\d.]+)\$", body, "the pruning example's scores")
    for k, expect in ((3, [B] + [C] * 8), (2, [])):
        hyps, scores = beam_search(_ToyDecoder(), 1, max_len=12, beam_size=k, sos_id=SOS,
                                   eos_id=EOS, pad_id=PAD, n_best=1, alpha=1.0)
        assert hyps[0][0] == expect, f"k = {k}: {hyps[0][0]}"
        if k == 3:      # ten tokens, <eos> included: divided by lp(10) = ((c + 10) / d)
            raw = math.log(0.2) + 9 * math.log(0.999)
            assert scores[0][0] == pytest.approx(raw / ((c + 10) / d))
            assert_printed(scores[0][0], best, "the ten-token hypothesis' normalised score")
        else:           # one token: lp(1) = 1, the raw score itself
            assert scores[0][0] == pytest.approx(math.log(0.5), rel=1e-12)
            assert_printed(scores[0][0], empty, "<eos> alone")


# --- BLEU ---------------------------------------------------------------------------------

def test_bleu_worked_example_matches_minis2s_and_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    body = section("BLEU")
    pairs = re.findall(r"^\| \d \| ([a-z ]+) \| ([a-z ]+) \|$", body, flags=re.M)
    assert len(pairs) == 2, pairs
    hyps, refs = [h.split() for h, _ in pairs], [r.split() for _, r in pairs]
    d = bleu_details(hyps, refs)
    ps = find(r"Pooled: \$p_1 = ([\d/]+)\$, \$p_2 = ([\d/]+)\$, \$p_3 = ([\d/]+)\$, \$p_4 = ([\d/]+)\$",
              body, "the example's pooled precisions")
    assert [f"{m}/{t}" for m, t in zip(d.matches, d.totals)] == list(ps)
    c, r, r2, c2, bp = find(r"\$c = (\d+)\$ and \$r = (\d+)\$, so \$BP = e\^\{1 - (\d+)/(\d+)\} = ([\d.]+)\$",
                            body, "the example's brevity penalty")
    assert (d.hyp_len, d.ref_len) == (int(c), int(r)) == (int(c2), int(r2))
    assert_printed(d.brevity_penalty, bp, "BP")
    score, sb_score = find(r"= ([\d.]+) \.\$\$\s+`sacrebleu\.corpus_bleu` gives the same ([\d.]+)", body,
                           "the example's BLEU")
    assert_printed(d.score, score, "BLEU (minis2s)")
    sb = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]],
                               tokenize="none", smooth_method="none").score
    assert_printed(sb, sb_score, "BLEU (sacrebleu)")


def test_bleu_smoothing_example_and_what_minis2s_reports():
    sacrebleu = pytest.importorskip("sacrebleu")
    body = section("BLEU")
    hyp, ref = find(r"single sentence \"([a-z ]+)\" against \"([a-z ]+)\"", body, "the smoothing example")
    printed, sb_printed = find(r"= ([\d.]+)\$\s+\(\$BP = 1\$.*?sacrebleu's ([\d.]+) as well", body,
                               "the smoothed BLEU")
    assert corpus_bleu([hyp.split()], [ref.split()]) == 0.0           # unsmoothed: p_4 = 0
    assert_printed(corpus_bleu([hyp.split()], [ref.split()], smooth="exp"), printed, "exp-smoothed BLEU")
    assert_printed(sacrebleu.corpus_bleu([hyp], [[ref]], tokenize="none", smooth_method="exp").score,
                   sb_printed, "sacrebleu's exp-smoothed BLEU")
    # clipping: "the the the the" against "the cat" matches 1 of 4
    d = bleu_details([["the"] * 4], [["the", "cat"]], max_n=1)
    assert (d.matches[0], d.totals[0]) == (1, 4)
    # minis2s reports unsmoothed BLEU
    find(r"`corpus_bleu` defaults to `smooth=\"none\"`", body, "which smoothing minis2s reports")
    assert inspect.signature(corpus_bleu).parameters["smooth"].default == "none"
    from minis2s.app import trainer
    calls = re.findall(r"corpus_bleu\(.*\)", inspect.getsource(trainer.evaluate))
    assert calls and all("smooth" not in call for call in calls)


# --- attention: the general score's two orders ----------------------------------------------

def _macs(a_shape, b_shape):
    """Multiply-adds of a (batched) matrix product (..., m, k) @ (..., k, n)."""
    return int(np.prod(a_shape[:-1])) * a_shape[-1] * b_shape[-1]


def test_general_score_cost_counts():
    body = section("Attention")
    N, H, S, T = map(int, find(r"with N = (\d+), H = He = (\d+), S = (\d+) and T = (\d+)", body,
                               "the general score's cost example"))
    He = H
    q_train, k_train, k, q_beam, k_beam = map(int, find(
        r"query\s+first costs (\d+) and keys first (\d+) multiply-adds in training; decoding with\s+"
        r"k = (\d+),\s+query first costs (\d+) and keys first (\d+)", body, "the general score's cost counts"))
    rng = np.random.default_rng(4)
    h = rng.standard_normal((N, T, H))
    hs = rng.standard_normal((N, S, He))
    Wa = rng.standard_normal((H, He))
    scores, _ = general_score_forward(h, hs, Wa)
    K = hs @ Wa.T                                   # keys first: (N, S, H), once per sentence
    np.testing.assert_allclose(scores, h @ K.transpose(0, 2, 1), rtol=1e-10)   # the same scores

    def query_first(T):
        return _macs((N, T, H), (H, He)) + _macs((N, T, He), (N, He, S))

    def keys_first(T):
        return _macs((N, S, He), (He, H)) + _macs((N, T, H), (N, H, S))

    assert (query_first(T), keys_first(T)) == (q_train, k_train)
    assert (query_first(k * T), keys_first(k * T)) == (q_beam, k_beam)     # k queries per step
    # the formulas of the text, and the difference N H^2 (T - S) for He = H
    assert query_first(T) - keys_first(T) == N * H * H * (T - S)


# --- input feeding: the fed-back vector's width -------------------------------------------

def test_input_feeding_width_with_concat_output():
    from minis2s.models.attention_decoder import AttentionDecoder
    body = section("Attention")
    find(r"\$W\$ the width\s+of `h_tilde` \(H, or He \+ H with `attention_output=\"concat\"`\)", body,
         "the width of the fed-back h_tilde")
    find(r"first layer's `Wx` is \(E \+ W, 4H\)", body, "the first layer's input width")
    V, E, H, He = 11, 5, 6, 8
    for output, W in (("luong", H), ("concat", He + H)):
        dec = AttentionDecoder(V, E, H, np.random.default_rng(5), score="general", enc_width=He,
                               input_feeding=True, output=output)
        assert dec.rnn.params["0.Wx"].shape == (E + W, 4 * H), output
