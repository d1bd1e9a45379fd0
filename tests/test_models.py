"""Whole-model gradient checks, decoding (greedy, beam vs brute force), bad input."""
import itertools

import numpy as np
import pytest

import minis2s
from conftest import randomised
from minis2s.errors import InputError
from minis2s.gradcheck import check_model
from minis2s.models import Decoder, Encoder, Seq2Seq, reverse_padded
from minis2s.optim import Adam, clip_grad_norm

TOL = 1e-7
SRC = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 0, 0]])      # right-padded, 3 lengths
TGT = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 6, 7, 5, 2]])      # <sos> ... <eos> <pad>


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_whole_model_gradient(backend, decoder, n_layers):
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=n_layers, decoder=decoder, reverse=True))
    report = check_model(model, lambda: model.forward(SRC, TGT), TOL,
                         title=f"{decoder}, {n_layers} layer(s), {backend.name}")
    print(report)
    report.assert_passed()


def test_whole_model_gradient_with_dropout(backend):
    """Dropout on: a gradient check compares one function, so every pass must draw the same
    masks. The model re-seeds its generators from (seed, step_count), so holding step_count
    fixed does exactly that; a model that drew fresh masks each pass fails this check."""
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, dropout=0.3, decoder="peeky"))

    def loss():
        model.step_count = 0                       # the same draws on every call
        return model.forward(SRC, TGT)
    loss()
    assert len(model._pending[2].rnn.dropout_masks) == 2 and model._pending[2].drop_mask is not None
    check_model(model, loss, TOL).assert_passed()


def test_gradient_with_teacher_forcing_ratio(backend):
    """With r < 1 the backward pass is the teacher-forced one on the tokens actually fed."""
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, decoder="peeky", teacher_forcing_ratio=0.5))

    def loss():
        model.step_count = 0                       # the same draws on every call
        return model.forward(SRC, TGT)
    check_model(model, loss, TOL).assert_passed()


def test_ratio_zero_feeds_the_models_own_predictions():
    minis2s.use("numpy", dtype="float64")
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, decoder="plain", teacher_forcing_ratio=0.0))
    model.forward(SRC, TGT)
    model.eval()
    context = model.encode(minis2s.to_device(SRC))
    fed = model._scheduled_inputs(TGT[:, :-1], context)
    model.teacher_forcing_ratio = 0.0
    greedy, _ = model.generate(SRC, max_len=TGT.shape[1] - 2)
    for row, g in zip(fed, greedy):
        assert list(row[1:1 + len(g)]) == g[:len(row) - 1]


def test_reverse_padded_reverses_only_real_tokens(backend):
    src = minis2s.to_device(np.array([[4, 5, 6, 0], [7, 0, 0, 0], [1, 2, 3, 4]]))
    out = minis2s.to_cpu(reverse_padded(src, src != 0))
    np.testing.assert_array_equal(out, [[6, 5, 4, 0], [7, 0, 0, 0], [4, 3, 2, 1]])


def test_context_is_state_at_last_real_token():
    minis2s.use("numpy", dtype="float64")
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, reverse=False))
    enc = model.encode(np.array([[4, 5, 0, 0, 0], [4, 5, 6, 7, 8]]))
    enc2 = model.encode(np.array([[4, 5]]))
    np.testing.assert_allclose(enc.h[:, 0], enc2.h[:, 0], rtol=1e-12)
    np.testing.assert_allclose(enc.c[:, 0], enc2.c[:, 0], rtol=1e-12)


def test_peeky_parameter_cost():
    E, H, V = 16, 32, 11
    plain = Seq2Seq(V, V, emb=E, hidden=H, decoder="plain")
    peeky = Seq2Seq(V, V, emb=E, hidden=H, decoder="peeky")
    assert peeky.num_params() - plain.num_params() == H * 4 * H + H * V


