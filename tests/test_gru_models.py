"""The GRU layer and ``cell="gru"`` everywhere the LSTM goes: stacked layer against a
numerical gradient and torch.nn.GRU, whole models (plain, peeky, attention, bidirectional)
against a numerical gradient on every backend, decoding, checkpoints and torch export.
"""
import numpy as np
import pytest

import minis2s
from conftest import dev, randomised
from minis2s.errors import InputError
from minis2s.gradcheck import check_gradients, check_model
from minis2s.layers import GRU, LSTM
from minis2s.models import Seq2Seq

TOL = 1e-7
SRC = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 0, 0]])      # right-padded, 3 lengths
TGT = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 6, 7, 5, 2]])      # <sos> ... <eos> <pad>


def cpu(a):
    return minis2s.to_cpu(a)


# --- the layer ------------------------------------------------------------------------------

def test_gru_layer_gradients(backend, rng):
    """Two stacked layers, a padded mask, an initial state: every weight, x and h0."""
    N, T, D, H, L = 3, 4, 5, 3, 2
    gru = randomised(GRU(D, H, rng, n_layers=L))
    x, h0 = dev(rng, N, T, D), dev(rng, L, N, H)
    mask = minis2s.to_device(np.arange(T)[None, :] < np.array([[4], [1], [3]]))
    dhs, dhT = dev(rng, N, T, H), dev(rng, L, N, H)

    def loss_of(x, h0):
        hs, (hT, c), cache = gru.forward(x, (h0, None), mask)
        assert c is None
        return (hs * dhs).sum() + (hT * dhT).sum(), cache

    kept = {}

    class AsModel:    # what check_model needs: params, grads, backward()
        params = property(lambda self: gru.params)
        grads = property(lambda self: gru.grads)

        def backward(self):
            gru.zero_grad()
            kept["dx"], kept["dstate"] = gru.backward(dhs, (dhT, None), kept["cache"])

    def loss():
        value, kept["cache"] = loss_of(x, h0)
        return value
    report = check_model(AsModel(), loss, TOL, title="GRU layer weights")
    report.assert_passed()
    dh0, dc0 = kept["dstate"]
    assert dc0 is None
    check_gradients(lambda x, h0: gru.forward(x, (h0, None), mask)[0:2], {"x": x, "h0": h0},
                    [dhs, dhT], {"x": kept["dx"], "h0": dh0}, TOL).assert_passed()


def test_gru_layer_adds_its_gradients_over_calls(backend, rng):
    """Run twice, backward twice: the weight gradients are the sum (a layer used at two steps)."""
    gru = randomised(GRU(2, 3, rng))
    x1, x2, d1, d2 = dev(rng, 2, 1, 2), dev(rng, 2, 1, 2), dev(rng, 2, 1, 3), dev(rng, 2, 1, 3)
    gru.zero_grad()
    gru.backward(d1, None, gru.forward(x1)[2])
    first = {k: cpu(v).copy() for k, v in gru.grads.items()}
    gru.backward(d2, None, gru.forward(x2)[2])
    both = {k: cpu(v).copy() for k, v in gru.grads.items()}
    gru.zero_grad()
    gru.backward(d2, None, gru.forward(x2)[2])
    for k in both:
        np.testing.assert_allclose(both[k], first[k] + cpu(gru.grads[k]), rtol=1e-12)


