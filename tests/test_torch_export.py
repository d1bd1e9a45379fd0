"""Weights exported to PyTorch's layout drive torch.nn modules to the same numbers (float64).

The oracle is independent: PyTorch's own nn.Embedding, nn.LSTM and nn.Linear,
loaded with ``load_state_dict`` from the exported dict, with the peeky
concatenations written out here the way the decoder does them.
"""
import numpy as np
import pytest

import minis2s
from minis2s.models import Seq2Seq
from minis2s.torch_export import from_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")
nn = torch.nn

SRC = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 7, 0]])     # three lengths
TGT = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 6, 7, 5, 2]])
V_SRC, V_TGT, E, H = 9, 8, 3, 5


def make_model(decoder, n_layers, seed=0):
    minis2s.use("numpy", dtype="float64")
    model = Seq2Seq(V_SRC, V_TGT, emb=E, hidden=H, n_layers=n_layers, decoder=decoder)
    rng = np.random.default_rng(seed)
    for p in model.params.values():        # non-zero biases, weights larger than the init
        p[...] = rng.standard_normal(p.shape) * 0.5
    return model.eval()


class TorchSeq2Seq(nn.Module):
    """The same network written with torch.nn, batch first."""

    def __init__(self, decoder, n_layers):
        super().__init__()
        self.peeky = decoder == "peeky"
        extra = H if self.peeky else 0
        self.encoder = nn.Module()
        self.encoder.embed = nn.Embedding(V_SRC, E)
        self.encoder.lstm = nn.LSTM(E, H, num_layers=n_layers, batch_first=True)
        self.decoder = nn.Module()
        self.decoder.embed = nn.Embedding(V_TGT, E)
        self.decoder.lstm = nn.LSTM(E + extra, H, num_layers=n_layers, batch_first=True)
        self.decoder.fc = nn.Linear(H + extra, V_TGT)
        self.double()

    def encode(self, src):
        """Reverse each sentence's real tokens, then run packed sequences: state at the last real token."""
        lengths = (src != 0).sum(1)
        rev = src.clone()
        for n, L in enumerate(lengths.tolist()):
            rev[n, :L] = src[n, :L].flip(0)
        packed = nn.utils.rnn.pack_padded_sequence(self.encoder.embed(rev), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, (h, c) = self.encoder.lstm(packed)
        return h, c

    def decode(self, y_in, state):
        e = self.decoder.embed(y_in)
        ctx = state[0][-1][:, None, :].expand(-1, y_in.shape[1], -1)     # (N, T, H)
        if self.peeky:
            e = torch.cat([e, ctx], dim=-1)
        hs, _ = self.decoder.lstm(e, state)
        if self.peeky:
            hs = torch.cat([hs, ctx], dim=-1)
        return self.decoder.fc(hs)


def ours(model):
    context = model.encode(minis2s.to_device(SRC))
    logits, _ = model.decoder.forward(minis2s.to_device(TGT[:, :-1]), context)
    return [minis2s.to_cpu(a) for a in (context.h, context.c, logits)]


def theirs(net):
    with torch.no_grad():
        h, c = net.encode(torch.from_numpy(SRC))
        logits = net.decode(torch.from_numpy(TGT[:, :-1]), (h, c))
    return [t.numpy() for t in (h, c, logits)]


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_exported_weights_drive_torch_to_the_same_outputs(decoder, n_layers):
    model = make_model(decoder, n_layers)
    sd = to_torch_state_dict(model)
    net = TorchSeq2Seq(decoder, n_layers)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})   # strict: every name fits
    for name, a, b in zip(["encoder hT", "encoder cT", "decoder logits"], ours(model), theirs(net)):
        assert np.abs(a - b).max() <= 1e-10, name


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
def test_torch_weights_import(decoder):
    """PyTorch's own initialisation (two non-zero biases per LSTM layer) imported into minis2s."""
    torch.manual_seed(0)
    net = TorchSeq2Seq(decoder, 2)
    model = make_model(decoder, 2, seed=1)
    from_torch_state_dict(model, net.state_dict())        # torch tensors accepted as they are
    for name, a, b in zip(["encoder hT", "encoder cT", "decoder logits"], ours(model), theirs(net)):
        assert np.abs(a - b).max() <= 1e-10, name


def test_round_trip_is_exact():
    model = make_model("peeky", 2)
    copy = make_model("peeky", 2, seed=9)
    from_torch_state_dict(copy, to_torch_state_dict(model))
    for name, w in model.state_dict().items():
        np.testing.assert_array_equal(copy.state_dict()[name], w, err_msg=name)


def test_bad_state_dicts_are_refused_by_name():
    model = make_model("plain", 1)
    before = model.state_dict()
    sd = to_torch_state_dict(model)
    missing = {k: v for k, v in sd.items() if k != "decoder.fc.bias"}
    with pytest.raises(ValueError, match="missing.*decoder.fc.bias"):
        from_torch_state_dict(model, missing)
    wrong = dict(sd, **{"decoder.fc.weight": np.zeros((V_TGT, H + 1))})
    with pytest.raises(ValueError, match="decoder.fc.W would get shape"):
        from_torch_state_dict(model, wrong)
    for name, w in before.items():                      # nothing was changed
        np.testing.assert_array_equal(model.state_dict()[name], w)
