"""ASR models: CTC, attention encoder-decoder, and joint CTC/attention.

Every model shares one interface, used by the trainer, the decoders and the exporter:

- ``forward(features (B, T, D), lengths (B,)) -> (log_probs (B, T', V), out_lengths (B,))``:
  the inference graph (float32 natural-log probabilities);
- ``compute_loss(features, lengths, targets (B, U), target_lengths (B,)) -> dict`` with key
  ``"loss"`` (a scalar to minimize) and its components;
- ``greedy_decode(features, lengths) -> list[list[int]]``: best-path token ids per utterance;
- ``output_lengths(lengths)``: encoder frames for input frames (for filtering data).

Token ids: ``0 .. vocab_size - 1`` come from the tokenizer and ``blank_id`` (default 0) is the
CTC blank. Attention decoders add one class, ``sos_eos = vocab_size``, that starts and ends
every sequence. Padding in ``targets`` is ignored (only ``target_lengths`` count).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.transformer import TransformerDecoder

__all__ = [
    "ASRModel",
    "CTCModel",
    "AttentionModel",
    "JointCTCAttentionModel",
    "ctc_loss",
    "ctc_greedy",
    "label_smoothed_ce",
]


def ctc_loss(
    logits: torch.Tensor,
    out_lengths: torch.Tensor,
    targets: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = 0,
) -> torch.Tensor:
    """CTC loss of batch-first unnormalized ``logits`` ``(B, T, C)`` (any float dtype).

    Uses ``seqlab.losses.ctc_loss_from_logits`` (log-softmax fused into the loss on GPU, fp32
    accumulation); mean over the batch of loss / max(|target|, 1), as
    ``F.ctc_loss(log_softmax(logits), reduction="mean")``.
    """
    from seqlab.losses import ctc_loss_from_logits

    return ctc_loss_from_logits(
        logits, targets, out_lengths, target_lengths, blank=blank, reduction="mean",
        batch_first=True,
    )  # fmt: skip


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks. ``log_probs``: ``(B, T, C)``."""
    best = log_probs.argmax(dim=-1).cpu()
    hyps = []
    for b, n in enumerate(lengths.tolist()):
        path = best[b, :n]
        if n > 0:
            keep = torch.ones_like(path, dtype=torch.bool)
            keep[1:] = path[1:] != path[:-1]
            path = path[keep & (path != blank)]
        hyps.append(path.tolist())
    return hyps


def label_smoothed_ce(
    logits: torch.Tensor, targets: torch.Tensor, smoothing: float, ignore_index: int = -100
) -> torch.Tensor:
    """Cross entropy with label smoothing, averaged over non-ignored tokens.

    ``logits``: ``(B, U, C)``; ``targets``: ``(B, U)`` int64 with ``ignore_index`` on padding.
    Smoothing spreads ``smoothing`` uniformly over all ``C`` classes (PyTorch's definition).
    """
    return F.cross_entropy(
        logits.float().transpose(1, 2),
        targets,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
    )