def test_overfits_a_handful_of_pairs():
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(9, 8, emb=8, hidden=24, decoder="peeky", init="scaled", seed=1)
    opt = Adam(model.params, lr=0.02)
    for _ in range(150):
        loss = float(model.forward(SRC, TGT))
        model.backward()
        clip_grad_norm(model.grads, 5.0)
        opt.step(model.grads)
    assert loss < 0.01, loss
    seqs, _ = model.generate(SRC, max_len=6)
    assert seqs == [[3, 4], [5], [6, 7, 5]]


def test_beam_one_is_greedy(backend):
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, decoder="peeky"), seed=3, scale=1.0)
    greedy, gs = model.generate(SRC, max_len=6)
    beam, bs = model.generate(SRC, max_len=6, beam_size=1, n_best=1, alpha=1e-300)  # forces the beam path
    assert greedy == beam
    np.testing.assert_allclose(gs, bs, rtol=1e-12)


def _teacher_forced_logprobs(model, src_row, seq):
    """log p(seq[t] | seq[:t], src) for each t, from the *training* forward pass (no search code)."""
    xp = minis2s.current().xp
    y_in = minis2s.to_device(np.array([[model.sos_id, *seq[:-1]]]))
    enc = model.encode(minis2s.to_device(src_row[None]))
    logp = minis2s.functional.log_softmax(model.decoder.forward(y_in, enc)[0])[0]    # (T, V)
    return minis2s.to_cpu(logp[xp.arange(len(seq)), minis2s.to_device(np.array(seq))])


def _sequence_logprob(model, src_row, seq):
    return float(_teacher_forced_logprobs(model, src_row, seq).sum())


def _candidates(emit, eos, max_len):
    """Every output a search can produce: ends in <eos>, or is cut at max_len."""
    out = []
    for L in range(1, max_len + 1):
        for seq in itertools.product(emit, repeat=L):
            if eos in seq[:-1] or (seq[-1] != eos and L < max_len):
                continue
            out.append(seq)
    return out


def _gnmt(score, seq, eos, alpha):
    """GNMT's length normalisation; |y| counts the tokens up to and including <eos>."""
    return score / ((5.0 + len(seq)) / 6.0) ** alpha


def test_beam_search_finds_the_most_probable_sequence(backend):
    """Brute force over every output of length <= 3 on a vocabulary of 5 (3 emittable)."""
    model = randomised(Seq2Seq(6, 5, emb=3, hidden=4, decoder="plain"), seed=5, scale=1.5)
    model.eval()
    src = np.array([[3, 4, 5], [5, 3, 0]])
    candidates = _candidates([2, 3, 4], 2, 3)         # <eos>, and tokens 3, 4
    best, best_scores = model.generate(src, max_len=3, beam_size=27, n_best=3)
    for n in range(len(src)):
        scored = sorted(((_sequence_logprob(model, src[n], s), s) for s in candidates), reverse=True)
        expected = [[t for t in s if t != 2] for _, s in scored[:3]]
        assert best[n] == expected
        np.testing.assert_allclose(best_scores[n], [s for s, _ in scored[:3]], rtol=1e-10)


