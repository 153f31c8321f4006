"""Encoders: shapes, output lengths, padding invariance, and PyTorch references."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.models import (
    ConformerEncoder,
    Conv2dSubsampling,
    RNNEncoder,
    TransformerDecoder,
    TransformerEncoder,
    make_pad_mask,
)

DIM = 20


def _encoders() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "rnn": RNNEncoder(DIM, kind="rnn", hidden=16, num_layers=2),
        "gru": RNNEncoder(DIM, kind="gru", hidden=16, num_layers=2, subsampling=3),
        "lstm": RNNEncoder(DIM, kind="lstm", hidden=16, num_layers=2, projection=24),
        "lstm_uni": RNNEncoder(DIM, kind="lstm", hidden=16, bidirectional=False, subsampling=2),
        "transformer": TransformerEncoder(DIM, dim=32, num_layers=2, num_heads=4, ffn_dim=64),
        "conformer": ConformerEncoder(
            DIM, dim=32, num_layers=2, num_heads=4, ffn_dim=64, conv_kernel=7
        ),
    }


@pytest.mark.parametrize("name", list(_encoders()))
def test_padding_invariance(name):
    """Each utterance's output is the same alone and batched with longer ones (eval mode)."""
    enc = _encoders()[name].eval()
    lengths = torch.tensor([90, 41, 17])
    x = torch.randn(3, 90, DIM)
    x = x.masked_fill(make_pad_mask(lengths).unsqueeze(-1), 0.0)
    with torch.no_grad():
        y, y_len = enc(x, lengths)
        # Different padding value and extra padding must not matter either.
        x_more = torch.cat([x, torch.full((3, 23, DIM), 7.0)], dim=1)
        x_more[1, 41:] = -3.0
        y_more, _ = enc(x_more, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone, alone_len = enc(x[b : b + 1, :n], lengths[b : b + 1])
            assert int(alone_len) == int(y_len[b])
            m = int(y_len[b])
            assert m > 0
            torch.testing.assert_close(y[b, :m], alone[0, :m], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(y_more[b, :m], alone[0, :m], atol=1e-5, rtol=1e-5)
            assert torch.all(y[b, m:] == 0), "padding frames of the output are zero"


@pytest.mark.parametrize("name", list(_encoders()))
def test_output_lengths_match_forward(name):
    enc = _encoders()[name].eval()
    lengths = torch.tensor([50, 33, 12, 7])
    y, y_len = enc(torch.randn(4, 50, DIM), lengths)
    assert torch.equal(y_len, enc.output_lengths(lengths))
    assert y.shape == (4, int(y_len.max()), enc.output_dim)
    # a batch too short for any output frame (subsampling: under 7 frames) gives none
    short = torch.tensor([6, 3])
    y, y_len = enc(torch.randn(2, 6, DIM), short)
    assert torch.equal(y_len, enc.output_lengths(short))
    assert y.shape == (2, int(y_len.max()), enc.output_dim)


def test_rnn_encoder_matches_unpacked_torch_lstm():
    """Packed sequences give what a plain nn.LSTM computes on the unpadded utterance."""
    enc = RNNEncoder(DIM, kind="lstm", hidden=16, num_layers=2, bidirectional=True).eval()
    ref = nn.LSTM(DIM, 16, num_layers=2, bidirectional=True, batch_first=True)
    ref.load_state_dict(enc.rnn.state_dict())
    lengths = torch.tensor([30, 12])
    x = torch.randn(2, 30, DIM)
    with torch.no_grad():
        y, _ = enc(x, lengths)
        for b, n in enumerate(lengths.tolist()):
            expected, _ = ref(x[b : b + 1, :n])
            torch.testing.assert_close(y[b, :n], expected[0], atol=1e-6, rtol=1e-6)


def test_frame_stacking_concatenates_neighbours():
    enc = RNNEncoder(4, kind="gru", hidden=8, subsampling=3)
    x = torch.arange(2 * 7 * 4, dtype=torch.float32).reshape(2, 7, 4)
    stacked, lengths = enc.stack(x, torch.tensor([7, 5]))
    assert stacked.shape == (2, 2, 12)
    assert lengths.tolist() == [2, 1]
    torch.testing.assert_close(stacked[0, 1], x[0, 3:6].reshape(-1))


def test_conv_subsampling_lengths_match_torch_conv_arithmetic():
    sub = Conv2dSubsampling(DIM, 16)
    for n in [1, 6, 7, 8, 9, 10, 11, 50, 101]:
        y, y_len = sub(torch.randn(1, n, DIM), torch.tensor([n]))
        assert y.shape[1] == int(y_len) == max(0, ((n - 1) // 2 - 1) // 2)


def test_conformer_layer_matches_torchaudio_without_padding():
    """With no padding our batch-first driver equals torchaudio's ConformerLayer.forward."""
    enc = ConformerEncoder(DIM, dim=32, num_layers=1, num_heads=4, ffn_dim=64, conv_kernel=7)
    enc.eval()
    layer = enc.layers[0]
    x = torch.randn(2, 15, 32)
    pad = torch.zeros(2, 15, dtype=torch.bool)
    with torch.no_grad():
        ours = layer(x, pad)
        ref = layer.layer(x.transpose(0, 1), None).transpose(0, 1)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_transformer_decoder_is_causal_and_padding_invariant():
    dec = TransformerDecoder(10, 32, num_layers=2, num_heads=4, ffn_dim=64).eval()
    memory = torch.randn(2, 12, 32)
    mem_len = torch.tensor([12, 5])
    tokens = torch.randint(0, 10, (2, 6))
    with torch.no_grad():
        out = dec(tokens, memory, mem_len)
        changed = tokens.clone()
        changed[:, 4:] = (changed[:, 4:] + 1) % 10
        out_changed = dec(changed, memory, mem_len)
        torch.testing.assert_close(out[:, :4], out_changed[:, :4])
        alone = dec(tokens[1:2], memory[1:2, :5], mem_len[1:2])
        torch.testing.assert_close(out[1], alone[0], atol=1e-5, rtol=1e-5)
