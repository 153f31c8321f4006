"""Config: YAML round-trip, typed --set overrides, ConfigError naming the key."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from seqlab.config import ConfigError, apply_overrides, from_dict, load_yaml, save_yaml, to_dict
from seqlab.training import ExperimentConfig


def test_yaml_round_trip_of_a_non_default_config(tmp_path):
    cfg = apply_overrides(
        ExperimentConfig(),
        [
            "optim.lr=2e-4",
            "optim.betas=[0.8, 0.9]",
            "model.type=joint",
            "model.rnn.bidirectional=false",
            "data.speed_perturb=[0.9, 1.0, 1.1]",
            "scheduler.milestones=[3, 5]",
            "trainer.amp=bf16",
        ],
    )
    save_yaml(cfg, tmp_path / "config.yaml")
    back = load_yaml(ExperimentConfig, tmp_path / "config.yaml")
    assert back == cfg
    assert back.optim.betas == (0.8, 0.9) and back.data.speed_perturb == (0.9, 1.0, 1.1)
    assert isinstance(back.optim.lr, float) and back.optim.lr == 2e-4
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]["type"] == "joint"
    assert dataclasses.is_dataclass(back.model.rnn)


def test_partial_yaml_keeps_defaults_and_overrides_apply_after_file(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text("optim:\n  lr: 1e-3\n  name: sgd\ntrainer:\n  epochs: 3\n")
    cfg = load_yaml(ExperimentConfig, path, overrides=["optim.lr=5e-2", "trainer.epochs=4"])
    assert cfg.optim.name == "sgd" and cfg.optim.lr == 5e-2 and cfg.trainer.epochs == 4
    assert cfg.model == ExperimentConfig().model


def test_a_mapping_override_updates_its_section_and_integers_take_exponents(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text("model:\n  conformer:\n    num_layers: 2\n    ffn_dim: 64\n")
    cfg = load_yaml(ExperimentConfig, path, ["model.conformer={dim: 128}", "trainer.max_steps=1e4"])
    assert (cfg.model.conformer.dim, cfg.model.conformer.num_layers) == (128, 2)
    assert cfg.model.conformer.ffn_dim == 64 and cfg.trainer.max_steps == 10000
    with pytest.raises(ConfigError, match="trainer.max_steps: expected an integer"):
        apply_overrides(cfg, ["trainer.max_steps=1.5e0"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lrr=1", "optim.lrr: unknown key"),
        ("optimizer.lr=1", "optimizer: unknown config section"),
        ("trainer.epochs=ten", "trainer.epochs: expected an integer"),
        ("trainer.progress=maybe", "trainer.progress: expected true/false"),
        ("optim.betas=[1]", "optim.betas: expected 2 values"),
        ("optim.lr", "expected KEY=VALUE"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(ExperimentConfig(), [override])


def test_bad_yaml_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  encoder: {kind: rnn\n")
    with pytest.raises(ConfigError, match="bad.yaml: invalid YAML"):
        load_yaml(ExperimentConfig, bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("model:\n  encoderr: rnn\n")
    with pytest.raises(ConfigError, match=r"typo.yaml: model.encoderr: unknown key"):
        load_yaml(ExperimentConfig, typo)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_yaml(ExperimentConfig, tmp_path / "missing.yaml")


def test_to_dict_from_dict_inverse():
    cfg = ExperimentConfig()
    assert from_dict(ExperimentConfig, to_dict(cfg)) == cfg


def test_numpy_scalars_are_accepted_where_numbers_are():
    import numpy as np

    cfg = apply_overrides(ExperimentConfig(), [])
    cfg = from_dict(
        ExperimentConfig,
        {**to_dict(cfg), "trainer": {"epochs": np.int64(3), "grad_clip": np.float32(1.5)}},
    )
    assert cfg.trainer.epochs == 3 and type(cfg.trainer.epochs) is int
    assert cfg.trainer.grad_clip == 1.5 and type(cfg.trainer.grad_clip) is float