def test_gru_layer_refuses_a_cell_state(rng):
    gru = GRU(2, 3, rng)
    z = np.zeros((1, 2, 3))
    with pytest.raises(InputError, match="no cell state"):
        gru.forward(np.zeros((2, 1, 2)), (z, z))


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_gru_layer_matches_torch(dtype, tol):
    """Two layers, padded batch through pack_padded_sequence: outputs, final state, gradients."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    minis2s.use("numpy", dtype=dtype)
    rng = np.random.default_rng(0)
    N, T, D, H, L = 4, 6, 3, 5, 2
    ours = GRU(D, H, rng, n_layers=L, init="scaled")
    theirs = torch.nn.GRU(D, H, num_layers=L, batch_first=True).to(getattr(torch, dtype))
    with torch.no_grad():      # W.T, and both biases as they are: same gate order r, z, n
        for l in range(L):
            p = ours.params
            theirs_l = {"weight_ih": p[f"{l}.Wx"].T, "weight_hh": p[f"{l}.Wh"].T,
                        "bias_ih": p[f"{l}.bx"], "bias_hh": p[f"{l}.bh"]}
            for name, value in theirs_l.items():
                getattr(theirs, f"{name}_l{l}").copy_(torch.from_numpy(value))
    lengths = np.array([6, 2, 4, 1])
    mask = np.arange(T)[None, :] < lengths[:, None]
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((L, N, H)).astype(dtype)
    dhs = (rng.standard_normal((N, T, H)) * mask[:, :, None]).astype(dtype)
    dhT = rng.standard_normal((L, N, H)).astype(dtype)

    hs, (hT, _), cache = ours.forward(x, (h0, None), mask)
    dx, (dh0, _) = ours.backward(dhs, (dhT, None), cache)

    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    packed = pack_padded_sequence(tx, torch.from_numpy(lengths), batch_first=True,
                                  enforce_sorted=False)
    out, thT = theirs(packed, th0)
    ths, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    ((ths * torch.from_numpy(dhs)).sum() + (thT * torch.from_numpy(dhT)).sum()).backward()

    def close(a, b, what):
        b = b.detach().numpy()
        err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
        assert err <= tol, f"{what}: relative difference {err:.2e} > {tol:.0e}"

    close(hs * mask[:, :, None], ths, "hs"); close(hT, thT, "hT")
    close(dx, tx.grad, "dx"); close(dh0, th0.grad, "dh0")
    for l in range(L):
        close(ours.grads[f"{l}.Wx"], getattr(theirs, f"weight_ih_l{l}").grad.T, f"{l}.Wx")
        close(ours.grads[f"{l}.Wh"], getattr(theirs, f"weight_hh_l{l}").grad.T, f"{l}.Wh")
        close(ours.grads[f"{l}.bx"], getattr(theirs, f"bias_ih_l{l}").grad, f"{l}.bx")
        close(ours.grads[f"{l}.bh"], getattr(theirs, f"bias_hh_l{l}").grad, f"{l}.bh")


# --- whole models -----------------------------------------------------------------------------

def gru_model(decoder="peeky", **kw):
    kw = {"emb": 3, "hidden": 4, **kw}
    return randomised(Seq2Seq(9, 8, decoder=decoder, cell="gru", **kw))


@pytest.mark.parametrize("decoder,n_layers,bidirectional", [
    ("plain", 1, False), ("peeky", 2, False), ("attention", 1, False), ("attention", 2, True),
    ("peeky", 1, True)])
def test_whole_gru_model_gradient(backend, decoder, n_layers, bidirectional):
    model = gru_model(decoder, n_layers=n_layers, bidirectional=bidirectional)
    assert any(".gru." in k for k in model.params) and not any(".lstm" in k for k in model.params)
    # h = 1e-4 where attention's score weights are involved (see test_attention_models)
    report = check_model(model, lambda: model.forward(SRC, TGT), TOL,
                         h=1e-4 if decoder == "attention" else 1e-5,
                         max_elements=12 if backend.name == "numpy" else 6,
                         title=f"gru, {decoder}, {n_layers} layer(s), bi={bidirectional}")
    report.assert_passed()


def test_gru_model_gradient_with_dropout_and_input_feeding(backend):
    """Dropout between the GRU layers and on embeddings/outputs (masks fixed by keeping
    step_count), and the attention decoder's step-by-step loop."""
    model = gru_model("attention", n_layers=2, dropout=0.3, input_feeding=True)

    def loss():
        model.step_count = 0                       # the same masks on every pass
        return model.forward(SRC, TGT)
    check_model(model, loss, TOL, h=1e-4, max_elements=6).assert_passed()


@pytest.mark.parametrize("decoder", ["plain", "peeky", "attention"])
def test_gru_decoding_runs_the_training_maths(backend, decoder):
    """Decoder.step, fed the target tokens one at a time, gives the training forward's
    log-probabilities; greedy and beam search run."""
    model = gru_model(decoder, n_layers=2).eval()
    src, tgt = minis2s.to_device(SRC), minis2s.to_device(TGT)
    enc = model.encode(src)
    assert enc.c is None
    logits, _ = model.decoder.forward(tgt[:, :-1], enc)
    forced = minis2s.functional.log_softmax(logits)
    state = model.decoder.start(enc)
    for t in range(TGT.shape[1] - 1):
        logp, state = model.decoder.step(tgt[:, t], state)
        np.testing.assert_allclose(cpu(logp), cpu(forced[:, t]), rtol=1e-10, atol=1e-12)
    greedy, _ = model.generate(SRC, max_len=4)
    beam, _ = model.generate(SRC, max_len=4, beam_size=3)
    assert len(greedy) == len(beam) == SRC.shape[0]


