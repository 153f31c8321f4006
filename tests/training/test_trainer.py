"""Trainer: learning, exact resume, AMP, accumulation, non-finite skips, checkpoints."""

from __future__ import annotations

import logging

import pytest
import torch

from seqlab.training import (
    OptimConfig,
    SchedulerConfig,
    Trainer,
    TrainerConfig,
    average_checkpoints,
    load_checkpoint,
)

FAST = dict(progress=False, tensorboard=False, log_every=1)


@pytest.fixture(autouse=True)
def _helpers(toy):
    global toy_items, toy_loader, tiny_model, decode
    toy_items, toy_loader, tiny_model, decode = toy.items, toy.loader, toy.model, toy.decode


def make_trainer(tmp_path, name="run", model=None, items=None, **kw) -> Trainer:
    items = items or toy_items()
    cfg = TrainerConfig(**{**FAST, "epochs": 2, **kw})
    return Trainer(
        model or tiny_model(),
        toy_loader(items),
        tmp_path / name,
        optim=OptimConfig(name="adamw", lr=3e-3, weight_decay=0.01),
        scheduler=SchedulerConfig(name="noam", warmup_steps=4),
        trainer=cfg,
        valid_loader=toy_loader(items[:4]),
        decode=decode,
    )


def params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=0, msg=k)


def test_training_reduces_loss_and_writes_checkpoints(tmp_path):
    trainer = make_trainer(tmp_path, epochs=6, keep_last=1, average_last=2, tensorboard=True)
    history = trainer.fit()
    assert len(history) == 6
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["valid_loss"] < history[0]["valid_loss"]
    assert 0.0 <= history[-1]["valid_cer"] <= 1.0 and "valid_wer" in history[-1]
    run = tmp_path / "run"
    assert sorted(p.name for p in run.glob("epoch-*.pt")) == ["epoch-5.pt", "epoch-6.pt"]
    for name in ("last.pt", "best.pt", "avg.pt"):
        assert (run / name).is_file()
    assert load_checkpoint(run / "last.pt")["epoch"] == 6
    assert list((run / "tensorboard").iterdir()), "TensorBoard events written"
    avg = load_checkpoint(run / "avg.pt")["model"]
    e5, e6 = (load_checkpoint(run / f"epoch-{i}.pt")["model"] for i in (5, 6))
    k = "ctc_head.weight"
    torch.testing.assert_close(avg[k], (e5[k] + e6[k]) / 2)
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))


def test_resume_at_epoch_boundary_reproduces_uninterrupted_training(tmp_path):
    full = make_trainer(tmp_path, "full", epochs=3)
    full.fit()
    part = make_trainer(tmp_path, "part", epochs=1)
    part.fit()
    resumed = make_trainer(tmp_path, "part", model=tiny_model(), epochs=3)
    torch.manual_seed(123)  # disturb the global RNG: resume must restore it
    resumed.resume(tmp_path / "part" / "last.pt")
    resumed.fit()
    assert resumed.step == full.step
    assert_same(params(resumed.model), params(full.model))
    assert resumed.history == full.history


def test_resume_mid_epoch_reproduces_uninterrupted_training(tmp_path):
    full = make_trainer(tmp_path, "full", epochs=2)
    full.fit()
    steps_per_epoch = full.step // 2
    stopped = make_trainer(tmp_path, "part", epochs=2, max_steps=steps_per_epoch + 1)
    stopped.fit()
    state = load_checkpoint(tmp_path / "part" / "last.pt")
    assert state["epoch"] == 1 and state["batches_done"] == 1
    resumed = make_trainer(tmp_path, "part", model=tiny_model(), epochs=2)
    resumed.resume(tmp_path / "part" / "last.pt")
    resumed.fit()
    assert_same(params(resumed.model), params(full.model))
    # the epoch's mean train_loss counts the batches before the stop too
    assert resumed.history == full.history


