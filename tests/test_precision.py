"""The precision rule (core.precision): what auto picks on which processor, and that bf16 trains with fp32
master weights and predicts what fp32 predicts."""

from __future__ import annotations

import sys
import types

import pytest

from moderator_app.core import precision as precision_module
from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import SettingsError
from moderator_app.core.precision import (Hardware, inference_precision, native_cpu_bf16, precision_conflict,
                                          training_precision)
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

pytestmark = pytest.mark.precision

WITHOUT_BF16 = Hardware(cpu_bf16=None, cuda_bf16=False)
WITH_BF16 = Hardware(cpu_bf16="AVX-512 BF16", cuda_bf16=True)


# ------------------------------------------------------------------------------------ the rule
@pytest.mark.parametrize("resolve", [training_precision, inference_precision])
def test_auto_never_picks_bf16_on_a_cpu_without_it(resolve):
    chosen = resolve("auto", "cpu", WITHOUT_BF16)
    assert chosen.name == "fp32" and "no native bf16" in chosen.reason
    assert not chosen.autocast_arguments()["enabled"]


@pytest.mark.parametrize("resolve", [training_precision, inference_precision])
def test_auto_picks_bf16_on_a_cpu_with_it_and_says_why(resolve):
    chosen = resolve("auto", "cpu", WITH_BF16)
    assert chosen.name == "bf16" and "AVX-512 BF16" in chosen.describe() and "auto" in chosen.describe()
    import torch

    assert chosen.autocast_arguments() == dict(device_type="cpu", enabled=True, dtype=torch.bfloat16)
    assert not chosen.scales_loss  # bf16 has fp32's range: no GradScaler


def test_auto_on_cuda_is_fp16_with_loss_scaling_and_fp32_on_mps():
    assert training_precision("auto", "cuda", WITH_BF16).scales_loss
    assert inference_precision("auto", "cuda:0", WITHOUT_BF16).name == "fp16"
    assert training_precision("auto", "mps", WITH_BF16).name == "fp32"  # the CPU's bf16 is not the GPU's
    assert inference_precision("auto", "mps", WITH_BF16).name == "fp32"


def test_auto_keeps_fp32_when_bf16_missed_the_benchmark_bars(monkeypatch):
    monkeypatch.setattr(precision_module, "CPU_BF16_MEETS_BARS", False)
    chosen = inference_precision("auto", "cpu", WITH_BF16)
    assert chosen.name == "fp32" and "bar" in chosen.reason


def test_explicit_choices_and_what_cannot_run():
    assert training_precision("fp32", "cpu", WITH_BF16).name == "fp32"
    emulated = training_precision("bf16", "cpu", WITHOUT_BF16)
    assert emulated.name == "bf16" and "emulated" in emulated.reason  # allowed, but the user is told
    for choice, device, hardware in (("fp16", "cpu", WITH_BF16), ("bf16", "cuda", WITHOUT_BF16),
                                     ("bf16", "mps", WITH_BF16), ("fp16", "mps", WITH_BF16)):
        with pytest.raises(SettingsError) as caught:
            training_precision(choice, device, hardware)
        assert caught.value.setting == "precision" and "{precision}" in caught.value.hint
    with pytest.raises(SettingsError):
        inference_precision("fp16", "cuda", WITH_BF16)  # inference offers auto, bf16, fp32


def test_configuration_rejects_what_an_explicit_device_cannot_run():
    assert "CUDA" in precision_conflict("fp16", "cpu")
    assert precision_conflict("fp16", "auto") is None  # only the hardware can tell
    with pytest.raises(ConfigError, match="precision"):
        TrainingConfig(train_file="a", output_dir="o", device="mps", precision="bf16").validate()
    TrainingConfig(train_file="a", output_dir="o", device="cpu", precision="bf16").validate()


# ------------------------------------------------------------------------------------ detection
def fake_torch(monkeypatch, capabilities: dict, onednn_bf16: bool) -> None:
    import torch

    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: types.MappingProxyType(capabilities))
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops, "mkldnn", types.SimpleNamespace(_is_mkldnn_bf16_supported=lambda: onednn_bf16))
    native_cpu_bf16.cache_clear()


@pytest.fixture
def fresh_detection(monkeypatch):
    monkeypatch.delenv("MODERATOR_APP_CPU_BF16", raising=False)  # the processor's own answer, not --cpu-bf16's
    native_cpu_bf16.cache_clear()
    yield
    native_cpu_bf16.cache_clear()


