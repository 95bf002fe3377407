"""The compiled training step (core/training/compiled.py): what it computes stays the recipe's, and a
compiler that is unavailable or fails leaves the run uncompiled with one line, never a traceback."""

import pytest

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.compiled import BucketPadding, length_buckets
from moderator_app.core.training.engine import train
from moderator_app.core.training.events import StatusEvent, StepEvent

# the tiny model without dropout: compiled and eager steps draw different random numbers for dropout, so only
# without it must they compute the same losses (the fixture distributed training's comparison uses too)
from test_distributed import model_without_dropout  # noqa: E402,F401 (fixture)

UNAVAILABLE = "Compilation is unavailable here"


def config_for(model_dir, train_csv, output_dir, **overrides) -> TrainingConfig:
    settings = dict(train_file=str(train_csv), model_name_or_path=str(model_dir), output_dir=str(output_dir),
                    learning_rate=1e-3, train_batch_size=16, eval_batch_size=32, warmup_steps=5, num_epochs=1,
                    max_length=32, logging_steps=4, precision="fp32", device="cpu")
    settings.update(overrides)
    return TrainingConfig(**settings)


def run(config):
    events = []
    result = train(config, events.append)
    losses = [event.loss for event in events if isinstance(event, StepEvent)]
    return result, losses, [event.message for event in events if isinstance(event, StatusEvent)]


def card_line(output_dir) -> str:
    card = (output_dir / "README.md").read_text(encoding="utf-8")
    return next(line for line in card.splitlines() if line.startswith("- compilation:"))


def test_length_buckets_are_few_and_end_at_the_maximum():
    assert length_buckets(128) == (32, 64, 96, 128)
    assert length_buckets(32) == (32,)
    assert length_buckets(20) == (20,)
    assert length_buckets(300) == (32, 64, 96, 128, 192, 256, 300)


def test_bucket_padding_pads_to_the_smallest_bucket_and_only_while_active(tiny_model_dir):
    from transformers import AutoTokenizer, DataCollatorWithPadding

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    features = [dict(tokenizer(text), label=0) for text in ("short", "a somewhat longer text than that one")]
    longest = max(len(feature["input_ids"]) for feature in features)
    buckets = (4, longest + 3, longest + 20)
    padding = BucketPadding(DataCollatorWithPadding(tokenizer), buckets)
    batch = padding(features)
    assert batch["input_ids"].shape == (2, longest + 3)
    assert batch["attention_mask"].sum().item() == sum(len(feature["input_ids"]) for feature in features)
    padding.active = False
    assert padding(features)["input_ids"].shape == (2, longest)


def test_compile_off_by_default_and_the_card_says_so(tiny_model_dir, synthetic_csv, tmp_path):
    assert TrainingConfig().compile_model is False
    result, _, messages = run(config_for(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    assert result.reason == "completed"
    assert card_line(tmp_path / "out") == "- compilation: off (as set)"
    assert not any(UNAVAILABLE in message for message in messages)


def test_unavailable_compiler_falls_back_with_one_line(model_without_dropout, synthetic_csv, tmp_path, monkeypatch):
    import torch

    _, eager_losses, _ = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "eager"))

    def unavailable(*args, **kwargs):
        raise RuntimeError("torch.compile is not supported on this platform\nmore detail")

    monkeypatch.setattr(torch, "compile", unavailable)
    result, losses, messages = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "out", compile_model=True))
    assert result.reason == "completed"
    said = [message for message in messages if UNAVAILABLE in message]
    assert said == ["Compilation is unavailable here (RuntimeError: torch.compile is not supported on this "
                    "platform): training goes on uncompiled."]
    assert "asked for but unavailable (RuntimeError" in card_line(tmp_path / "out")
    assert losses == eager_losses  # nothing else changed: no bucket padding without the compiled model


