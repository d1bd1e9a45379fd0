"""The attention decoder and the bidirectional encoder inside a whole Seq2Seq model.

Whole-model float64 gradient checks (padded, reversed sources; each score; one-
and bidirectional encoders) on every backend; decoding step by step against the
teacher-forced pass; beam search's reorder; padding and direction invariances.
"""
import numpy as np
import pytest

import minis2s
from conftest import randomised
from minis2s.gradcheck import check_model
from minis2s.models import Seq2Seq
from minis2s.models.attention_decoder import AttentionDecoder
from minis2s.models import reverse_padded
from minis2s.models.bidirectional_encoder import BidirectionalEncoder

SCORES = ("dot", "general", "additive")
V_SRC, V_TGT, E, H = 11, 9, 5, 6
# right-padded sources of lengths 4, 2, 1 and 3; targets of different lengths
SRC = np.array([[3, 4, 5, 6], [7, 3, 0, 0], [5, 0, 0, 0], [8, 9, 10, 0]])
TGT = np.array([[1, 3, 4, 5, 2], [1, 5, 2, 0, 0], [1, 7, 6, 8, 2], [1, 4, 2, 0, 0]])


def attention_model(score="dot", bidirectional=False, n_layers=1, reverse=True, seed=0,
                    input_feeding=False, output="luong", **kw):
    rng = np.random.default_rng(seed)
    enc = BidirectionalEncoder(V_SRC, E, H, rng, n_layers) if bidirectional else None
    dec = AttentionDecoder(V_TGT, E, H, rng, n_layers, score=score, input_feeding=input_feeding,
                           output=output)
    return Seq2Seq(V_SRC, V_TGT, emb=E, hidden=H, n_layers=n_layers, reverse=reverse,
                   encoder_module=enc, decoder_module=dec, seed=seed, **kw)


# --- whole-model gradient checks -------------------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("score", SCORES)
def test_whole_model_gradients(backend, score, bidirectional):
    model = randomised(attention_model(score, bidirectional, reverse=True))
    # h = 1e-4: the score weights' gradients are ~1e-4 of the loss, and a central
    # difference's rounding error (eps * loss / h) must stay well below that.
    report = check_model(model, lambda: model.forward(SRC, TGT), h=1e-4,
                         max_elements=25 if backend.name == "numpy" else 8)
    report.title = f"attention ({score}, {'bi' if bidirectional else 'uni'}directional)"
    report.assert_passed()


def test_two_layers_and_dropout_off_gradients(backend):
    model = randomised(attention_model("general", True, n_layers=2))
    check_model(model, lambda: model.forward(SRC, TGT), h=1e-4, max_elements=6).assert_passed()


@pytest.mark.parametrize("score", SCORES)
def test_input_feeding_gradients(backend, score):
    """Input feeding: the step-by-step loop and its backward through time."""
    model = randomised(attention_model(score, bidirectional=score == "dot", input_feeding=True))
    # The additive score's Wq gets the smallest gradient of all (~1e-5 here), so its central
    # difference needs a larger h to keep the rounding error (eps * loss / h) below 1e-7 of it.
    h = 2e-4 if score == "additive" else 1e-4
    report = check_model(model, lambda: model.forward(SRC, TGT), h=h,
                         max_elements=25 if backend.name == "numpy" else 6)
    report.title = f"attention ({score}), input feeding"
    report.assert_passed()


@pytest.mark.parametrize("feeding", [False, True], ids=["", "input-feeding"])
def test_concat_output_gradients(backend, feeding):
    """The book's output layer: logits from [ctx ; h] directly (no Wc, no tanh)."""
    model = randomised(attention_model("general", bidirectional=True, input_feeding=feeding,
                                       output="concat"))
    assert "decoder.attn.Wc" not in model.params
    assert model.params["decoder.fc.W"].shape == (2 * H, V_TGT)
    check_model(model, lambda: model.forward(SRC, TGT), h=1e-4,
                max_elements=25 if backend.name == "numpy" else 6).assert_passed()


def test_input_feeding_two_layers_gradients(backend):
    model = randomised(attention_model("additive", n_layers=2, input_feeding=True))
    check_model(model, lambda: model.forward(SRC, TGT), h=1e-4, max_elements=6).assert_passed()


# --- decoding runs the same functions ----------------------------------------------------

@pytest.mark.parametrize("feeding,output", [(False, "luong"), (True, "luong"), (True, "concat")],
                         ids=["", "input-feeding", "input-feeding-concat"])