@pytest.mark.parametrize("beam_size", [2, 3, 40])
def test_beam_search_with_length_normalisation_against_brute_force(backend, beam_size):
    """alpha = 0.7 on every output of length <= 4 (3 emittable tokens: 3 + 9 + 27 + 81 = 120
    candidates). Every returned hypothesis must carry exactly its brute-force normalised
    score, best first. With a beam of 40 nothing is pruned and the n best must be the
    brute force's n best; with 2 or 3 the beam prunes (it keeps 2-3 of up to 120), and
    what it returns must still be scored and ranked exactly. A search that counts
    <pad> steps in the length, halves alpha, or keeps scoring after <eos> fails here."""
    alpha, max_len = 0.7, 4
    model = randomised(Seq2Seq(6, 5, emb=3, hidden=4, decoder="peeky"), seed=11, scale=1.5)
    model.eval()
    src = np.array([[3, 4, 5], [5, 3, 0], [4, 0, 0]])
    candidates = _candidates([2, 3, 4], 2, max_len)
    n_best = min(beam_size, 3)
    hyps, scores = model.generate(src, max_len=max_len, beam_size=beam_size, n_best=n_best,
                                  alpha=alpha)
    pruned = False
    for n in range(len(src)):
        brute = {s: _gnmt(_sequence_logprob(model, src[n], s), s, 2, alpha) for s in candidates}
        ranked = sorted(brute.items(), key=lambda kv: -kv[1])
        assert scores[n] == sorted(scores[n], reverse=True)
        for hyp, score in zip(hyps[n], scores[n]):
            full = tuple(hyp) + ((2,) if len(hyp) < max_len else ())   # with its <eos>, if any
            if len(hyp) == max_len and full not in brute:
                full = tuple(hyp)
            np.testing.assert_allclose(score, brute[full], rtol=1e-9)
        if beam_size >= 27:
            assert [list(s[:-1]) if s[-1] == 2 else list(s) for s, _ in ranked[:n_best]] == hyps[n]
        pruned |= hyps[n][0] != [t for t in ranked[0][0] if t != 2]
    if beam_size == 40:
        assert not pruned


def test_greedy_scores_when_rows_finish_at_different_steps(backend):
    """Each row's score is the sum of its own tokens' log-probabilities, <eos> included, and
    nothing after it -- checked against the teacher-forced pass, one row at a time."""
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, decoder="peeky"), seed=3,
                       scale=1.0)
    model.decoder.fc.params["b"][model.eos_id] += 1.0     # rows now end after 1, 2 and 3 tokens
    src = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 0, 0], [7, 7, 0, 0, 0]])
    max_len = 8
    seqs, scores = model.generate(src, max_len=max_len)
    lengths = set()
    for n, seq in enumerate(seqs):
        full = seq + [model.eos_id] if len(seq) < max_len else seq
        lengths.add(len(full))
        np.testing.assert_allclose(scores[n], _sequence_logprob(model, src[n], full), rtol=1e-10)
    assert len(lengths) > 1, f"all rows finished together ({lengths}): the test proves nothing"


def test_step_by_step_equals_the_teacher_forced_pass(backend):
    """Decoder.step, fed the target tokens one at a time, gives the training forward's
    log-probabilities: decoding and training run the same maths."""
    for decoder in ("plain", "peeky"):
        model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, decoder=decoder), seed=2)
        model.eval()
        src, tgt = minis2s.to_device(SRC), minis2s.to_device(TGT)
        enc = model.encode(src)
        forced = minis2s.functional.log_softmax(model.decoder.forward(tgt[:, :-1], enc)[0])
        state = model.decoder.start(enc)
        for t in range(TGT.shape[1] - 1):
            logp, state = model.decoder.step(tgt[:, t], state)
            np.testing.assert_allclose(minis2s.to_cpu(logp), minis2s.to_cpu(forced[:, t]),
                                       rtol=1e-10, atol=1e-12)


def test_length_penalty_prefers_longer_outputs():
    minis2s.use("numpy", dtype="float64")
    model = randomised(Seq2Seq(6, 5, emb=3, hidden=4), seed=5, scale=1.5)
    raw, _ = model.generate(SRC[:, :3] % 6, max_len=6, beam_size=4, n_best=4)
    normed, _ = model.generate(SRC[:, :3] % 6, max_len=6, beam_size=4, n_best=4, alpha=1.0)
    assert sum(len(h[0]) for h in normed) >= sum(len(h[0]) for h in raw)


def test_training_step_stays_on_the_device():
    """Under the strict double, a step syncs a fixed handful of times, not once per time step."""
    minis2s.use("strict", dtype="float32")
    from minis2s.testing import strict_device
    counts = []
    for T in (5, 12):
        model = Seq2Seq(9, 8, emb=4, hidden=6, n_layers=2, decoder="peeky")
        opt = Adam(model.params)
        src = np.random.default_rng(0).integers(3, 9, size=(4, T))
        tgt = np.concatenate([np.ones((4, 1), int), src[:, :T - 1] % 5 + 3, np.full((4, 1), 2)], axis=1)
        before = dict(strict_device.transfers)
        loss = float(model.forward(src, tgt))
        model.backward()
        clip_grad_norm(model.grads, 5.0)
        opt.step(model.grads)
        counts.append({k: strict_device.transfers[k] - before[k] for k in before})
        assert np.isfinite(loss)
    assert counts[0] == counts[1], counts
    assert counts[0]["to_device"] == 2                    # the batch: src and tgt
    assert counts[0]["to_cpu"] <= 5, counts               # id-range checks, the loss, the norm



