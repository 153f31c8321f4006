"""Weight initialization schemes selectable by name (``trainer.init`` in the config)."""

from __future__ import annotations

from torch import nn

__all__ = ["init_weights", "INIT_SCHEMES"]

INIT_SCHEMES = ("default", "xavier", "kaiming")


def init_weights(model: nn.Module, scheme: str = "default") -> None:
    """Re-initialize weight matrices (``dim >= 2``) of ``model`` in place; biases become zero.

    ``"default"`` keeps PyTorch's per-layer initialization; ``"xavier"`` uses Glorot uniform;
    ``"kaiming"`` uses He normal (fan-in, ReLU gain). Embeddings, LayerNorm/BatchNorm
    parameters and 1-D tensors are left as they are except biases.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.LayerNorm, nn.BatchNorm1d, nn.GroupNorm)):
            continue
        for name, param in module.named_parameters(recurse=False):
            if param.dim() >= 2:
                if scheme == "xavier":
                    nn.init.xavier_uniform_(param)
                else:
                    nn.init.kaiming_normal_(param, nonlinearity="relu")
            elif name.startswith("bias"):
                nn.init.zeros_(param)