def test_accumulation_equals_one_big_batch(tmp_path):
    """Two accumulated half-batches give the step of the full batch (mean CTC per batch)."""
    items = toy_items(4)
    for it in items:  # equal lengths: batch means are then comparable
        it["features"] = it["features"][:24]
        it["tokens"] = it["tokens"][:2]
        it["text"] = it["text"][:2]
    cfg = dict(epochs=1, grad_clip=0.0, seed=0)
    model_a, model_b = tiny_model(dropout=0.0), tiny_model(dropout=0.0)
    big = Trainer(model_a, toy_loader(items, max_frames=96), tmp_path / "a",
                  optim=OptimConfig(name="sgd", lr=0.1), trainer=TrainerConfig(**FAST, **cfg))  # fmt: skip
    small = Trainer(model_b, toy_loader(items, max_frames=48), tmp_path / "b",
                    optim=OptimConfig(name="sgd", lr=0.1),
                    trainer=TrainerConfig(**FAST, accum_steps=2, **cfg))  # fmt: skip
    big.fit()
    small.fit()
    assert big.step == small.step == 1
    assert_same(params(model_a), params(model_b))


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_path_runs_and_learns(tmp_path, amp):
    trainer = make_trainer(tmp_path, epochs=3, amp=amp)
    history = trainer.fit()
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_non_finite_loss_skips_the_step_with_a_warning(tmp_path, caplog):
    trainer = make_trainer(tmp_path, epochs=1)
    model = trainer.model
    original = model.compute_loss
    calls = {"n": 0}

    def flaky(*args):
        out = original(*args)
        calls["n"] += 1
        if calls["n"] == 2:
            out = {**out, "loss": out["loss"] * float("nan")}
        return out

    model.compute_loss = flaky
    before = params(model)
    with caplog.at_level(logging.WARNING, logger="seqlab.training.trainer"):
        trainer.fit()
    assert trainer.skipped_steps == 1
    assert "non-finite loss" in caplog.text
    assert trainer.step == len(trainer.train_loader) - 1
    after = params(model)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_early_stopping_stops_after_patience(tmp_path):
    trainer = make_trainer(tmp_path, epochs=10, patience=1)
    trainer.optimizer.param_groups[0]["lr"] = 0.0
    trainer.scheduler.base_lrs = [0.0]  # nothing can improve after the first epoch
    history = trainer.fit()
    assert len(history) == 2
    assert load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == 1


def test_average_checkpoints_is_elementwise_mean(tmp_path):
    from seqlab.training import save_checkpoint

    states = [{"model": {"w": torch.full((2,), float(i)), "n": torch.tensor(i)}} for i in range(3)]
    paths = []
    for i, s in enumerate(states):
        save_checkpoint(s, tmp_path / f"{i}.pt")
        paths.append(tmp_path / f"{i}.pt")
    avg = average_checkpoints(paths)
    torch.testing.assert_close(avg["w"], torch.full((2,), 1.0))
    assert int(avg["n"]) == 2


def test_max_steps_inside_the_first_epoch_skips_averaging(tmp_path, caplog):
    trainer = make_trainer(tmp_path, epochs=2, max_steps=1, average_last=2)
    with caplog.at_level(logging.WARNING):
        assert trainer.fit() == []
    assert (tmp_path / "run" / "last.pt").is_file() and not (tmp_path / "run" / "avg.pt").exists()
    assert "no finished epoch to average" in caplog.text


def test_a_fresh_run_leaves_another_runs_epoch_checkpoints_alone(tmp_path, caplog):
    make_trainer(tmp_path, epochs=3).fit()
    run = tmp_path / "run"
    stale = load_checkpoint(run / "epoch-3.pt")
    fresh = make_trainer(tmp_path, epochs=2, keep_last=1, average_last=2)
    with caplog.at_level(logging.WARNING):
        fresh.fit()
    assert "epoch-3.pt" in caplog.text and "never averaged" in caplog.text
    assert sorted(p.name for p in run.glob("epoch-*.pt")) == [
        "epoch-1.pt",
        "epoch-2.pt",
        "epoch-3.pt",
    ]
    assert load_checkpoint(run / "epoch-3.pt")["step"] == stale["step"]  # untouched
    avg = load_checkpoint(run / "avg.pt")
    assert avg["averaged"] == ["epoch-1.pt", "epoch-2.pt"]
    assert_same(load_checkpoint(run / "epoch-2.pt")["model"], params(fresh.model))