@pytest.mark.parametrize("beam", [1, 3])
def test_decoding_stays_on_the_device(beam):
    """Under the strict double, decoding moves the batch once and syncs once per step
    (the early-stop check) plus a fixed few at the end, whatever the sentence length."""
    minis2s.use("strict", dtype="float32")
    from minis2s.testing import strict_device
    model = Seq2Seq(9, 8, emb=4, hidden=6, n_layers=2, decoder="peeky")
    counts = []
    for S in (5, 12):
        src = np.random.default_rng(0).integers(3, 9, size=(4, S))
        before = dict(strict_device.transfers)
        model.generate(src, max_len=6, beam_size=beam)
        counts.append({k: strict_device.transfers[k] - before[k] for k in before})
    assert counts[0] == counts[1], counts
    assert counts[0]["to_device"] == 1                        # the source batch
    assert counts[0]["to_cpu"] <= 6 + 4, counts               # at most one per step, then the results

# --- bad input ----------------------------------------------------------------------

@pytest.fixture
def small():
    return Seq2Seq(9, 8, emb=3, hidden=4)


@pytest.mark.parametrize("src,tgt,match", [
    (np.array([[0, 0], [4, 5]]), np.array([[1, 3], [1, 3]]), "src row 0 is empty"),
    (np.array([[4, 5]]), np.array([[1, 0, 0]]), "tgt row 0 is empty"),
    (np.array([[4, 9]]), np.array([[1, 3]]), r"src token ids must lie in \[0, 9\)"),
    (np.array([[4, 5]]), np.array([[1, 8]]), r"tgt token ids must lie in \[0, 8\)"),
    (np.array([[4, 5], [4, 5]]), np.array([[1, 3]]), "batch sizes differ: 2 vs 1"),
    (np.array([[4, 5]]), np.array([[3, 3]]), "must start with <sos>"),
    (np.array([[4, 5]]), np.array([[1]]), "at least one more token"),
    (np.zeros((1, 0), int), np.array([[1, 3]]), "src must have shape"),
])
def test_bad_batches(small, src, tgt, match):
    with pytest.raises(ValueError, match=match):
        small.forward(src, tgt)


def test_float_ids_refused(small):
    with pytest.raises(TypeError, match="integer array of token ids"):
        small.forward(np.ones((1, 2)), np.array([[1, 3]]))


@pytest.mark.parametrize("kwargs,match", [
    (dict(max_len=0), "max_len must be an integer from 1 to"),
    (dict(max_len=10**12), "max_len must be an integer from 1 to 10000"),
    (dict(max_len=3, beam_size=2, alpha=float("nan")), "alpha"),
    (dict(max_len=3, beam_size=2, alpha=-1.0), "alpha"),
    (dict(max_len=3, beam_size=0), "beam_size must be an integer >= 1"),
    (dict(max_len=3, beam_size=2, n_best=3), "n_best must be between 1 and beam_size"),
])
def test_bad_generate_arguments(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        small.generate(np.array([[4, 5]]), **kwargs)


def test_incompatible_encoder_and_decoder():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="encoder and decoder do not fit"):
        Seq2Seq(9, 8, emb=3, hidden=4, encoder_module=Encoder(9, 3, 4, rng),
                decoder_module=Decoder(8, 3, 5, rng))
    with pytest.raises(InputError, match="decoder must be one of plain, peeky, attention, got 'transformer'"):
        Seq2Seq(9, 8, decoder="transformer")
    with pytest.raises(InputError, match="teacher_forcing_ratio"):
        Seq2Seq(9, 8, teacher_forcing_ratio=1.5)


