"""Exported inference graphs (TorchScript, torch.export) give the eager model's outputs."""

from __future__ import annotations

import pytest
import torch

from seqlab.models import ModelConfig, build_model
from seqlab.models.conformer import ConformerEncoderConfig
from seqlab.models.rnn import RNNEncoderConfig
from seqlab.models.transformer import TransformerDecoderConfig, TransformerEncoderConfig
from seqlab.training.export import export_model, load_exported


def _model(model_type: str, encoder: str):
    torch.manual_seed(0)
    cfg = ModelConfig(
        type=model_type,
        encoder=encoder,
        rnn=RNNEncoderConfig(kind="lstm", hidden=16, num_layers=2, subsampling=2),
        transformer=TransformerEncoderConfig(dim=16, num_layers=1, num_heads=2, ffn_dim=32),
        conformer=ConformerEncoderConfig(
            dim=16, num_layers=1, num_heads=2, ffn_dim=32, conv_kernel=5
        ),
        decoder=TransformerDecoderConfig(num_layers=1, num_heads=2, ffn_dim=32),
        max_decode_len=12,
    )
    return build_model(cfg, 9, 20).eval()


@pytest.mark.parametrize(
    "model_type, encoder, method",
    [
        ("ctc", "rnn", "torchscript"),
        ("ctc", "conformer", "torchscript"),
        ("attention", "transformer", "torchscript"),
        ("joint", "rnn", "torchscript"),
        ("ctc", "transformer", "export"),
    ],
)
def test_exported_model_matches_eager(tmp_path, model_type, encoder, method):
    model = _model(model_type, encoder)
    path = tmp_path / "model.pt"
    example = (torch.randn(2, 64, 20), torch.tensor([64, 40]))
    assert export_model(model, path, example, {"config.yaml": "x: 1\n"}, method=method) == method
    exported = load_exported(path)
    x, lengths = torch.randn(3, 90, 20), torch.tensor([90, 77, 31])  # other batch and length
    with torch.no_grad():
        ref, ref_len = model(x, lengths)
        out, out_len = exported(x, lengths)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert torch.equal(out_len, ref_len)
