"""Training configuration: the published recipe as defaults, validated, stored as JSON.

Every field carries its metadata once, in the dataclass field's `metadata` (see `setting`): the label
shown on screen, the help text, the allowed range or choices, the form section and whether the CLI
offers it. The CLI's flags, the form's fields and `problems()` all read it from here."""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from moderator_app.core.errors import SettingsError, shown
from moderator_app.core.precision import TRAINING_PRECISIONS, precision_conflict
from moderator_app.core.sources import (categories_problem, category_names_problem, repeated_source, sources_problem,
                                        training_sources)
from moderator_app.core.threshold_rule import RULE_FORMS, parse_threshold_rule

PRECISIONS = TRAINING_PRECISIONS
DEVICES = ("auto", "cuda", "mps", "cpu")
SCHEDULERS = ("linear", "cosine", "constant_with_warmup", "constant")
SECTIONS = ("data", "model", "training", "hardware", "output", "advanced")


class ConfigError(SettingsError):
    """One or more invalid settings. `field` names the first; `problems` maps every invalid field to
    what is wrong with it. The message names settings as ``{field}`` so each front end renders them."""

    def __init__(self, field_name: str, reason: str, hint: str | None = None,
                 problems: dict[str, str] | None = None, in_file: str | None = None):
        self.field = field_name
        self.reason = reason
        self.problems = problems or {field_name: reason}
        literal = {name: _literal(why) for name, why in self.problems.items()}
        if in_file:  # settings read from a file are named as its keys, not as flags or labels
            text = _literal(f"{in_file}: ") + "; ".join(f"'{name}' {why}" for name, why in literal.items())
        else:
            text = "; ".join(f"{{{name}}}: {why}" if name in FIELD_NAMES else why for name, why in literal.items())
        super().__init__(text, hint, setting=field_name if field_name in FIELD_NAMES else None)


def _literal(text: str) -> str:
    """`text` with its braces escaped: values and paths are not setting names to render."""
    return text.replace("{", "{{").replace("}", "}}")


def setting(default: Any, label: str, help: str, *, section: str, minimum: float | None = None,
            maximum: float | None = None, above: float | None = None, below: float | None = None,
            choices: dict[str, str] | None = None, unit: str = "", cli: bool = True, form: bool = True,
            required: str = "", default_factory: Any = None) -> Any:
    """A TrainingConfig field with its metadata. `minimum`/`maximum` are inclusive bounds, `above`/`below`
    exclusive ones; `choices` maps each allowed value to its on-screen name; `required` is what to tell
    a user who left a text field empty (empty: the field may be empty)."""
    default_kwargs = dict(default_factory=default_factory) if default_factory else dict(default=default)
    return field(**default_kwargs, metadata=dict(
        label=label, help=help, section=section, minimum=minimum, maximum=maximum, above=above, below=below,
        choices=choices, unit=unit, cli=cli, form=form, required=required))


