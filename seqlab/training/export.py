"""Export the inference graph ``forward(features, lengths) -> (log_probs, lengths)``.

TorchScript (``torch.jit.script``) first; when scripting fails, ``torch.export`` with a
dynamic batch and time axis. The resolved config travels inside the file.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import torch
from torch import nn

from seqlab.io import atomic_write

__all__ = ["ExportError", "export_model", "load_exported"]

log = logging.getLogger(__name__)


class ExportError(ValueError):
    """The model could be exported neither with TorchScript nor with torch.export."""


def export_model(
    model: nn.Module,
    path: str | os.PathLike,
    example: tuple[torch.Tensor, torch.Tensor],
    extra_files: dict[str, str] | None = None,
    method: str = "auto",
) -> str:
    """Write ``model`` (eval mode) to ``path``; returns the method used (``torchscript``/``export``).

    Args:
        model: an ASR model.
        path: output file.
        example: ``(features (B, T, D), lengths (B,))`` used by ``torch.export``.
        extra_files: small text files stored in the archive (TorchScript only), e.g. the config.
        method: ``"auto"``, ``"torchscript"`` or ``"export"``.
    """
    model = model.eval()
    errors = []
    if method in ("auto", "torchscript"):
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream but still works
                warnings.simplefilter("ignore", FutureWarning)
                scripted = torch.jit.script(model)
                with atomic_write(path, "wb") as f:
                    torch.jit.save(scripted, f, _extra_files=extra_files or {})
            return "torchscript"
        except Exception as e:  # TorchScript frontend errors have many types
            errors.append(f"TorchScript: {e}")
            log.warning(
                "TorchScript export failed, trying torch.export: %s", str(e).splitlines()[0]
            )
    if method in ("auto", "export"):
        try:
            batch = torch.export.Dim("batch", min=1, max=1024)
            time = torch.export.Dim("time", min=16, max=20_000)  # positional table: 5000 x 4
            program = torch.export.export(
                model, example, dynamic_shapes=({0: batch, 1: time}, {0: batch})
            )
            with atomic_write(path, "wb") as f:
                torch.export.save(program, f)
            return "export"
        except Exception as e:
            errors.append(f"torch.export: {e}")
    raise ExportError(f"cannot export the model to {path}: " + " | ".join(errors))


def load_exported(path: str | os.PathLike) -> Any:
    """Load an exported model: a TorchScript module or a ``torch.export`` program's module."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location="cpu")
    except RuntimeError:
        return torch.export.load(str(path)).module()
