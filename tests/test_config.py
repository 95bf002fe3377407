import json

import pytest

from moderator_app.core.config import ConfigError, TrainingConfig


def test_defaults_are_the_published_recipe():
    config = TrainingConfig()
    assert config.model_name_or_path == "distilroberta-base"
    assert (config.learning_rate, config.train_batch_size, config.eval_batch_size, config.seed) == (2e-5, 32, 32, 12345)
    assert (config.adam_beta1, config.adam_beta2, config.adam_epsilon, config.weight_decay) == (0.9, 0.999, 1e-8, 0.0)
    assert (config.lr_scheduler, config.warmup_steps, config.num_epochs) == ("linear", 16, 20)
    assert (config.precision, config.max_length, config.early_stopping_patience) == ("auto", 128, 3)


def test_json_round_trip(tmp_path):
    config = TrainingConfig(train_file="a.csv", output_dir="out", learning_rate=3e-5, num_epochs=2, precision="bf16")
    config.save(tmp_path / "c.json")
    assert TrainingConfig.load(tmp_path / "c.json") == config


@pytest.mark.parametrize("field, value", [
    ("learning_rate", 0.0), ("train_batch_size", 0), ("eval_batch_size", -1), ("num_epochs", 0),
    ("adam_beta1", 1.0), ("adam_epsilon", -1e-8), ("warmup_steps", -1), ("validation_split", 1.5),
    ("precision", "fp8"), ("device", "tpu"), ("lr_scheduler", "zigzag"), ("max_length", 0),
    ("train_batch_size", "32"), ("group_by_length", "yes"), ("seed", True),
])
def test_invalid_values_name_the_field(field, value):
    config = TrainingConfig(train_file="a.csv", output_dir="out")
    setattr(config, field, value)
    with pytest.raises(ConfigError) as raised:
        config.validate()
    assert raised.value.field == field
    assert field in str(raised.value)


def test_missing_data_and_output_are_reported():
    with pytest.raises(ConfigError, match="train_file"):
        TrainingConfig(output_dir="out").validate()
    with pytest.raises(ConfigError, match="output_dir"):
        TrainingConfig(train_file="a.csv").validate()


def test_fp16_on_cpu_is_rejected():
    with pytest.raises(ConfigError, match="precision"):
        TrainingConfig(train_file="a", output_dir="o", device="cpu", precision="fp16").validate()


def test_loading_rejects_unknown_keys_and_bad_json(tmp_path):
    (tmp_path / "unknown.json").write_text(json.dumps({"learning_rat": 1e-5}))
    with pytest.raises(ConfigError, match="learning_rat"):
        TrainingConfig.load(tmp_path / "unknown.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainingConfig.load(tmp_path / "broken.json")
    (tmp_path / "bad.json").write_text(json.dumps({"num_epochs": -2}))
    with pytest.raises(ConfigError, match="num_epochs"):
        TrainingConfig.load(tmp_path / "bad.json")


def test_integers_are_accepted_for_float_fields():
    config = TrainingConfig(train_file="a", output_dir="o", learning_rate=1, validation_split=0.2)
    assert isinstance(config.validate().learning_rate, float)


def test_problems_lists_every_invalid_field_at_once():
    config = TrainingConfig(learning_rate=float("inf"), weight_decay=float("nan"), num_epochs=0, precision="fp8")
    problems = config.problems()
    assert set(problems) == {"train_file", "output_dir", "learning_rate", "weight_decay", "num_epochs", "precision"}
    assert problems["learning_rate"] == "must be a finite number, got inf"
    with pytest.raises(ConfigError) as raised:
        config.validate()
    assert raised.value.problems == problems and raised.value.setting == "train_file"
    assert set(TrainingConfig(learning_rate=1e10).problems(require_data=False)) == {"learning_rate"}


def test_every_field_carries_its_metadata_once_and_the_cli_and_form_read_it():
    import argparse

    from moderator_app.commands.errors import flag_for
    from moderator_app.commands.train import add_arguments
    from moderator_app.core.config import FIELD_SPECS, setting_label

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = {action.dest: action for action in parser._actions}
    for name, spec in FIELD_SPECS.items():
        assert spec["label"] and spec["help"] and spec["section"], name
        assert setting_label(name) == spec["label"]
        assert (name in options) == spec["cli"] and flag_for(name) in options[name].option_strings
        assert options[name].help.startswith(spec["help"])
    assert flag_for("num_epochs") == "--epochs" and flag_for("validation_file") == "--validation"
    assert "--allow-pickle" in options["allow_pickle"].option_strings and "--overwrite" in options["overwrite"].option_strings


def test_hub_ids_and_local_paths_are_told_apart_in_one_place():
    from moderator_app.core.hub import looks_like_hub_id

    for hub_id in ("distilroberta-base", "cardiffnlp/tweet_eval", "meta-llama/Llama-3.1-8B"):
        assert looks_like_hub_id(hub_id), hub_id
    for path in ("train.csv", "data/train.csv", "./model", "~/model", "/abs/model", "a/b/c", "weights.bin"):
        assert not looks_like_hub_id(path), path