@dataclass
class TrainingConfig:
    """Everything a fine-tuning run needs. Defaults reproduce the published recipe
    (DistilRoBERTa, lr 2e-5, batch 32, seed 12345, Adam, linear schedule with 16 warmup
    steps, up to 20 epochs, native AMP, early stopping on validation loss, patience 3)."""

    # Data
    train_file: str = setting(
        "", "Training file", "CSV, TSV, JSON Lines or Parquet file with one text and one label per row, or a "
        "hub dataset id.", section="data", required="Choose a training data file.")
    sources: list = setting(
        None, "Training sources", "Several training files in one run: a list of objects with 'path' and optional "
        "'text_column', 'label_column', 'label_map' (file value → label, or null to drop those rows), "
        "'score_threshold' (0–1 score labels), 'weight' (share per epoch) and 'max_rows' (a seeded sample). "
        "The training file, when given, is one more source.", section="data", form=False,
        default_factory=list)
    categories: list = setting(
        None, "Categories", "A multi-label run: the policy categories one model scores at once (e.g. hate, "
        "offensive), each yes or no per row. Each source says in its 'categories' how it labels them: "
        "{\"column\": COL} (yes/no, 1/0, true/false; blank: unknown), {\"votes\": COL, \"total\": COL, \"rule\": "
        "\"at_least_one\" or \"majority\"} (a vote-count column) or {\"column\": COL, \"yes\": [values], \"no\": "
        "[values]} (a label map). A category a source does not name is unknown for its rows and left out of the "
        "loss and of that category's metrics. Empty: one label per row (single-label).", section="data",
        form=False, default_factory=list)
    validation_file: str = setting(
        "", "Validation file", "Optional separate validation file; without it a stratified split of the "
        "training data is used.", section="data")
    text_column: str = setting(
        "", "Text column", "Column holding the text. Leave empty to detect (text, tweet, comment, sentence …).",
        section="data")
    label_column: str = setting(
        "", "Label column", "Column holding the label: strings, integers or a 0–1 score (≥ 0.5 is positive).",
        section="data")
    validation_split: float = setting(
        0.1, "Validation split", "Fraction of the training data held out for validation when no validation "
        "file is given.", section="data", above=0.0, below=1.0)
    treat_na_labels_as_missing: bool = setting(
        True, "Missing labels", "Labels spelled NaN, null, None, N/A … count as missing, and "
        "their rows are dropped and reported.", section="data")
    corrections_queue: str = setting(
        "", "Corrections", "A Review queue whose decisions correct labels (e.g. the audit's suspects): each row "
        "whose text a moderator decided there takes the moderator's label (a multi-label run: yes / no per category "
        "from a multi-label model's decisions); counted in the data report. Empty: the files' labels as they are.",
        section="data")
    # Model and output
    model_name_or_path: str = setting(
        "distilroberta-base", "Base model", "Base model: a Hugging Face hub id (needs internet the first time) "
        "or a local model folder.", section="model", required="Choose a base model (a hub id or a local folder).")
    max_length: int = setting(
        128, "Max length", "Texts are truncated to this many tokens (at most the model's own limit).",
        section="model", minimum=1, maximum=8192, unit="tokens")
    normalise_text: bool = setting(
        True, "Normalise text", "When the trained model classifies, texts are first put in Unicode NFKC form "
        "and zero-width characters are removed ('ｈａｔｅ' reads 'hate'), which cannot change what a text says. "
        "Recorded in the model folder; label, classify and evaluate follow it.", section="model")
    normalise_evasion: bool = setting(
        True, "Undo evasion spellings", "With 'Normalise text', the model also reads disguised words as plain "
        "ones: look-alike letters of another script inside Latin words folded to Latin ('hаtе' with Cyrillic "
        "letters), three or more spaced-out single letters joined ('i d i o t'), leetspeak inside words undone "
        "('h4te', '1d10t', '$lut'; not '2019', '3pm', 'gr8', @mentions or URLs). Only the text the model reads "
        "changes, never the one shown. Recorded in the model folder; label, classify and evaluate follow it.",
        section="model")
    allow_pickle: bool = setting(
        False, "Allow pickle weights", "Also load a base model stored as pickle (pytorch_model.bin). Pickle files "
        "can run code when loaded: allow them only for models from a source you trust.", section="model")
    output_dir: str = setting(
        "", "Output folder", "Folder that receives the trained model, its config, metrics and model card: a "
        "new or empty folder, or an earlier run's when replacing it.", section="output",
        required="Choose an output folder.")
    test_suites: list = setting(
        None, "Test suites", "Functional test suites run on the final model at the end of training: files of "
        "the team's own cases (text, expected label, functionality; templates such as 'I hate {group}.' expanded "
        "over a <suite>.lists.csv beside it; a multi-label run: each case's expected categories separated by ';', "
        "none for no category). Their pass rates per functionality go to the Run page, metrics.jsonl "
        "and the model card. A run whose training rows repeat a suite's cases is refused.", section="output",
        default_factory=list)
    overwrite: bool = setting(
        False, "Replace an earlier run", "Replace an earlier run of this app in the output folder (it is "
        "removed before the new run writes anything).", section="output", form=False)
    # Optimisation (the recipe)
    learning_rate: float = setting(
        2e-5, "Learning rate", "Peak learning rate of the Adam optimiser (recipe: 2e-5).", section="training",
        above=0.0, maximum=1.0)
    train_batch_size: int = setting(
        32, "Batch size", "Texts per training step (recipe: 32). Lower it if the GPU runs out of memory.",
        section="training", minimum=1, maximum=65_536)
    eval_batch_size: int = setting(
        32, "Evaluation batch size", "Texts per evaluation batch (recipe: 32).", section="advanced",
        minimum=1, maximum=65_536)
    seed: int = setting(
        12345, "Seed", "Random seed for initialisation, shuffling and the validation split (recipe: 12345).",
        section="training", minimum=0, maximum=2**31 - 1)
    adam_beta1: float = setting(0.9, "Adam β1", "Adam β1 (recipe: 0.9).", section="advanced", minimum=0.0,
                                below=1.0)
    adam_beta2: float = setting(0.999, "Adam β2", "Adam β2 (recipe: 0.999).", section="advanced", minimum=0.0,
                                below=1.0)
    adam_epsilon: float = setting(1e-8, "Adam ε", "Adam ε (recipe: 1e-8).", section="advanced", above=0.0,
                                  maximum=1.0)
    weight_decay: float = setting(0.0, "Weight decay", "Decoupled weight decay (recipe: 0).", section="advanced",
                                  minimum=0.0, maximum=1.0)
    max_grad_norm: float = setting(
        1.0, "Max gradient norm", "Gradients are clipped to this norm; 0 disables clipping.", section="advanced",
        minimum=0.0, maximum=1e6)
    lr_scheduler: str = setting(
        "linear", "Schedule", "Learning-rate schedule after warm-up (recipe: linear decay).", section="training",
        choices={"linear": "Linear decay (recipe)", "cosine": "Cosine decay",
                 "constant_with_warmup": "Constant after warm-up", "constant": "Constant (no warm-up)"})
    warmup_steps: int = setting(
        16, "Warm-up steps", "Steps of linear warm-up from 0 to the learning rate (recipe: 16).",
        section="training", minimum=0, maximum=10_000_000)
    num_epochs: int = setting(
        20, "Epochs (at most)", "Maximum number of passes over the training data (recipe: 20).",
        section="training", minimum=1, maximum=10_000)
    early_stopping_patience: int = setting(
        3, "Early-stopping patience", "Stop after this many epochs without a lower validation loss (recipe: 3); "
        "0 disables.", section="training", minimum=0, maximum=10_000, unit="epochs")
    class_weighting: str = setting(
        "none", "Class weighting", "none: every row counts the same (recipe); balanced: the loss weighs each "
        "label inversely to its frequency in the training rows (scikit-learn's 'balanced'), against a model "
        "that learns to predict the majority label.", section="training",
        choices={"none": "None (recipe)", "balanced": "Balanced"})
    evasion_augment: float = setting(
        0.0, "Evasion-robust training", "Share of the training texts that get an obfuscated copy (letters swapped "
        "or dropped, spaces inserted or removed, leetspeak, look-alike Unicode letters, zero-width characters) "
        "added to each epoch, with the same label; drawn anew each epoch from the seed. 0 turns it off.",
        section="training", minimum=0.0, maximum=1.0)
    evasion_families: str = setting(
        "all", "Evasion kinds", "Which kinds of obfuscation the copies of evasion-robust training use, one kind "
        "per copy, each equally often. all: the six kinds. not_undone: only those the model's own reading of a "
        "text does not undo, so that they get the copies: no zero-width characters when 'Normalise text' is on "
        "(removed before the model reads a text) and no look-alike letters when 'Undo evasion spellings' is on too "
        "(folded back to Latin): a copy of those reads as its clean text.", section="training",
        choices={"all": "All six kinds", "not_undone": "Those the model's reading does not undo"})
    # Hardware
    device: str = setting(
        "auto", "Device", "Where to train: auto picks CUDA, then Apple MPS, then the CPU.", section="hardware",
        choices={"auto": "Auto", "cuda": "CUDA GPU", "mps": "Apple MPS", "cpu": "CPU"})
    precision: str = setting(
        "auto", "Precision", "auto: fp16 mixed precision on CUDA (the recipe's native AMP), bf16 on a CPU that "
        "computes it natively (AMX, AVX-512 BF16, Arm BF16), fp32 elsewhere. Weights stay fp32.",
        section="hardware", choices={"auto": "Auto (fp16 on CUDA, bf16 on a CPU with native bf16, else fp32)",
                                     "fp16": "fp16 mixed precision (CUDA)", "bf16": "bf16 mixed precision",
                                     "fp32": "fp32 (full precision)"})
    # Speed switches; none changes what is computed, only batch composition and layout
    group_by_length: bool = setting(
        True, "Batching", "Batch texts of similar length together (less padding, same data each epoch).",
        section="advanced")
    compile_model: bool = setting(
        False, "Compile", "Compile the training step with torch.compile (inductor), batches padded to a few "
        "lengths so that few shapes compile. Compiling takes minutes before the first steps and pays only on "
        "long runs; the model card records it. Where compilation is unavailable the run goes on uncompiled.",
        section="advanced")
    # Bookkeeping
    logging_steps: int = setting(10, "Read losses every", "Losses are read from the device every this many steps.",
                                 section="advanced", minimum=1, maximum=1_000_000, unit="steps")
    save_checkpoint_every_epoch: bool = setting(
        True, "Checkpoints", "Write a resumable checkpoint at the end of every epoch.", section="advanced")
    # Calibration: how the operating threshold is chosen on the validation set at the end of a run
    threshold_rule: str = setting(
        "best_f1", "Threshold rule", "How the decision threshold of a binary model is chosen on the validation set "
        "after training: best_f1 (default), precision>=P (e.g. precision>=0.9) or recall>=R.", section="training")

    # ----------------------------------------------------------------------------
    def problems(self, require_data: bool = True) -> dict[str, str]:
        """Every invalid field at once: field name → what is wrong (in neutral words)."""
        found: dict[str, str] = {}
        for spec in fields(self):
            problem = _field_problem(spec, getattr(self, spec.name), require_data)
            if problem:
                found[spec.name] = problem
        if "precision" not in found and "device" not in found:
            conflict = precision_conflict(self.precision, self.device)  # core.precision: the one rule
            if conflict:
                found["precision"] = conflict
        if self.sources and found.get("train_file") == _field_problem_required("train_file"):
            del found["train_file"]  # the sources are the training data
        if "sources" not in found and self.sources:
            repeated = repeated_source(training_sources(self))
            if repeated:
                found["sources"] = f"{repeated}; give it once, with weight 2 if its rows should count twice"
        if "sources" not in found and self.sources and self.validation_file.strip():
            found["validation_file"] = ("a validation file cannot be combined with training sources; each source "
                                        "is split for validation")
        if "test_suites" not in found and not all(isinstance(path, str) and path.strip()
                                                  for path in self.test_suites):
            found["test_suites"] = "each test suite must be a file path"
        elif require_data and "test_suites" not in found:
            missing = [path for path in self.test_suites if not Path(path).expanduser().is_file()]
            if missing:
                found["test_suites"] = f"no such file: {missing[0]}"
        if "categories" not in found and "sources" not in found:
            problem = categories_problem(self.categories, training_sources(self))
            if problem:
                found.setdefault(*problem)
        if "threshold_rule" not in found:
            try:
                parse_threshold_rule(self.threshold_rule)
            except SettingsError:
                found["threshold_rule"] = f"one of {RULE_FORMS}, got {self.threshold_rule!r}"
        return found

    def validate(self, require_data: bool = True) -> "TrainingConfig":
        """Raise ConfigError naming every invalid field; return self (ints in float fields made floats)."""
        found = self.problems(require_data)
        if found:
            first = next(iter(found))
            raise ConfigError(first, found[first], problems=found)
        for spec in fields(self):
            value = getattr(self, spec.name)
            if _FIELD_TYPES[spec.name] is float and isinstance(value, int):
                setattr(self, spec.name, float(value))
        return self

    # ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "the configuration") -> "TrainingConfig":
        unknown = sorted(set(data) - set(FIELD_NAMES))
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, FIELD_NAMES, n=1) or \
                [name for name in FIELD_NAMES if key in name.split("_")][:1]
            suggestion = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError("config", f"{source} has the key '{key}', which is no setting.{suggestion}",
                              hint="Use the setting names of a saved configuration.")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "TrainingConfig":
        try:
            raw = Path(path).read_bytes()
        except OSError as error:
            raise ConfigError("config", f"cannot read {path}: {error.strerror}") from None
        try:
            text = raw.decode("utf-16") if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) \
                else raw.decode("utf-8-sig")
            data = json.loads(text)
        except UnicodeDecodeError:
            raise ConfigError("config", f"{path} is not UTF-8 text (nor UTF-16 with a byte-order mark).",
                              hint="Save it as UTF-8 JSON.") from None
        except json.JSONDecodeError as error:
            raise ConfigError("config", f"{path} is not valid JSON (line {error.lineno}): {error.msg}") from None
        except RecursionError:
            raise ConfigError("config", f"{path} is nested too deeply to be a configuration (brackets inside "
                              "brackets, about a thousand levels deep).", hint="Use a saved configuration.") from None
        if not isinstance(data, dict):
            raise ConfigError("config", f"{path} must hold a JSON object of settings")
        config = cls.from_dict(data, source=str(path))
        found = config.problems(require_data=False)
        if found:
            first = next(iter(found))
            raise ConfigError(first, found[first], problems=found, in_file=str(path))
        return config.validate(require_data=False)


