"""Inference paths (core.inference.paths): weights cast once and compiled models agree with fp32 eager,
`auto` never takes a path that failed its agreement check, a CPU without native bf16 keeps fp32, and a
compilation that is not available falls back with one line."""

from __future__ import annotations

import itertools
import logging
import sys

import numpy as np
import pytest

from moderator_app.core import precision as precision_module
from moderator_app.core.inference import paths as paths_module
from moderator_app.core.inference.paths import PATHS, SPEED_ORDER, choose_path, passed_check
from moderator_app.core.precision import Hardware, inference_precision
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

pytestmark = pytest.mark.precision

WITH_BF16 = Hardware(cpu_bf16="AVX-512 BF16")
WITHOUT_BF16 = Hardware(cpu_bf16=None)
TEXTS = [text for text, _ in synthetic_rows(120, seed=31)] + ["short", "a much longer text " * 12]


@pytest.fixture()
def fresh_detection(monkeypatch):
    precision_module.native_cpu_bf16.cache_clear()
    yield monkeypatch
    precision_module.native_cpu_bf16.cache_clear()


def load(folder, **options):
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(folder, device="cpu", **options)


def test_bf16_weights_cast_once_agree_with_fp32_eager(tiny_classifier_dir):
    import torch

    full = load(tiny_classifier_dir, precision="fp32")
    half = load(tiny_classifier_dir, precision="bf16")
    assert (full.path.name, half.path.name) == ("fp32", "bf16-weights")
    assert {parameter.dtype for parameter in half.model.parameters()} == {torch.bfloat16}  # cast at load
    assert {parameter.dtype for parameter in full.model.parameters()} == {torch.float32}
    expected, got = full.predict_probabilities(TEXTS), half.predict_probabilities(TEXTS)
    assert got.dtype == np.float32 and np.allclose(got.sum(1), 1, atol=1e-5)
    assert np.abs(expected - got).max() < 0.05
    assert np.mean(expected.argmax(1) == got.argmax(1)) >= 0.99
    assert not np.array_equal(expected, got)  # bf16 really ran
    assert "weights cast to bf16 once" in half.describe()


def test_compiled_model_agrees_with_fp32_eager_and_sees_few_shapes(tiny_classifier_dir):
    """A real inductor compilation of the tiny model (tens of seconds): same probabilities as the eager
    model, batches padded to the length buckets, so one shape per bucket."""
    from moderator_app.core.inference.paths import compilation_problem

    if compilation_problem():
        pytest.skip(compilation_problem())
    eager = load(tiny_classifier_dir, precision="fp32")
    compiled = load(tiny_classifier_dir, precision="fp32", compile=True)
    assert compiled.compiled and compiled.path.name == "fp32"
    shapes = []
    forward = compiled.model

    def recording(**batch):
        shapes.append(tuple(batch["input_ids"].shape))
        return forward(**batch)

    compiled.model = recording
    got = compiled.predict_probabilities(TEXTS, batch_size=16)
    assert compiled.compiled, compiled.path_note  # it did not fall back
    assert np.abs(eager.predict_probabilities(TEXTS, batch_size=16) - got).max() < 1e-4
    assert {length for _, length in shapes} <= set(paths_module.LENGTH_BUCKETS)
    assert len(set(shapes)) <= 3  # one shape per bucket, the last batch of each filled up
    assert "compiled" in compiled.describe()


@pytest.mark.parametrize("failed", [set(chosen) for size in range(len(SPEED_ORDER) + 1)
                                    for chosen in itertools.combinations(SPEED_ORDER, size)])
def test_auto_never_takes_a_path_that_failed_its_agreement_check(monkeypatch, failed):
    agreement = {name: (0.9 if name in failed else 0.999) for name in PATHS}
    monkeypatch.setattr(paths_module, "AGREEMENT", agreement)
    for hardware in (WITH_BF16, WITHOUT_BF16):
        precision = inference_precision("auto", "cpu", hardware)
        path = choose_path(precision, "auto")
        assert path.name == "fp32" or passed_check(path.name)
        # and it is the fastest of those that passed and this CPU runs well
        runnable = [name for name in SPEED_ORDER if name not in failed
                    and (PATHS[name].number_format == "fp32" or hardware.cpu_bf16)]
        assert path.name == (runnable[0] if runnable else "fp32")


def test_an_unmeasured_path_is_never_taken(monkeypatch):
    monkeypatch.setattr(paths_module, "AGREEMENT", {"fp32": 1.0, "bf16-autocast": None, "bf16-weights": None,
                                                    "int8-dynamic": None})
    assert choose_path(inference_precision("auto", "cpu", WITH_BF16), "auto").name == "fp32"
    # an explicit bf16 still computes in bf16: under autocast, the reference bf16 path
    assert choose_path(inference_precision("bf16", "cpu", WITH_BF16), "bf16").name == "bf16-autocast"


def test_the_recorded_checks_as_shipped():
    """int8 (dynamic quantisation) missed the bar on the fine-tuned model and is never taken; the bf16 path
    auto takes on a native bf16 CPU passed it."""
    assert not passed_check("int8-dynamic")
    assert choose_path(inference_precision("auto", "cpu", WITH_BF16), "auto").name == "bf16-weights"
    assert choose_path(inference_precision("auto", "cpu", WITHOUT_BF16), "auto").name == "fp32"
    assert choose_path(inference_precision("fp32", "cpu", WITH_BF16), "fp32").name == "fp32"