def test_resume_from_a_weights_only_checkpoint_names_the_file(tmp_path):
    from seqlab.training import CheckpointError

    trainer = make_trainer(tmp_path, epochs=2, average_last=2)
    trainer.fit()
    with pytest.raises(CheckpointError, match=r"avg\.pt: not a training checkpoint"):
        make_trainer(tmp_path, "other").resume(tmp_path / "run" / "avg.pt")


def test_bad_device_names_the_config_key():
    from seqlab.config import ConfigError
    from seqlab.training.trainer import resolve_device

    with pytest.raises(ConfigError, match="trainer.device: 'gpu' is not a device"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


class _Linear(torch.nn.Module):
    """A one-layer model with the ASRModel loss API (mean squared error over the batch)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(3, 1)

    def compute_loss(self, features, lengths, targets, target_lengths):
        return {"loss": ((self.lin(features).squeeze(-1) - targets) ** 2).mean()}


def _linear_batches(count: int, seed: int = 1) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [
        {"features": torch.randn(2, 3, generator=g), "targets": torch.randn(2, generator=g),
         "lengths": torch.ones(2, dtype=torch.long),
         "target_lengths": torch.ones(2, dtype=torch.long), "texts": ["a", "b"]}
        for _ in range(count)
    ]  # fmt: skip


def _linear_trainer(tmp_path, name, batches, **kw) -> Trainer:
    return Trainer(_Linear(), batches, tmp_path / name, optim=OptimConfig(name="sgd", lr=0.1),
                   scheduler=SchedulerConfig(name="constant"),
                   trainer=TrainerConfig(**{**FAST, "epochs": 1, "grad_clip": 0.0, **kw}))  # fmt: skip


def test_a_short_last_accumulation_window_is_the_mean_of_its_batches(tmp_path):
    """3 batches with accum_steps=2: the second update is the step of the third batch alone
    (its mean loss), not half of it."""
    batches = _linear_batches(3)
    accumulated = _linear_trainer(tmp_path, "a", batches, accum_steps=2)
    accumulated.fit()
    joined = {k: torch.cat([b[k] for b in batches[:2]]) for k in ("features", "targets")}
    first = {**batches[0], **joined, "texts": ["a"] * 4}
    reference = _linear_trainer(tmp_path, "b", [first, batches[2]])
    reference.fit()
    assert accumulated.step == reference.step == 2
    assert_same(params(accumulated.model), params(reference.model))


def test_a_non_finite_gradient_from_a_finite_loss_skips_the_update(tmp_path):
    batches = _linear_batches(2)
    trainer = _linear_trainer(tmp_path, "run", batches)
    trainer.model.lin.weight.register_hook(lambda g: torch.full_like(g, float("nan")))
    before = params(trainer.model)
    trainer.fit()
    assert trainer.skipped_steps == 2 and trainer.step == 0
    assert_same(params(trainer.model), before)


def test_a_nan_metric_is_never_the_best_and_average_last_1_writes_avg(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, epochs=3, average_last=1, monitor="loss")
    metrics = iter([{"loss": float("nan")}, {"loss": 0.4}, {"loss": 0.3}])
    monkeypatch.setattr(trainer, "validate", lambda: next(metrics))
    trainer.fit()
    assert trainer.best == 0.3 and load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == 3
    avg = load_checkpoint(tmp_path / "run" / "avg.pt")
    assert avg["averaged"] == ["epoch-3.pt"]


def test_the_default_schedule_builds():
    from seqlab.training import ExperimentConfig
    from seqlab.training.optim import build_scheduler

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    build_scheduler(optimizer, ExperimentConfig().scheduler, epochs=1, steps_per_epoch=1)