@pytest.mark.parametrize("kwargs,message", [
    (dict(init="bad"), "init must be one of uniform, scaled, fan_in, got 'bad'"),
    (dict(dropout=1.5), r"dropout must be finite and in \[0, 1\), got 1.5"),
    (dict(dropout=float("nan")), "dropout must be finite"),
    (dict(score="cosine"), "score must be one of dot, general, additive"),
    (dict(attention_output="sum"), "attention_output must be one of luong, concat"),
    (dict(hidden=5, bidirectional=True), "hidden must be even"),
])
def test_every_bad_setting_is_an_input_error(kwargs, message):
    """One family: each bad model setting raises InputError naming the setting."""
    with pytest.raises(InputError, match=message):
        Seq2Seq(9, 8, **kwargs)


# --- the model's batches and draws follow its parameters ---------------------------------

def test_a_moved_model_trains_and_decodes_where_its_parameters_are():
    """model.to("strict") under a numpy default: forward, backward, dropout draws, teacher
    forcing below 1 and decoding all run on the strict backend (no numpy array leaks in)."""
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(9, 8, emb=3, hidden=4, dropout=0.3, teacher_forcing_ratio=0.5).to("strict")
    assert minis2s.current().name == "numpy" and model.backend.name == "strict"
    loss = model.forward(SRC, TGT)
    model.backward()
    assert model.backend.name == "strict" and all(
        minis2s.backend.backend_of(g).name == "strict" for g in model.grads.values())
    assert np.isfinite(float(loss))
    seqs, _ = model.generate(SRC, max_len=4, beam_size=2)
    assert len(seqs) == len(SRC)


# --- the gradient rule: one forward, one backward, overwritten ------------------------------

def test_gradients_are_overwritten_not_summed():
    minis2s.use("numpy", dtype="float64")
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4))
    model.forward(SRC, TGT)
    model.backward()
    once = {k: minis2s.to_cpu(g).copy() for k, g in model.grads.items()}
    grads = model.grads                                   # a dict taken once stays valid
    model.forward(SRC, TGT)
    model.backward()
    for k, g in grads.items():
        np.testing.assert_array_equal(minis2s.to_cpu(g), once[k])


def test_a_second_backward_without_forward_raises():
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(9, 8, emb=3, hidden=4)
    model.forward(SRC, TGT)
    model.backward()
    with pytest.raises(RuntimeError, match="no forward pass to differentiate"):
        model.backward()


def test_a_layer_applied_twice_in_one_pass_gets_the_chain_rules_gradient():
    """y = lin(lin(x)): W is used twice, so its gradient is the sum of both uses' -- which the
    caches returned by each forward make possible (a layer that kept one cache could not)."""
    from minis2s.layers import Linear
    minis2s.use("numpy", dtype="float64")
    lin = randomised(Linear(3, 3, np.random.default_rng(0)))
    x = np.random.default_rng(1).standard_normal((2, 3))
    dy = np.random.default_rng(2).standard_normal((2, 3))
    kept = {}

    def loss():
        h, kept["c1"] = lin.forward(x)
        y, kept["c2"] = lin.forward(h)
        return (y * dy).sum()

    class Twice:
        params, grads = lin.params, lin.grads

        @staticmethod
        def backward():
            lin.zero_grad()
            lin.backward(lin.backward(dy, kept["c2"]), kept["c1"])
    check_model(Twice, loss, TOL).assert_passed()


# --- sources: right-padded, reversed in one place ------------------------------------------

def test_padding_between_real_tokens_is_refused_naming_the_row(small):
    with pytest.raises(ValueError, match=r"src row 1 has <pad> .* between real tokens"):
        small.forward(np.array([[4, 5, 6, 0], [4, 0, 6, 0]]), np.array([[1, 3], [1, 3]]))
    with pytest.raises(ValueError, match="src row 0 has <pad>"):
        small.generate(np.array([[4, 0, 6, 0]]), max_len=3)