@pytest.mark.parametrize("capabilities, onednn_bf16, expected", [
    ({"architecture": "x86_64", "avx2": True, "avx512_f": True, "avx512_bf16": False}, True, None),  # AVX-512, no BF16
    ({"architecture": "x86_64", "avx2": True, "avx512_bf16": True}, True, "AVX-512 BF16"),
    ({"architecture": "x86_64", "amx_bf16": True, "avx512_bf16": True}, True, "AMX-BF16"),
    ({"architecture": "aarch64", "neon": True, "bf16": True}, True, "Arm BF16"),
    ({"architecture": "x86_64", "avx512_bf16": True}, False, None),  # a torch without oneDNN's bf16 kernels
    ({"architecture": "x86_64", "avx2": True}, True, None),
])
def test_detection_reads_the_processor_and_onednn(monkeypatch, fresh_detection, capabilities, onednn_bf16, expected):
    fake_torch(monkeypatch, capabilities, onednn_bf16)
    assert native_cpu_bf16() == expected
    assert training_precision("auto", "cpu").name == ("bf16" if expected else "fp32")
    assert inference_precision("auto", "cpu").name == ("bf16" if expected else "fp32")


@pytest.mark.parametrize("forced, expected", [("on", "bf16"), ("off", "fp32"), (" OFF ", "fp32")])
def test_the_override_poses_as_either_kind_of_cpu(monkeypatch, fresh_detection, forced, expected):
    """MODERATOR_APP_CPU_BF16 decides, whatever the processor (faked here as the other kind)."""
    fake_torch(monkeypatch, {"avx512_bf16": expected == "fp32"}, True)
    monkeypatch.setenv("MODERATOR_APP_CPU_BF16", forced)
    chosen = inference_precision("auto", "cpu")
    assert chosen.name == expected
    assert training_precision("auto", "cpu").name == expected
    if expected == "bf16":
        assert "MODERATOR_APP_CPU_BF16=on" in chosen.reason


def test_a_misspelt_override_is_a_settings_error(monkeypatch, fresh_detection):
    monkeypatch.setenv("MODERATOR_APP_CPU_BF16", "yes please")
    with pytest.raises(SettingsError, match="MODERATOR_APP_CPU_BF16 is 'yes please'; it must be on, off or unset"):
        native_cpu_bf16()