FIELD_NAMES: tuple[str, ...] = tuple(spec.name for spec in fields(TrainingConfig))
_FIELD_TYPES: dict[str, type] = {spec.name: {"str": str, "int": int, "float": float, "bool": bool,
                                              "list": list}[spec.type]
                                 for spec in fields(TrainingConfig)}
FIELD_SPECS: dict[str, dict[str, Any]] = {
    spec.name: dict(spec.metadata, type=_FIELD_TYPES[spec.name],
                    default=spec.default_factory() if spec.default is dataclasses.MISSING else spec.default)
    for spec in fields(TrainingConfig)}
FIELD_HELP: dict[str, str] = {name: spec["help"] for name, spec in FIELD_SPECS.items()}


def setting_label(field_name: str) -> str:
    """The on-screen name of a setting (the GUI renders core's ``{field}`` hints with it)."""
    spec = FIELD_SPECS.get(field_name)
    return spec["label"] if spec else field_name.replace("_", " ")


def _field_problem_required(field_name: str) -> str:
    required = FIELD_SPECS[field_name]["required"]
    return required[0].lower() + required[1:].rstrip(".")


def _field_problem(spec: dataclasses.Field, value: Any, require_data: bool) -> str | None:
    meta, expected = spec.metadata, _FIELD_TYPES[spec.name]
    if spec.name == "sources":
        return sources_problem(value)
    if spec.name == "categories":
        return category_names_problem(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return f"expected {'a number' if expected in (int, float) else expected.__name__}, got {shown(value)}"
    if expected is str:
        if meta["required"] and not value.strip() and (require_data or spec.name == "model_name_or_path"):
            return meta["required"][0].lower() + meta["required"][1:].rstrip(".")
        if meta["choices"] and value not in meta["choices"]:
            return f"one of {', '.join(meta['choices'])}, got {shown(value)}"
        return None
    if expected is float and not math.isfinite(value):
        return f"must be a finite number, got {shown(value)}"
    low, high, above, below = meta["minimum"], meta["maximum"], meta["above"], meta["below"]
    if above is not None and below is not None and not above < value < below:
        return f"must be between {above:g} and {below:g}, got {shown(value)}"
    if above is not None and value <= above:
        return f"must be > {above:g}, got {shown(value)}"
    if low is not None and below is not None and not low <= value < below:
        return f"must be in [{low:g}, {below:g}), got {shown(value)}"
    if below is not None and value >= below:
        return f"must be < {below:g}, got {shown(value)}"
    if low is not None and value < low:
        return f"must be ≥ {low:g}, got {shown(value)}"
    if high is not None and value > high:
        return f"must be at most {high:g}, got {shown(value)}"
    return None