def test_cell_is_checked_and_kept_in_the_config():
    with pytest.raises(InputError, match="cell"):
        Seq2Seq(9, 8, cell="rnn")
    assert Seq2Seq(9, 8, cell="gru").config["cell"] == "gru"
    assert Seq2Seq(9, 8).config["cell"] == "lstm"


def test_gru_has_three_quarters_of_the_lstms_recurrent_weights():
    """The GRU's 3 blocks against the LSTM's 4 (plus the GRU's second bias)."""
    lstm, gru = (Seq2Seq(9, 8, emb=3, hidden=4, decoder="plain", cell=c) for c in ("lstm", "gru"))
    rec = lambda m, c: sum(v.size for k, v in m.params.items() if f".{c}." in k)   # noqa: E731
    E, H = 3, 4
    assert rec(lstm, "lstm") == 2 * (E * 4 * H + H * 4 * H + 4 * H)
    assert rec(gru, "gru") == 2 * (E * 3 * H + H * 3 * H + 2 * 3 * H)


# --- checkpoints and export -------------------------------------------------------------------

@pytest.mark.parametrize("decoder,bidirectional,hidden,n_layers", [
    ("plain", False, 64, 1), ("attention", True, 64, 1), ("peeky", False, 4, 2)])
def test_gru_checkpoint_round_trip(tmp_path, decoder, bidirectional, hidden, n_layers):
    """The config's cell rebuilds the GRU model: same weights, same loss. A wide GRU has
    fewer weights than an LSTM of its size: the loader's sanity bound must know the cell."""
    from minis2s.app.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
    from minis2s.data import Vocab
    minis2s.use("numpy", dtype="float64")
    sv, tv = Vocab(list("abcdef")), Vocab(list("wxyzv"))
    model = Seq2Seq(len(sv), len(tv), emb=3, hidden=hidden, n_layers=n_layers, decoder=decoder,
                    bidirectional=bidirectional, cell="gru", seed=3)
    src, tgt = SRC.clip(max=len(sv) - 1), TGT.clip(max=len(tv) - 1)
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "gru.npz", model, sv, tv))
    assert ckpt.model_config["cell"] == "gru"
    again = model_from_checkpoint(ckpt)
    assert isinstance(again.encoder.rnn if not bidirectional else again.encoder.rnn_f, GRU)
    assert float(again.forward(src, tgt)) == float(model.forward(src, tgt))