# ------------------------------------------------------------------------------------ bf16 at work
def test_bf16_training_keeps_fp32_master_weights_and_learns(tiny_model_dir, synthetic_csv, synthetic_val_csv, tmp_path,
                                                            monkeypatch):
    """The base checkpoint is saved in bf16 (transformers would load it in bf16): the run still trains fp32
    weights under bf16 autocast, without loss scaling, and learns the synthetic rule."""
    import torch
    from safetensors import safe_open
    from transformers import AutoModel

    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import EpochEvent

    half_base = tmp_path / "base-bf16"
    AutoModel.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).save_pretrained(half_base)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (half_base / name).write_bytes((tiny_model_dir / name).read_bytes())
    seen_autocast = []
    real_autocast = torch.autocast

    def recording_autocast(*args, **kwargs):
        seen_autocast.append((kwargs.get("enabled", True), kwargs.get("dtype")))
        return real_autocast(*args, **kwargs)

    monkeypatch.setattr(torch, "autocast", recording_autocast)
    epochs = []
    config = TrainingConfig(train_file=str(synthetic_csv), validation_file=str(synthetic_val_csv),
                            model_name_or_path=str(half_base), output_dir=str(tmp_path / "out"), learning_rate=1e-3,
                            train_batch_size=16, warmup_steps=5, num_epochs=4, max_length=32, device="cpu",
                            precision="bf16", save_checkpoint_every_epoch=False)
    result = train(config, lambda event: epochs.append(event) if isinstance(event, EpochEvent) else None)
    assert seen_autocast and set(seen_autocast) == {(True, torch.bfloat16)}
    assert result.skipped_steps == 0
    assert max(epoch.accuracy for epoch in epochs) > 0.9
    with safe_open(str(tmp_path / "out" / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(key).dtype for key in weights.keys()} == {torch.float32}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "bf16 autocast" in card and "as set" in card


def test_bf16_inference_agrees_with_fp32(tiny_classifier_dir):
    import numpy as np

    from moderator_app.core.inference.classifier import Classifier

    texts = [text for text, _ in synthetic_rows(300, seed=21)]
    full = Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32")
    half = Classifier.load(tiny_classifier_dir, device="cpu", precision="bf16")
    assert (full.precision.name, half.precision.name) == ("fp32", "bf16")
    assert "bf16" in half.describe()
    full_probabilities = full.predict_probabilities(texts)
    half_probabilities = half.predict_probabilities(texts)
    agreement = np.mean(full_probabilities.argmax(1) == half_probabilities.argmax(1))
    assert agreement >= 0.995
    assert np.abs(full_probabilities - half_probabilities).max() < 0.05
    assert not np.array_equal(full_probabilities, half_probabilities)  # bf16 really ran


def test_bf16_batched_scores_stay_within_bf16_rounding_of_one_at_a_time(tiny_classifier_dir):
    """The bf16 path's own tolerance: batch composition changes bf16 rounding (so the last digits of a
    score differ between batchings), by a few 1e-3 at most, and no label away from the threshold flips.
    Runs on any CPU: bf16 is emulated, slowly, where it is not native, so the texts are few."""
    import numpy as np

    from moderator_app.core.inference.classifier import Classifier

    half = Classifier.load(tiny_classifier_dir, device="cpu", precision="bf16")
    texts = [text for text, _ in synthetic_rows(24, seed=3)] + ["short", "a much longer text " * 9]
    batched = half.predict_probabilities(texts, batch_size=5)
    alone = np.concatenate([half.predict_probabilities([text], batch_size=1) for text in texts])
    assert np.abs(batched - alone).max() < 5e-3
    clear = np.abs(alone[:, 0] - 0.5) > 0.05  # away from the 0.5 cut
    assert clear.sum() >= len(texts) // 2
    assert (batched.argmax(1) == alone.argmax(1))[clear].all()


def test_bf16_labelled_file_agrees_with_fp32_away_from_the_threshold(tiny_classifier_dir, tmp_path):
    """`label` in bf16 and fp32 write the same rows and labels; scores differ by bf16 rounding only."""
    import csv

    from moderator_app.core.inference.classifier import Classifier
    from moderator_app.core.inference.labelling import label_file

    source = write_csv(tmp_path / "in.csv", [(str(i), text) for i, (text, _) in enumerate(synthetic_rows(30, seed=9))],
                       header=("id", "comment"))
    outputs = {}
    for name in ("fp32", "bf16"):
        model = Classifier.load(tiny_classifier_dir, device="cpu", precision=name)
        label_file(source, tmp_path / f"{name}.csv", model, chunk_rows=7, batch_size=3)
        with open(tmp_path / f"{name}.csv", newline="", encoding="utf-8") as handle:
            outputs[name] = list(csv.DictReader(handle))
    assert [row["id"] for row in outputs["bf16"]] == [row["id"] for row in outputs["fp32"]]
    for full, half in zip(outputs["fp32"], outputs["bf16"]):
        assert abs(float(full["score"]) - float(half["score"])) < 5e-3
        if abs(float(full["score"]) - 0.5) > 0.05:
            assert full["predicted_label"] == half["predicted_label"]


def test_label_and_classify_offer_and_print_the_precision(tiny_classifier_dir, tmp_path, capsys, monkeypatch):
    from moderator_app.cli import main

    for command in ("label", "classify"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--precision {auto,bf16,fp32}" in capsys.readouterr().out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a person at a terminal
    assert main(["classify", "vermin scum", "--model", str(tiny_classifier_dir), "--precision", "bf16",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("hate\t") and "in bf16, as set" in captured.err
    source = write_csv(tmp_path / "in.csv", synthetic_rows(6))
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu"]) == 0
    assert "chosen by auto" in capsys.readouterr().err


def test_review_model_panel_shows_the_precision():
    from moderator_app.gui.review.model_panel import describe_info
    from moderator_app.core.inference.model_info import ModelInfo

    info = ModelInfo(model_id="m", labels=["hate", "not-hate"], positive_label="hate", base_model="b", device="cpu",
                     max_length=64, precision="bf16, chosen by auto: this CPU computes bf16 natively (AMX-BF16)")
    assert "Precision: bf16, chosen by auto" in describe_info(info)


def test_train_prints_the_precision_it_will_run_in():
    from moderator_app.commands.train import describe_precision

    assert describe_precision(TrainingConfig(device="cpu", precision="fp32")) == "Precision: fp32, as set: full precision"
    assert describe_precision(TrainingConfig(device="cpu")).startswith("Precision: ")
    assert "chosen by auto" in describe_precision(TrainingConfig(device="cpu"))
