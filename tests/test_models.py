"""Whole-model gradient checks, decoding (greedy, beam vs brute force), bad input."""
import itertools

import numpy as np
import pytest

import minis2s
from minis2s.gradcheck import check_model
from minis2s.models import Decoder, Encoder, Seq2Seq, reverse_padded
from minis2s.optim import Adam, clip_grad_norm

TOL = 1e-7
SRC = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 0, 0]])      # right-padded, 3 lengths
TGT = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 6, 7, 5, 2]])      # <sos> ... <eos> <pad>


def randomised(model, seed=0, scale=0.5):
    """Weights and biases well away from zero, so that no gradient term hides."""
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p[...] = minis2s.to_device(rng.standard_normal(p.shape) * scale)
    return model


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_whole_model_gradient(backend, decoder, n_layers):
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=n_layers, decoder=decoder, reverse=True))
    report = check_model(model, lambda: model.forward(SRC, TGT), TOL,
                         title=f"{decoder}, {n_layers} layer(s), {backend.name}")
    print(report)
    report.assert_passed()


def test_whole_model_gradient_with_fixed_dropout(backend):
    model = randomised(Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2, dropout=0.3, decoder="peeky"))
    model.forward(SRC, TGT)                        # draws the masks once ...
    for m in model.modules():
        if hasattr(m, "frozen"):
            m.frozen = True                        # ... and every later pass reuses them
    dropped = [m for m in model.modules() if getattr(m, "_mask", None) is not None]
    assert len(dropped) == 5                       # 2 embeddings, 2 between layers, 1 before fc
    check_model(model, lambda: model.forward(SRC, TGT), TOL).assert_passed()


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
    h, c = model.encode(np.array([[4, 5, 0, 0, 0], [4, 5, 6, 7, 8]]))
    h2, c2 = model.encode(np.array([[4, 5]]))
    np.testing.assert_allclose(h[:, 0], h2[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c[:, 0], c2[:, 0], rtol=1e-12)


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


def _sequence_logprob(model, src_row, seq):
    """log p(seq) by running the decoder on one sentence, step by step."""
    context = model.encode(minis2s.to_device(src_row[None]))
    state, ctx = context, context[0][-1]
    tokens = minis2s.to_device(np.array([model.sos_id]))
    total = 0.0
    for tok in seq:
        logp, state = model.decoder.step(tokens, state, ctx)
        total += float(logp[0, tok])
        tokens = minis2s.to_device(np.array([tok]))
    return total


def test_beam_search_finds_the_most_probable_sequence(backend):
    """Brute force over every output of length <= 3 on a vocabulary of 5 (3 emittable)."""
    model = randomised(Seq2Seq(6, 5, emb=3, hidden=4, decoder="plain"), seed=5, scale=1.5)
    model.eval()
    src = np.array([[3, 4, 5], [5, 3, 0]])
    emit = [2, 3, 4]                                  # <eos>, and tokens 3, 4
    candidates = []
    for L in range(1, 4):                             # sequences that end with <eos> or are cut at 3
        for seq in itertools.product(emit, repeat=L):
            if 2 in seq[:-1] or (seq[-1] != 2 and L < 3):
                continue
            candidates.append(seq)
    best, best_scores = model.generate(src, max_len=3, beam_size=27, n_best=3)
    for n in range(len(src)):
        scored = sorted(((_sequence_logprob(model, src[n], s), s) for s in candidates), reverse=True)
        expected = [[t for t in s if t != 2] for _, s in scored[:3]]
        assert best[n] == expected
        np.testing.assert_allclose(best_scores[n], [s for s, _ in scored[:3]], rtol=1e-10)


def test_length_penalty_prefers_longer_outputs():
    minis2s.use("numpy", dtype="float64")
    model = randomised(Seq2Seq(6, 5, emb=3, hidden=4), seed=5, scale=1.5)
    raw, _ = model.generate(SRC[:, :3] % 6, max_len=6, beam_size=4, n_best=4)
    normed, _ = model.generate(SRC[:, :3] % 6, max_len=6, beam_size=4, n_best=4, alpha=1.0)
    assert sum(len(h[0]) for h in normed) >= sum(len(h[0]) for h in raw)


def test_training_step_stays_on_the_device():
    """Under the strict double, a step syncs a fixed handful of times, not once per time step."""
    minis2s.use("strict", dtype="float32")
    from minis2s import strict_device
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
    from minis2s import strict_device
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
    (dict(max_len=0), "max_len must be an integer >= 1"),
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
    with pytest.raises(ValueError, match="decoder must be 'plain' or 'peeky'"):
        Seq2Seq(9, 8, decoder="attention")
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        Seq2Seq(9, 8, teacher_forcing_ratio=1.5)