@pytest.mark.parametrize("score", SCORES)
def test_step_by_step_equals_teacher_forced(backend, score, feeding, output):
    """decoder.step fed the target tokens gives the forward pass's log-probs and weights."""
    model = randomised(attention_model(score, bidirectional=True, input_feeding=feeding,
                                       output=output)).eval()
    src, tgt = minis2s.to_device(SRC), minis2s.to_device(TGT)
    enc = model.encode(src)
    logits, alpha, _ = model.decoder.forward_with_attention(tgt[:, :-1], enc)
    logp_full = minis2s.to_cpu(minis2s.functional.log_softmax(logits))
    state = model.decoder.start(enc)
    for t in range(TGT.shape[1] - 1):
        logp, state = model.decoder.step(tgt[:, t], state)
        np.testing.assert_allclose(minis2s.to_cpu(logp), logp_full[:, t], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(minis2s.to_cpu(state.alpha), minis2s.to_cpu(alpha)[:, t],
                                   rtol=1e-12, atol=1e-14)


def _sequence_logprob(model, src_row, out, max_len):
    """log p(out + <eos> | src) from the teacher-forced forward pass (one sentence);
    no <eos> when the search stopped at max_len."""
    tgt = np.array([[1] + out + ([2] if len(out) < max_len else [])])
    model.eval()
    enc = model.encode(minis2s.to_device(src_row[None]))
    logits, _ = model.decoder.forward(minis2s.to_device(tgt[:, :-1]), enc)
    logp = minis2s.to_cpu(minis2s.functional.log_softmax(logits))[0]
    return float(sum(logp[t, tok] for t, tok in enumerate(tgt[0, 1:])))


@pytest.mark.parametrize("feeding", [False, True], ids=["", "input-feeding"])
@pytest.mark.parametrize("score", SCORES)
def test_search_scores_are_the_models_logprobs(backend, score, feeding):
    """Greedy and beam-3 scores equal each output's log-probability from the forward pass.

    Each source is decoded in a batch with others of different lengths: a beam
    reorder that mixed up the sentences' encoder outputs, keys or masks would
    score the outputs against the wrong source.
    """
    model = randomised(attention_model(score, input_feeding=feeding), scale=1.0)
    for beam in (1, 3):
        seqs, scores = model.generate(SRC, max_len=6, beam_size=beam)
        for n in range(len(SRC)):
            row = SRC[n][SRC[n] != 0]
            assert scores[n] == pytest.approx(_sequence_logprob(model, row, seqs[n], 6), abs=1e-9), \
                (beam, n)
    greedy, _ = model.generate(SRC, max_len=6)
    beam1, _ = model.generate(SRC, max_len=6, beam_size=1, n_best=1, alpha=0.5)
    assert greedy == beam1


@pytest.mark.parametrize("feeding", [False, True], ids=["", "input-feeding"])
def test_teacher_forcing_ratio_runs_through_attention(backend, feeding):
    model = randomised(attention_model("additive", teacher_forcing_ratio=0.0, input_feeding=feeding))
    loss = float(model.forward(SRC, TGT))
    model.backward()
    assert np.isfinite(loss)
    assert any(float(abs(minis2s.to_cpu(g)).sum()) > 0 for g in model.grads.values())


# --- padding and direction ----------------------------------------------------------------

@pytest.mark.parametrize("bidirectional,feeding", [(False, False), (True, False), (True, True)],
                         ids=["uni", "bi", "bi-input-feeding"])
def test_padding_changes_nothing(backend, bidirectional, feeding):
    """A sentence's logits are the same alone and in a padded batch."""
    model = randomised(attention_model("general", bidirectional, input_feeding=feeding)).eval()
    tgt_in = minis2s.to_device(TGT[:, :-1])
    batch = minis2s.to_cpu(model.decoder.forward(tgt_in, model.encode(minis2s.to_device(SRC)))[0])
    for n in range(len(SRC)):
        row = SRC[n][SRC[n] != 0][None]
        alone, _ = model.decoder.forward(tgt_in[n:n + 1], model.encode(minis2s.to_device(row)))
        np.testing.assert_allclose(minis2s.to_cpu(alone)[0], batch[n], rtol=1e-12, atol=1e-12)


def test_bidirectional_outputs_read_the_right_halves(backend):
    """hs_f[s] depends on tokens 0..s only, hs_b[s] on tokens s..end only."""
    model = randomised(attention_model("dot", bidirectional=True), scale=1.0)
    enc_a, _ = model.encoder.forward(minis2s.to_device(SRC), minis2s.to_device(SRC != 0))
    changed = SRC.copy()
    changed[0, 3] = 4                                           # the last token of row 0
    enc_b, _ = model.encoder.forward(minis2s.to_device(changed), minis2s.to_device(changed != 0))
    ha, hb = minis2s.to_cpu(enc_a.hs)[0], minis2s.to_cpu(enc_b.hs)[0]
    k = H // 2
    assert np.array_equal(ha[:3, :k], hb[:3, :k])               # forward half: unchanged before s=3
    assert not np.allclose(ha[3, :k], hb[3, :k])
    assert np.all(np.abs(ha[:, k:] - hb[:, k:]).max(axis=1) > 0)  # backward half: everywhere
    # the decoder starts from [hf ; hb]: hf is the forward state at the last token,
    # hb the backward state at the first token
    np.testing.assert_array_equal(minis2s.to_cpu(enc_a.h)[0, 0, :k], ha[3, :k])
    np.testing.assert_array_equal(minis2s.to_cpu(enc_a.h)[0, 0, k:], ha[0, k:])


def test_reverse_padded_is_its_own_inverse(backend, rng):
    x = minis2s.to_device(rng.standard_normal((4, 4, 3)))
    mask = minis2s.to_device(SRC != 0)
    flipped = minis2s.to_cpu(reverse_padded(x, mask))
    np.testing.assert_array_equal(flipped[1, :2], minis2s.to_cpu(x)[1, 1::-1])
    np.testing.assert_array_equal(flipped[1, 2:], minis2s.to_cpu(x)[1, 2:])   # padding in place
    np.testing.assert_array_equal(minis2s.to_cpu(reverse_padded(reverse_padded(x, mask), mask)),
                                  minis2s.to_cpu(x))


def test_configuration_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="even"):
        BidirectionalEncoder(V_SRC, E, 7, rng)
    with pytest.raises(ValueError, match="dot score"):
        AttentionDecoder(V_TGT, E, H, rng, score="dot", enc_width=H + 2)
    with pytest.raises(ValueError, match="score must be one of"):
        AttentionDecoder(V_TGT, E, H, rng, score="luong")