def test_the_model_reverses_exactly_once():
    """reverse=True on reading-order sources equals reverse=False on hand-reversed ones."""
    minis2s.use("numpy", dtype="float64")
    fwd = randomised(Seq2Seq(9, 8, emb=3, hidden=4, reverse=True))
    plain = randomised(Seq2Seq(9, 8, emb=3, hidden=4, reverse=False))
    by_hand = np.array([[8, 7, 6, 5, 4], [6, 5, 0, 0, 0], [4, 3, 8, 0, 0]])
    assert float(fwd.forward(SRC, TGT)) == float(plain.forward(by_hand, TGT))


def test_nan_weights_give_a_clear_decoding_error(small):
    from minis2s.models import NonFiniteDecodingError
    small.params["decoder.fc.W"][...] = np.nan
    for beam in (1, 3):
        with pytest.raises(NonFiniteDecodingError, match="NaN log-probabilities"):
            small.generate(np.array([[4, 5]]), max_len=3, beam_size=beam)


def test_n_best_shortfall_is_announced():
    """A vocabulary of 4 (one emittable token besides <eos>) and max_len 1: only 2 outputs
    exist, so n_best = 4 must say it returns fewer."""
    model = Seq2Seq(6, 4, emb=3, hidden=4)
    with pytest.warns(UserWarning, match="distinct hypothesis"):
        hyps, scores = model.generate(np.array([[4, 5]]), max_len=1, beam_size=4, n_best=4)
    assert len(hyps[0]) == len(scores[0]) == 2


def test_decoding_between_forward_and_backward_changes_nothing():
    """The caches belong to the forward pass, not to the layers: decoding (which runs the
    same layers) between a forward and its backward leaves the gradients as they were."""
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(9, 8, emb=3, hidden=4, decoder="attention", input_feeding=True)
    model.forward(SRC, TGT)
    model.backward()
    expected = {k: g.copy() for k, g in model.grads.items()}
    model.forward(SRC, TGT)
    model.generate(SRC[:1], max_len=3, beam_size=2)
    model.backward()
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, expected[k], err_msg=k)
    with pytest.raises(RuntimeError, match="no forward pass to differentiate"):
        model.backward()                           # one backward per forward


def test_accumulate_grad_refuses_a_shape_or_dtype_mismatch():
    from minis2s.layers import Linear
    minis2s.use("numpy", dtype="float32")
    lin = Linear(3, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(\) and dtype float32"):
        lin.accumulate_grad("b", np.ones((), np.float32))
    with pytest.raises(ValueError, match="dtype float64"):
        lin.accumulate_grad("W", np.zeros((3, 4)))
    lin.accumulate_grad("W", np.ones((3, 4), np.float32))
    lin.accumulate_grad("W", np.ones((3, 4), np.float32))
    assert float(lin.grads["W"].sum()) == 24.0


def test_backward_zeroes_the_gradients_first():
    """Two forward/backward pairs on the same batch give the same gradients, not twice them."""
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(9, 8, emb=3, hidden=4)
    model.forward(SRC, TGT)
    model.backward()
    first = {k: g.copy() for k, g in model.grads.items()}
    model.forward(SRC, TGT)
    model.backward()
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, first[k], err_msg=k)


def test_to_with_only_a_dtype_keeps_the_backend():
    minis2s.use("numpy", dtype="float32")
    model = Seq2Seq(9, 8, emb=3, hidden=4).to("strict")
    model.to(dtype="float64")
    assert model.backend.name == "strict"
    assert all(str(p.dtype) == "float64" for p in model.params.values())


def test_beam_search_checks_its_own_arguments(small):
    from minis2s.models import beam_search
    enc = small.encode(minis2s.to_device(np.array([[4, 5]])))
    for k in (0, -1):
        with pytest.raises(ValueError, match="beam_size must be an integer >= 1"):
            beam_search(small.decoder, enc, 3, k, 1, 2, 0)