def test_a_checkpoint_without_a_cell_is_an_lstm(tmp_path):
    """Checkpoints saved before the GRU existed have no model_config.cell: they load as LSTMs."""
    import json
    from minis2s.app.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
    from minis2s.data import Vocab
    minis2s.use("numpy", dtype="float64")
    sv, tv = Vocab(list("abcdef")), Vocab(list("wxyzv"))
    model = Seq2Seq(len(sv), len(tv), emb=3, hidden=4, seed=3)
    path = save_checkpoint(tmp_path / "old.npz", model, sv, tv)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["model_config"]["cell"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    ckpt = load_checkpoint(path)
    # Trainer.restore compares the configs: the old checkpoint must resume into today's model
    assert ckpt.model_config == model.config
    again = model_from_checkpoint(ckpt)
    assert again.config["cell"] == "lstm" and isinstance(again.encoder.rnn, LSTM)


def test_a_checkpoint_with_an_unknown_cell_is_refused_naming_the_field(tmp_path):
    import json
    from minis2s.app.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from minis2s.data import Vocab
    minis2s.use("numpy", dtype="float64")
    sv, tv = Vocab(list("abcdef")), Vocab(list("wxyzv"))
    path = save_checkpoint(tmp_path / "bad.npz", Seq2Seq(len(sv), len(tv), emb=3, hidden=4), sv, tv)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["model_config"]["cell"] = "rnn"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="model_config.cell"):
        load_checkpoint(path)


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
def test_exported_gru_weights_drive_torch_to_the_same_outputs(decoder):
    """to_torch_state_dict -> torch.nn.GRU (two layers, packed reversed sources): same final
    encoder state and logits; and from_torch_state_dict brings PyTorch's own weights back."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    from minis2s.torch_export import from_torch_state_dict, to_torch_state_dict
    minis2s.use("numpy", dtype="float64")
    E, H, L, V_SRC, V_TGT = 3, 4, 2, 9, 8
    model = gru_model(decoder, n_layers=L).eval()
    extra = H if decoder == "peeky" else 0
    net = nn.Module()
    net.encoder, net.decoder = nn.Module(), nn.Module()
    net.encoder.embed = nn.Embedding(V_SRC, E)
    net.encoder.gru = nn.GRU(E, H, num_layers=L, batch_first=True)
    net.decoder.embed = nn.Embedding(V_TGT, E)
    net.decoder.gru = nn.GRU(E + extra, H, num_layers=L, batch_first=True)
    net.decoder.fc = nn.Linear(H + extra, V_TGT)
    net.double()

    def theirs():
        with torch.no_grad():
            src = torch.from_numpy(SRC)
            lengths = (src != 0).sum(1)
            rev = src.clone()
            for n, k in enumerate(lengths.tolist()):
                rev[n, :k] = src[n, :k].flip(0)
            packed = nn.utils.rnn.pack_padded_sequence(net.encoder.embed(rev), lengths,
                                                       batch_first=True, enforce_sorted=False)
            _, h = net.encoder.gru(packed)
            e = net.decoder.embed(torch.from_numpy(TGT[:, :-1]))
            ctx = h[-1][:, None, :].expand(-1, e.shape[1], -1)
            if extra:
                e = torch.cat([e, ctx], dim=-1)
            hs, _ = net.decoder.gru(e, h)
            if extra:
                hs = torch.cat([hs, ctx], dim=-1)
            return h.numpy(), net.decoder.fc(hs).numpy()

    def ours():
        enc = model.encode(SRC)
        return enc.h, model.decoder.forward(TGT[:, :-1], enc)[0]

    net.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(model).items()})
    for name, a, b in zip(["encoder hT", "logits"], ours(), theirs()):
        assert np.abs(a - b).max() <= 1e-10, name
    torch.manual_seed(0)
    for m in (net.encoder.gru, net.decoder.gru):
        m.reset_parameters()               # PyTorch's own init: two different biases per layer
    from_torch_state_dict(model, net.state_dict())
    for name, a, b in zip(["encoder hT", "logits"], ours(), theirs()):
        assert np.abs(a - b).max() <= 1e-10, name


def test_encoder_and_decoder_must_share_the_cell():
    """The decoder starts from the encoder's state: a GRU's (h, None) cannot start an LSTM."""
    from minis2s.models import Decoder, Encoder
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="same cell"):
        Seq2Seq(9, 8, emb=3, hidden=4, encoder_module=Encoder(9, 3, 4, rng, cell="gru"))
    model = Seq2Seq(9, 8, emb=3, hidden=4, decoder="plain",
                    encoder_module=Encoder(9, 3, 4, rng, cell="gru"),
                    decoder_module=Decoder(8, 3, 4, rng, cell="gru"))
    assert model.config["cell"] == "gru"       # ready-made modules decide the config's cell


# --- the command line ------------------------------------------------------------------------

def test_cli_trains_resumes_evaluates_and_translates_a_gru(tmp_path, capsys):
    """minis2s train --cell gru: the run folder says gru, the checkpoint holds GRU weights,
    a resume continues it (and refuses to turn it into an LSTM), eval and translate load it."""
    from minis2s.app.checkpoint import load_checkpoint
    from minis2s.app.cli import main
    fast = ["--fast", "--no-progress", "--train-size", "300", "--val-size", "40", "--out"]
    out = tmp_path / "runs" / "addition-peeky-gru"
    assert main(["train", *fast, str(out), "--epochs", "1", "--cell", "gru"]) == 0
    ckpt = load_checkpoint(out / "checkpoint.npz")
    assert ckpt.model_config["cell"] == "gru" and ckpt.train_config["cell"] == "gru"
    assert any(k.startswith("encoder.gru.") for k in ckpt.model_state)
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(out)]) == 0
    assert load_checkpoint(out / "checkpoint.npz").epoch == 2
    capsys.readouterr()
    assert main(["train", "--resume", "--no-progress", "--epochs", "3", "--out", str(out),
                 "--cell", "lstm"]) != 0
    assert "--cell is 'lstm' but the checkpoint was trained with 'gru'" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz")]) == 0
    assert main(["translate", "--checkpoint", str(out / "checkpoint.npz"), "12+3"]) == 0
    assert capsys.readouterr().out.strip()


def test_cli_names_the_gru_run_folder(tmp_path, monkeypatch):
    from minis2s.app.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--fast", "--no-progress", "--train-size", "200", "--val-size", "20",
                 "--epochs", "1", "--cell", "gru", "--model", "attention", "--bidirectional"]) == 0
    assert (tmp_path / "runs" / "addition-attention-dot-bi-gru" / "checkpoint.npz").exists()