# --- the attention picture -------------------------------------------------------------------

def test_attention_matrix_is_in_reading_order(tmp_path):
    """A reversing model's weights come back in the source's reading order: the same
    weights without reversal, fed the reversed source, attend identically."""
    from minis2s.app.attention_plot import attention_matrix, plot_attention
    minis2s.use("numpy", dtype="float64")
    rev = randomised(attention_model("general", reverse=True), scale=1.0)
    fwd = attention_model("general", reverse=False)
    fwd.load_state_dict(rev.state_dict())
    src, out = [3, 4, 5, 6], [5, 3, 4]
    a_rev = attention_matrix(rev, src, out)
    a_fwd = attention_matrix(fwd, src[::-1], out)
    assert a_rev.shape == (len(out) + 1, len(src))
    np.testing.assert_allclose(a_rev.sum(axis=1), 1.0)
    np.testing.assert_allclose(a_rev, a_fwd[:, ::-1], rtol=1e-12)
    assert not np.allclose(a_rev, a_fwd)            # the columns really were reordered
    path = tmp_path / "a.png"
    plot_attention(a_rev, list("abcd"), ["x", "y", "z", "<eos>"], path, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="output and 4 source tokens"):
        plot_attention(a_rev, list("abcd"), ["x"], None)


def test_attention_matrix_refuses_a_model_without_attention():
    from minis2s.app.attention_plot import attention_matrix
    model = Seq2Seq(V_SRC, V_TGT, emb=E, hidden=H, decoder="peeky")
    with pytest.raises(ValueError, match="no attention"):
        attention_matrix(model, [3, 4], [5])


@pytest.mark.parametrize("score", SCORES)
def test_a_float32_model_computes_in_float32(score):
    minis2s.use("numpy", dtype="float32")
    model = attention_model(score, bidirectional=True, input_feeding=score == "general")
    loss = model.forward(SRC, TGT)
    model.backward()
    assert loss.dtype == np.float32
    assert {k: g.dtype for k, g in model.grads.items() if g.dtype != np.float32} == {}


