"""ASR models: overfitting, padding invariance, loss definitions, build from config."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.models import (
    AttentionModel,
    CTCModel,
    JointCTCAttentionModel,
    ModelConfig,
    build_model,
    ctc_greedy,
    init_weights,
)
from seqlab.models.asr import _decoder_io, label_smoothed_ce
from seqlab.models.conformer import ConformerEncoderConfig
from seqlab.models.rnn import RNNEncoderConfig
from seqlab.models.transformer import TransformerDecoderConfig, TransformerEncoderConfig


def tiny_config(model_type: str, encoder: str, kind: str = "lstm", **kw) -> ModelConfig:
    return ModelConfig(
        type=model_type,
        encoder=encoder,
        rnn=RNNEncoderConfig(kind=kind, hidden=32, num_layers=1, subsampling=2),
        transformer=TransformerEncoderConfig(
            dim=32, num_layers=2, num_heads=2, ffn_dim=64, dropout=0.0
        ),
        conformer=ConformerEncoderConfig(
            dim=32, num_layers=2, num_heads=2, ffn_dim=64, conv_kernel=7, dropout=0.0
        ),
        decoder=TransformerDecoderConfig(num_layers=1, num_heads=2, ffn_dim=64, dropout=0.0),
        **kw,
    )


# (type, encoder, rnn kind, learning rate, steps, loss threshold, greedy must be exact)
OVERFIT_CASES = [
    ("ctc", "rnn", "rnn", 1e-2, 150, 0.6, False),
    ("ctc", "rnn", "gru", 1e-2, 150, 0.2, False),
    ("ctc", "rnn", "lstm", 1e-2, 150, 0.2, False),
    ("ctc", "transformer", "lstm", 1e-2, 80, 0.1, True),
    ("ctc", "conformer", "lstm", 1e-2, 80, 0.05, True),
    ("attention", "transformer", "lstm", 1e-2, 80, 0.05, True),
    ("attention", "rnn", "lstm", 1e-2, 120, 0.1, False),
    # lr 1e-2 left seed 0 on a plateau of the attention loss on some CPUs; 3e-3 converges
    # on seeds 0-4 to a loss of 0.006-0.015
    ("joint", "conformer", "lstm", 3e-3, 150, 0.1, True),
]


@pytest.mark.parametrize("case", OVERFIT_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_model_overfits_toy_batch(case, toy_batch):
    model_type, encoder, kind, lr, steps, threshold, exact = case
    feats, lengths, targets, target_lengths, labels, vocab = toy_batch
    model = build_model(tiny_config(model_type, encoder, kind, label_smoothing=0.0), vocab, 20)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        loss = model.compute_loss(feats, lengths, targets, target_lengths)["loss"]
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = float(model.compute_loss(feats, lengths, targets, target_lengths)["loss"].detach())
    assert final < threshold < first, (first, final)
    if exact:
        assert model.eval().greedy_decode(feats, lengths) == labels


@pytest.mark.parametrize("model_type", ["ctc", "attention", "joint"])
@pytest.mark.parametrize("encoder", ["rnn", "transformer", "conformer"])
def test_model_outputs_are_padding_invariant(model_type, encoder, toy_batch):
    feats, lengths, *_, vocab = toy_batch
    model = build_model(tiny_config(model_type, encoder), vocab, 20).eval()
    with torch.no_grad():
        log_probs, out_lengths = model(feats, lengths)
        hyps = model.greedy_decode(feats, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone, alone_len = model(feats[b : b + 1, :n], lengths[b : b + 1])
            m = int(alone_len)
            assert m == int(out_lengths[b])
            torch.testing.assert_close(log_probs[b, :m], alone[0, :m], atol=1e-5, rtol=1e-5)
            assert model.greedy_decode(feats[b : b + 1, :n], lengths[b : b + 1]) == [hyps[b]]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(()), atol=1e-5)


def test_ctc_model_loss_is_pytorch_ctc_mean(toy_batch):
    feats, lengths, targets, target_lengths, _, vocab = toy_batch
    model = build_model(tiny_config("ctc", "transformer"), vocab, 20)
    log_probs, out_lengths = model(feats, lengths)
    expected = F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths)
    loss = model.compute_loss(feats, lengths, targets, target_lengths)["loss"]
    torch.testing.assert_close(loss, expected)


def test_joint_loss_interpolates_ctc_and_attention(toy_batch):
    feats, lengths, targets, target_lengths, _, vocab = toy_batch
    cfg = tiny_config("joint", "transformer", ctc_weight=0.3, label_smoothing=0.1)
    joint = build_model(cfg, vocab, 20)
    assert isinstance(joint, JointCTCAttentionModel)
    out = joint.compute_loss(feats, lengths, targets, target_lengths)
    torch.testing.assert_close(out["loss"], 0.3 * out["ctc"] + 0.7 * out["attention"])
    enc, enc_len = joint.encode(feats, lengths)
    ctc = F.ctc_loss(
        joint.ctc_head(enc).log_softmax(-1).transpose(0, 1), targets, enc_len, target_lengths
    )
    torch.testing.assert_close(out["ctc"], ctc.detach())


def test_label_smoothed_ce_matches_manual_formula():
    logits = torch.randn(2, 5, 7)
    targets = torch.tensor([[1, 2, 3, -100, -100], [4, 5, 6, 0, 1]])
    eps = 0.2
    logp = logits.log_softmax(-1)
    total, count = 0.0, 0
    for b in range(2):
        for u in range(5):
            y = int(targets[b, u])
            if y == -100:
                continue
            q = torch.full((7,), eps / 7)
            q[y] += 1 - eps
            total += float(-(q * logp[b, u]).sum())
            count += 1
    assert math.isclose(float(label_smoothed_ce(logits, targets, eps)), total / count, rel_tol=1e-5)


def test_decoder_io_adds_sos_and_eos():
    ys_in, ys_out = _decoder_io(torch.tensor([[3, 4, 5], [6, 0, 0]]), torch.tensor([3, 1]), 9)
    assert ys_in.tolist() == [[9, 3, 4, 5], [9, 6, 9, 9]]
    assert ys_out.tolist() == [[3, 4, 5, 9], [6, 9, -100, -100]]


def test_ctc_greedy_merges_repeats_and_drops_blanks():
    path = torch.tensor([[0, 1, 1, 0, 1, 2, 2, 0], [3, 3, 0, 3, 0, 0, 0, 0]])
    log_probs = F.one_hot(path, 4).float().log()
    assert ctc_greedy(log_probs, torch.tensor([8, 4])) == [[1, 1, 2], [3, 3]]


def test_build_model_types_and_errors():
    assert isinstance(build_model(tiny_config("ctc", "rnn"), 5, 20), CTCModel)
    att = build_model(tiny_config("attention", "rnn"), 5, 20)
    assert isinstance(att, AttentionModel) and att.sos_eos == 5
    assert att.decoder.out.out_features == 6  # vocab + <sos/eos>
    with pytest.raises(ValueError, match="model.type"):
        build_model(tiny_config("rnnt", "rnn"), 5, 20)
    with pytest.raises(ValueError, match="model.encoder"):
        build_model(tiny_config("ctc", "lstm"), 5, 20)


@pytest.mark.parametrize("scheme", ["xavier", "kaiming"])
def test_init_weights_changes_matrices_and_zeros_biases(scheme):
    torch.manual_seed(0)
    model = build_model(tiny_config("ctc", "transformer"), 5, 20)
    before = model.ctc_head.weight.clone()
    init_weights(model, scheme)
    assert not torch.equal(before, model.ctc_head.weight)
    assert torch.all(model.ctc_head.bias == 0)
    fan_in = model.ctc_head.weight.shape[1]
    expected_std = math.sqrt(2.0 / fan_in) if scheme == "kaiming" else math.sqrt(2.0 / (fan_in + 5))
    assert abs(float(model.ctc_head.weight.detach().std()) / expected_std - 1) < 0.3
    with pytest.raises(ValueError):
        init_weights(model, "orthogonal")