def test_a_compiled_step_that_fails_is_done_again_uncompiled(model_without_dropout, synthetic_csv, tmp_path, monkeypatch):
    import torch

    _, eager_losses, _ = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "eager"))
    calls = []

    class FailsWhenCalled:  # what inductor does without a working C++ compiler: fails at the first call
        def __init__(self, model):
            self.model = model

        def __call__(self, *args, **kwargs):
            calls.append(1)
            raise RuntimeError("BackendCompilerFailed: inductor raised CppCompileError")

    monkeypatch.setattr(torch, "compile", lambda model, **kwargs: FailsWhenCalled(model))
    result, losses, messages = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "out", compile_model=True))
    assert result.reason == "completed" and len(calls) == 1  # tried once, never again
    assert sum(UNAVAILABLE in message for message in messages) == 1
    # the first batch was padded to its bucket before the fallback; padding changes no loss beyond rounding
    assert losses == pytest.approx(eager_losses, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-3), ("bf16", 5e-3)])
def test_compiled_and_eager_steps_agree_on_a_tiny_model(model_without_dropout, synthetic_csv, tmp_path, precision,
                                                         tolerance):
    """A real torch.compile (inductor's CPU backend) of the tiny model: the same loss curve as eager, to
    fp32's rounding in fp32 and to bf16's in bf16 (fused kernels round bf16 products differently)."""
    _, eager_losses, _ = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "eager", precision=precision))
    result, losses, messages = run(config_for(model_without_dropout, synthetic_csv, tmp_path / "out", compile_model=True,
                                              precision=precision))
    fell_back = [message for message in messages if UNAVAILABLE in message]
    if fell_back:
        pytest.skip(f"inductor cannot compile on this machine: {fell_back[0]}")
    assert result.reason == "completed"
    assert card_line(tmp_path / "out").startswith("- compilation: on: torch.compile (inductor), batches padded to 32")
    assert losses == pytest.approx(eager_losses, rel=tolerance, abs=tolerance / 10)


def test_the_forms_advanced_section_turns_compilation_on_and_off(qtbot):
    from moderator_app.gui.common.tasks import BackgroundTasks
    from moderator_app.gui.training.form import TrainingForm

    tasks = BackgroundTasks()
    form = TrainingForm(tasks)
    qtbot.addWidget(form)
    editor = form.fields["compile_model"]
    assert form.advanced.isAncestorOf(editor)  # in the Advanced section, not the main form
    assert form.values()["compile_model"] is False
    form.set_values({"compile_model": True})
    assert form.values()["compile_model"] is True
    tasks.wait(10_000)


@pytest.mark.parametrize("cpu_bf16, expected", [("off", "none (fp32)"), ("on", "Native AMP (bf16 autocast)")])
def test_compiled_runs_in_auto_take_the_cpus_precision(tiny_model_dir, synthetic_csv, tmp_path, monkeypatch,
                                                       cpu_bf16, expected):
    """On an AVX2-only CPU (capability mocked off) auto is fp32, compiled or not; with native bf16, bf16."""
    import torch

    from moderator_app.core import precision

    monkeypatch.setenv(precision.CPU_BF16_OVERRIDE, cpu_bf16)
    precision.native_cpu_bf16.cache_clear()
    monkeypatch.setattr(torch, "compile", lambda model, **kwargs: model)  # the plumbing, not inductor
    try:
        result, _, messages = run(config_for(tiny_model_dir, synthetic_csv, tmp_path / "out", precision="auto",
                                             compile_model=True))
    finally:
        precision.native_cpu_bf16.cache_clear()
    assert result.reason == "completed" and not any(UNAVAILABLE in message for message in messages)
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert f"- mixed_precision_training: {expected}" in card
    assert card_line(tmp_path / "out").startswith("- compilation: on: torch.compile (inductor)")


def test_a_step_that_fails_uncompiled_too_is_the_runs_error_not_the_compilers(monkeypatch):
    from moderator_app.core.training.compiled import TrainingStep

    said = []
    step = TrainingStep(object(), 4, wanted=False, say=said.append)
    step.compiled = lambda *args: None  # as if compiled

    def forward_backward(module):
        raise ValueError("Target 7 is out of bounds.")

    with pytest.raises(ValueError, match="out of bounds"):
        step.run(4, forward_backward, clear=lambda: None)
    assert said == []  # no word about compilation: the data is what failed