def test_auto_with_every_bf16_path_failed_says_it_runs_fp32(monkeypatch, tiny_classifier_dir, fresh_detection):
    import torch

    fresh_detection.setenv(precision_module.CPU_BF16_OVERRIDE, "on")
    monkeypatch.setattr(paths_module, "AGREEMENT", {**paths_module.AGREEMENT, "bf16-weights": 0.99,
                                                    "bf16-autocast": 0.99})
    model = load(tiny_classifier_dir, precision="auto")
    assert model.path.name == "fp32" and model.precision.name == "fp32"
    assert {parameter.dtype for parameter in model.model.parameters()} == {torch.float32}
    assert "no bf16 path passed its agreement check" in model.describe()


@pytest.mark.parametrize("forced, path, dtype", [("off", "fp32", "float32"), ("on", "bf16-weights", "bfloat16")])
def test_auto_by_cpu_kind(tiny_classifier_dir, fresh_detection, forced, path, dtype):
    """An AVX2-only CPU (no native bf16, mocked) keeps fp32 weights; a native bf16 one casts them once."""
    import torch

    fresh_detection.setenv(precision_module.CPU_BF16_OVERRIDE, forced)
    model = load(tiny_classifier_dir, precision="auto")
    assert model.path.name == path
    assert {parameter.dtype for parameter in model.model.parameters()} == {getattr(torch, dtype)}
    assert "chosen by auto" in model.describe() and f"path: {PATHS[path].words}" in model.describe()


def test_compilation_not_available_falls_back_with_one_line(monkeypatch, tiny_classifier_dir, caplog):
    monkeypatch.setattr(paths_module, "compilation_problem", lambda: "torch.compile needs a C++ compiler and none was found")
    eager = load(tiny_classifier_dir, precision="fp32")
    with caplog.at_level(logging.WARNING, logger="moderator_app"):
        model = load(tiny_classifier_dir, precision="fp32", compile=True)
    assert not model.compiled
    assert [record.getMessage() for record in caplog.records] == [
        "moderator-app: torch.compile needs a C++ compiler and none was found: running uncompiled."]
    assert "running uncompiled" in model.describe()
    assert np.array_equal(model.predict_probabilities(TEXTS), eager.predict_probabilities(TEXTS))


def test_compilation_failing_at_the_first_batch_falls_back_with_one_line(monkeypatch, tiny_classifier_dir, caplog):
    import torch

    def broken_compile(model, **options):
        def compiled(**batch):
            raise RuntimeError("InductorError: CppCompileError: C++ compile error\nlong compiler output\n...")
        compiled._orig_mod = model
        return compiled

    monkeypatch.setattr(paths_module, "compilation_problem", lambda: None)
    monkeypatch.setattr(torch, "compile", broken_compile)
    eager = load(tiny_classifier_dir, precision="fp32")
    model = load(tiny_classifier_dir, precision="fp32", compile=True)
    assert model.compiled
    with caplog.at_level(logging.WARNING, logger="moderator_app"):
        got = model.predict_probabilities(TEXTS)
    assert np.abs(got - eager.predict_probabilities(TEXTS)).max() < 1e-5
    assert not model.compiled
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1 and "\n" not in messages[0] and "running uncompiled" in messages[0]
    assert "RuntimeError: InductorError: CppCompileError" in messages[0]


def test_label_compile_without_a_compiler_prints_one_line_and_labels(monkeypatch, tiny_classifier_dir, tmp_path, capfd):
    from moderator_app.cli import main

    monkeypatch.setattr(paths_module, "compilation_problem", lambda: "torch.compile needs a C++ compiler and none was found")
    source = write_csv(tmp_path / "in.csv", synthetic_rows(12))
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu", "--compile"]) == 0
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("torch.compile needs a C++ compiler and none was found: running uncompiled") >= 1
    assert (tmp_path / "in.labelled.csv").exists()


def test_the_path_is_recorded_in_the_provenance(tiny_classifier_dir, tmp_path, fresh_detection):
    from moderator_app.core.inference.labelling import label_file
    from moderator_app.core.inference.model_info import describe_model
    from moderator_app.core.inference.provenance import read_provenance

    fresh_detection.setenv(precision_module.CPU_BF16_OVERRIDE, "on")
    model = load(tiny_classifier_dir, precision="auto")
    source = write_csv(tmp_path / "in.csv", synthetic_rows(10))
    label_file(source, tmp_path / "out.csv", model)
    record = read_provenance(tmp_path / "out.csv")
    assert record["precision"].startswith("bf16, chosen by auto") and "path: weights cast to bf16 once" in record["precision"]
    assert "path: weights cast to bf16 once" in describe_model(model).precision  # the Review tab's model panel


def test_paths_module_is_plain_python_at_import():
    import subprocess

    code = "import sys, moderator_app.core.inference.paths; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_int8_path_still_runs_when_asked(tiny_classifier_dir):
    """int8 is kept measurable (benchmarks/inference_paths.py, Classifier.load's `path`) though auto never
    takes it."""
    full = load(tiny_classifier_dir, precision="fp32")
    int8 = load(tiny_classifier_dir, path="int8-dynamic")
    assert int8.path.name == "int8-dynamic" and "as set: the int8-dynamic path" in int8.describe()
    labels = [prediction.label for prediction in full.predict(TEXTS)]
    assert np.mean([prediction.label for prediction in int8.predict(TEXTS)] == np.array(labels)) >= 0.95
    assert np.abs(full.predict_probabilities(TEXTS) - int8.predict_probabilities(TEXTS)).max() < 0.2