class ASRModel(nn.Module):
    """Common base: an encoder with ``output_dim`` and ``output_lengths``; see the module doc."""

    def __init__(self, encoder: nn.Module, vocab_size: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.vocab_size = vocab_size

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames for ``lengths`` input frames ``(B,)``."""
        return self.encoder.output_lengths(lengths)

    def encode(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, D)`` features -> ``(B, T', H)`` encoder output and ``(B,)`` lengths."""
        return self.encoder(features, lengths)

    def compute_loss(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def greedy_decode(self, features: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        raise NotImplementedError


class _CTCBranch:
    """The CTC branch of :class:`CTCModel` and :class:`JointCTCAttentionModel`: a linear head
    ``ctc_head`` on the encoder output and ``forward`` = its frame log-probabilities. (No
    class-level annotations: TorchScript would read them as the model's attribute types.)"""

    def _init_ctc_head(self, encoder: nn.Module, vocab_size: int, blank_id: int) -> None:
        self.blank_id = blank_id
        self.ctc_head = nn.Linear(encoder.output_dim, vocab_size)

    def ctc_log_probs(self, enc: torch.Tensor) -> torch.Tensor:
        """``(B, T', H)`` encoder output -> ``(B, T', V)`` float32 log-probabilities."""
        return self.ctc_head(enc).float().log_softmax(dim=-1)

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame log-probabilities ``(B, T', V)`` float32 and ``(B,)`` frame counts."""
        enc, enc_lengths = self.encode(features, lengths)
        return self.ctc_log_probs(enc), enc_lengths


class CTCModel(_CTCBranch, ASRModel):
    """Encoder + linear layer + log-softmax trained with CTC.

    Args:
        encoder: module mapping ``(features, lengths)`` to ``(B, T', output_dim)`` and lengths.
        vocab_size: output classes including the blank.
        blank_id: the CTC blank.
    """

    def __init__(self, encoder: nn.Module, vocab_size: int, blank_id: int = 0) -> None:
        super().__init__(encoder, vocab_size)
        self._init_ctc_head(encoder, vocab_size, blank_id)

    def compute_loss(self, features, lengths, targets, target_lengths):
        enc, out_lengths = self.encode(features, lengths)
        loss = ctc_loss(self.ctc_head(enc), out_lengths, targets, target_lengths, self.blank_id)
        return {"loss": loss, "ctc": loss.detach()}

    @torch.no_grad()
    def greedy_decode(self, features: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        log_probs, out_lengths = self(features, lengths)
        return ctc_greedy(log_probs, out_lengths, self.blank_id)


def _decoder_io(
    targets: torch.Tensor, target_lengths: torch.Tensor, sos_eos: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing inputs ``<sos> y`` (pad: ``sos_eos``) and outputs ``y <eos>`` (pad: -100)."""
    b, u = targets.shape
    steps = torch.arange(u + 1, device=targets.device).unsqueeze(0)
    ys_in = torch.full((b, u + 1), sos_eos, dtype=torch.long, device=targets.device)
    ys_in[:, 1:] = targets
    ys_in = ys_in.masked_fill(steps > target_lengths.unsqueeze(1), sos_eos)
    ys_out = torch.full((b, u + 1), -100, dtype=torch.long, device=targets.device)
    ys_out[:, :u] = targets
    ys_out = ys_out.masked_fill(steps > target_lengths.unsqueeze(1), -100)
    ys_out[torch.arange(b, device=targets.device), target_lengths] = sos_eos
    return ys_in, ys_out


class AttentionModel(ASRModel):
    """Encoder + Transformer decoder trained with label-smoothed cross entropy.

    ``forward`` runs batched greedy decoding and returns the per-step log-probabilities
    ``(B, U, V + 1)`` of the chosen path with the hypothesis lengths (up to, not including,
    ``<eos>``).

    Args:
        encoder: the acoustic encoder.
        decoder: a :class:`TransformerDecoder` over ``vocab_size + 1`` classes.
        vocab_size: tokenizer classes (``sos_eos = vocab_size``).
        label_smoothing: probability mass spread uniformly over the classes.
        max_decode_len: cap on decoded tokens (each hypothesis is also capped by its encoder
            length, so its result does not depend on the batch).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: TransformerDecoder,
        vocab_size: int,
        label_smoothing: float = 0.1,
        max_decode_len: int = 256,
        decoder_dim: int = 0,
    ) -> None:
        super().__init__(encoder, vocab_size)
        self.decoder = decoder
        self.sos_eos = vocab_size
        self.label_smoothing = label_smoothing
        self.max_decode_len = max_decode_len
        dim = decoder_dim or encoder.output_dim
        self.bridge = (
            nn.Linear(encoder.output_dim, dim) if dim != encoder.output_dim else nn.Identity()
        )

    def attention_loss(self, enc, enc_lengths, targets, target_lengths) -> torch.Tensor:
        ys_in, ys_out = _decoder_io(targets, target_lengths, self.sos_eos)
        logits = self.decoder(ys_in, self.bridge(enc), enc_lengths)
        return label_smoothed_ce(logits, ys_out, self.label_smoothing)

    def compute_loss(self, features, lengths, targets, target_lengths):
        enc, enc_lengths = self.encode(features, lengths)
        loss = self.attention_loss(enc, enc_lengths, targets, target_lengths)
        return {"loss": loss, "attention": loss.detach()}

    def attention_greedy(
        self, enc: torch.Tensor, enc_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Batched greedy decoding: ``(B, U, V + 1)`` step log-probs and ``(B,)`` hyp lengths."""
        memory = self.bridge(enc)
        b = enc.size(0)
        # Per-utterance cap (its encoder length) keeps results independent of the batch.
        caps = enc_lengths.clamp(max=self.max_decode_len)
        tokens = torch.full((b, 1), self.sos_eos, dtype=torch.long, device=enc.device)
        hyp_lengths = caps.clone()
        finished = caps == 0
        steps: list[torch.Tensor] = []
        for step in range(int(caps.max()) + 1):
            log_probs = self.decoder(tokens, memory, enc_lengths)[:, -1].float().log_softmax(-1)
            steps.append(log_probs)
            best = log_probs.argmax(dim=-1)
            ended = ((best == self.sos_eos) | (caps == step)) & ~finished
            hyp_lengths = torch.where(ended, torch.full_like(hyp_lengths, step), hyp_lengths)
            finished = finished | ended
            if bool(finished.all()):
                break
            tokens = torch.cat([tokens, best.unsqueeze(1)], dim=1)
        return torch.stack(steps, dim=1), hyp_lengths

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        enc, enc_lengths = self.encode(features, lengths)
        return self.attention_greedy(enc, enc_lengths)

    @torch.no_grad()
    def greedy_decode(self, features: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        log_probs, hyp_lengths = self(features, lengths)
        best = log_probs.argmax(dim=-1).cpu()
        return [best[b, :n].tolist() for b, n in enumerate(hyp_lengths.tolist())]


class JointCTCAttentionModel(_CTCBranch, AttentionModel):
    """Shared encoder with a CTC head and an attention decoder (Kim et al., 2017).

    ``loss = ctc_weight * CTC + (1 - ctc_weight) * label-smoothed CE``. ``forward`` returns the
    CTC branch (frame log-probs, the graph to export and to beam-search with an LM);
    ``greedy_decode`` uses the attention decoder unless ``decode_with="ctc"``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: TransformerDecoder,
        vocab_size: int,
        ctc_weight: float = 0.3,
        label_smoothing: float = 0.1,
        max_decode_len: int = 256,
        decoder_dim: int = 0,
        blank_id: int = 0,
        decode_with: str = "attention",
    ) -> None:
        super().__init__(encoder, decoder, vocab_size, label_smoothing, max_decode_len, decoder_dim)
        if not 0.0 <= ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must be in [0, 1], got {ctc_weight}")
        if decode_with not in ("attention", "ctc"):
            raise ValueError(f"decode_with must be 'attention' or 'ctc', got {decode_with!r}")
        self.ctc_weight = ctc_weight
        self.decode_with = decode_with
        self._init_ctc_head(encoder, vocab_size, blank_id)

    def compute_loss(self, features, lengths, targets, target_lengths):
        enc, enc_lengths = self.encode(features, lengths)
        ctc = ctc_loss(self.ctc_head(enc), enc_lengths, targets, target_lengths, self.blank_id)
        att = self.attention_loss(enc, enc_lengths, targets, target_lengths)
        loss = self.ctc_weight * ctc + (1.0 - self.ctc_weight) * att
        return {"loss": loss, "ctc": ctc.detach(), "attention": att.detach()}

    @torch.no_grad()
    def greedy_decode(self, features: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        enc, enc_lengths = self.encode(features, lengths)
        if self.decode_with == "ctc":
            return ctc_greedy(self.ctc_log_probs(enc), enc_lengths, self.blank_id)
        log_probs, hyp_lengths = self.attention_greedy(enc, enc_lengths)
        best = log_probs.argmax(dim=-1).cpu()
        return [best[b, :n].tolist() for b, n in enumerate(hyp_lengths.tolist())]