def test_bidirectional_encoder_matches_pytorch():
    """The same weights in torch.nn.LSTM(bidirectional=True) over packed sequences."""
    torch = pytest.importorskip("torch")
    minis2s.use("numpy", dtype="float64")
    rng = np.random.default_rng(3)
    enc = randomised(BidirectionalEncoder(V_SRC, E, H, rng), scale=0.5)
    mask = SRC != 0
    out, cache = enc.forward(SRC, mask)
    k, p = H // 2, enc.params
    lstm = torch.nn.LSTM(E, k, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for suffix, d in (("", "f"), ("_reverse", "b")):
            getattr(lstm, f"weight_ih_l0{suffix}").copy_(torch.tensor(p[f"lstm_{d}.0.Wx"].T))
            getattr(lstm, f"weight_hh_l0{suffix}").copy_(torch.tensor(p[f"lstm_{d}.0.Wh"].T))
            getattr(lstm, f"bias_ih_l0{suffix}").copy_(torch.tensor(p[f"lstm_{d}.0.b"]))
            getattr(lstm, f"bias_hh_l0{suffix}").zero_()
    e = torch.tensor(p["embed.W"][SRC], requires_grad=True)
    lengths = mask.sum(axis=1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(e, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    t_out, (t_h, t_c) = lstm(packed)
    t_hs, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=SRC.shape[1])
    np.testing.assert_allclose(out.hs[mask], t_hs.detach().numpy()[mask], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(out.h[0], torch.cat([t_h[0], t_h[1]], 1).detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(out.c[0], torch.cat([t_c[0], t_c[1]], 1).detach().numpy(), atol=1e-13)

    dhs = rng.standard_normal(out.hs.shape) * mask[:, :, None]    # no loss reads padded outputs
    dh, dc = rng.standard_normal(out.h.shape), rng.standard_normal(out.c.shape)
    from minis2s.models import Encoded
    enc.backward(Encoded(dhs, None, dh, dc), cache)
    loss = ((t_hs * torch.tensor(dhs)).sum() + (torch.cat([t_h[0], t_h[1]], 1) * torch.tensor(dh[0])).sum()
            + (torch.cat([t_c[0], t_c[1]], 1) * torch.tensor(dc[0])).sum())
    loss.backward()
    for suffix, d in (("", "f"), ("_reverse", "b")):
        np.testing.assert_allclose(enc.grads[f"lstm_{d}.0.Wx"],
                                   getattr(lstm, f"weight_ih_l0{suffix}").grad.numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(enc.grads[f"lstm_{d}.0.Wh"],
                                   getattr(lstm, f"weight_hh_l0{suffix}").grad.numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(enc.grads[f"lstm_{d}.0.b"],
                                   getattr(lstm, f"bias_ih_l0{suffix}").grad.numpy(), rtol=1e-10, atol=1e-12)
    dW = np.zeros_like(p["embed.W"])
    np.add.at(dW, SRC.reshape(-1), e.grad.numpy().reshape(-1, E))
    np.testing.assert_allclose(enc.grads["embed.W"], dW, rtol=1e-10, atol=1e-12)


def test_attention_picture_of_hangul_warns_once_without_a_font(tmp_path, monkeypatch):
    """Labels no installed font can draw: one clear warning, not one per glyph; a PNG anyway."""
    import warnings
    import minis2s.app.attention_plot as AP
    monkeypatch.setattr(AP, "_WIDE_FONTS", ("No Such Font",))
    alpha = np.full((2, 3), 1 / 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AP.plot_attention(alpha, ["Tom", "is", "here"], ["톰은", "<eos>"], tmp_path / "k.png")
    assert [str(w.message) for w in caught if "font" in str(w.message).lower()] == [
        str(w.message) for w in caught]
    assert len(caught) == 1 and "Hangul" in str(caught[0].message)
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"
    with warnings.catch_warnings(record=True) as caught:      # Latin labels: no font hunt
        warnings.simplefilter("always")
        AP.plot_attention(alpha, ["a", "b", "c"], ["x", "<eos>"], tmp_path / "l.png")
    assert caught == []


def test_input_feeding_gradient_with_dropout(backend):
    """Input feeding runs its LSTM once per step; the dropout between its layers draws a mask
    at every step, from the model's generator, so a fixed step_count gives every pass the
    same masks -- or a gradient check with dropout would compare two functions."""
    model = randomised(Seq2Seq(11, 9, emb=3, hidden=4, n_layers=2, dropout=0.3,
                               decoder="attention", score="general", input_feeding=True))

    def loss():
        model.step_count = 0                       # the same draws on every call
        return model.forward(SRC, TGT)
    loss()
    steps = model._pending[2].core[1]              # the fed loop's (lstm, attention) caches
    assert all(lstm.dropout_masks[1] is not None for lstm, _ in steps), \
        "no between-layer masks were drawn: the test proves nothing"
    # tolerance 1e-6: Wa's gradient is small here and sits near the numerical floor (2e-7);
    # masks redrawn on every pass give errors of order 1
    check_model(model, loss, 1e-6, h=1e-4, max_elements=6).assert_passed()
