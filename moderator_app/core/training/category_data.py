"""Loading a multi-label run's sources (`TrainingConfig.categories`): each row gets, per category, 1 (yes),
0 (no) or UNKNOWN (-1), read by the source's rule for that category (`core/sources`):

- `{"column": COL}`: the column holds yes/no (1/0, true/false, yes/no); a blank cell is unknown;
- `{"votes": COL, "total": COL2, "rule": "at_least_one" | "majority"}`: a vote-count column, yes with at least
  one vote or with more than half of `total`; a cell that is not a count is unknown;
- `{"column": COL, "yes": [...], "no": [...]}`: a label map; a value in neither list is unknown;
- a category the source does not name: unknown for all its rows.

Unknowns are kept (masked out of the loss and of that category's metrics by the engine), never guessed as
"no". Rows with an empty text, or with every category unknown, are left out and counted. Each source is
split for validation on its own (stratified by its rows' yes/no/unknown pattern where it can be), or
validated on its `validation_path`; `max_rows` and `weight` act as for single-label sources. The data
report counts yes/no/unknown per category and source, and the values each label map left unknown. With
`corrections_queue`, the moderators' multi-label decisions in that Review queue override the values of the rows
with their texts before the split (`core/training/corrections.apply_category_corrections`), and the report
counts what they changed."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.evaluation.categories import UNKNOWN
from moderator_app.core.evaluation.category_rules import read_rule, rule_columns
from moderator_app.core.files.columns import resolve_text_column
from moderator_app.core.files.tables import DataError, read_table
from moderator_app.core.sources import Source, repeated_source, training_sources
from moderator_app.core.training.corrections import apply_category_corrections, finished, load_config_corrections
from moderator_app.core.training.data_report import DROP_EMPTY_TEXT, DataReport, LoadedData

DROP_ALL_UNKNOWN = "no category known (every rule of the source gave unknown)"
CAPPED = "left out by max_rows (seeded sample)"
KIND = "categories (yes / no / unknown)"


def _literal(text: Any) -> str:
    return str(text).replace("{", "{{").replace("}", "}}")


def load_category_data(config: TrainingConfig) -> LoadedData:
    import datasets

    datasets.disable_progress_bars()
    categories = list(config.categories)
    sources = training_sources(config)
    repeated = repeated_source(sources)
    if repeated:
        raise DataError(_literal(repeated[0].upper() + repeated[1:]) + ".",
                        "Give it once, with weight 2 in {sources} if its rows should count twice.", setting="sources")
    train_rows: dict[str, list] = {"text": [], "label": [], "source": [], "origin": []}
    val_rows: dict[str, list] = {"text": [], "label": [], "source": [], "origin": []}
    origin_files: list[str] = []
    per_source, dropped, examples = [], Counter(), {}
    corrections, corrected = load_config_corrections(config), {}
    for index, source in enumerate(sources):
        part = read_category_source(source, categories, config.seed)
        corrected = apply_category_corrections(part["texts"], part["targets"], categories, corrections, corrected)
        if source.validation_path:
            given = read_category_source(source, categories, config.seed, source.validation_path)
            corrected = apply_category_corrections(given["texts"], given["targets"], categories, corrections,
                                                   corrected)
            origin_files += [source.path, source.validation_path]
            splits = ((train_rows, part, range(len(part["texts"])), len(origin_files) - 2),
                      (val_rows, given, range(len(given["texts"])), len(origin_files) - 1))
        else:
            given = None
            train_index, val_index = _split(part["targets"], config.validation_split, config.seed, source)
            origin_files.append(source.path)
            splits = ((train_rows, part, train_index, len(origin_files) - 1),
                      (val_rows, part, val_index, len(origin_files) - 1))
        for rows, origin, chosen, file_index in splits:
            rows["text"].extend(origin["texts"][i] for i in chosen)
            rows["label"].extend([float(value) for value in origin["targets"][i]] for i in chosen)
            rows["source"].extend([index] * len(chosen))
            rows["origin"].extend((file_index, origin["rows"][i]) for i in chosen)
        counts = _category_counts([part] + ([given] if given else []), categories)
        per_source.append(dict(
            name=source.name, path=source.path, text_column=part["text_column"], label_column="per category",
            label_kind=KIND, label_map=describe_rules(source.categories), weight=source.weight,
            max_rows=source.max_rows, validation_path=source.validation_path,
            rows_read=part["rows_read"] + (given["rows_read"] if given else 0),
            dropped=dict(part["dropped"] + (given["dropped"] if given else Counter())),
            value_counts={}, label_counts={name: counts[name]["yes"] for name in categories},
            train_rows=len(splits[0][2]), validation_rows=len(splits[1][2]), votes={},
            categories=counts, unmapped={name: dict(values.most_common(12))
                                         for name, values in part["unmapped"].items() if values}))
        for label, origin in (("", part), (" validation file", given)):
            for reason, count in (origin["dropped"] if origin else {}).items():
                dropped[f"{reason} ({source.name}{label})"] += count
                examples[f"{reason} ({source.name}{label})"] = origin["examples"].get(reason, [])

    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.Sequence(datasets.Value("float32"), length=len(categories))})
    train = datasets.Dataset.from_dict({"text": train_rows["text"], "label": train_rows["label"]}, features=features)
    validation = datasets.Dataset.from_dict({"text": val_rows["text"], "label": val_rows["label"]}, features=features)
    if len(train) == 0 or len(validation) == 0:
        raise DataError("The training sources leave too few usable rows to train and validate "
                        f"({len(train):,} training, {len(validation):,} validation).",
                        "Add rows or change {validation_split}.", setting="validation_split")
    totals = {name: {key: sum(source["categories"][name][key] for source in per_source)
                     for key in ("yes", "no", "unknown")} for name in categories}
    given_count = sum(1 for source in sources if source.validation_path)
    report = DataReport(
        train_source=", ".join(source.name for source in sources),
        validation_source=("each source's validation file" if given_count == len(sources) else
                           f"stratified split of {config.validation_split:.0%} per source, seed {config.seed}"),
        text_column="per source", label_column="per category", label_kind=KIND,
        rows_read=sum(source["rows_read"] for source in per_source), dropped=dict(dropped), dropped_examples=examples,
        label_counts={name: totals[name]["yes"] for name in categories}, train_rows=len(train),
        validation_rows=len(validation), warnings=_warnings(per_source, categories, totals), sources=per_source,
        categories=totals, corrections=finished(corrected))
    return LoadedData(train, validation, categories, report, train_sources=train_rows["source"],
                      validation_sources=val_rows["source"], source_names=[source.name for source in sources],
                      source_weights=[source.weight for source in sources], origin_files=origin_files,
                      train_origin=train_rows["origin"], validation_origin=val_rows["origin"])


def describe_rules(rules: dict[str, Any] | None) -> str:
    """A source's category rules as one line for reports and the model card."""
    described = []
    for name, rule in (rules or {}).items():
        if "votes" in rule:
            total = f" of '{rule['total']}'" if rule.get("total") else ""
            described.append(f"{name}: votes '{rule['votes']}'{total}, "
                             + ("at least one" if rule["rule"] == "at_least_one" else "a majority"))
        elif "yes" in rule or "no" in rule:
            described.append(f"{name}: column '{rule['column']}', yes {rule.get('yes', [])}, no {rule.get('no', [])}")
        else:
            described.append(f"{name}: column '{rule['column']}' (yes/no)")
    return "; ".join(described)


def read_category_source(source: Source, categories: list[str], seed: int, path: str = "") -> dict[str, Any]:
    """One source's texts and per-category targets (rows × categories of 1, 0, UNKNOWN), with what was left
    out and why, and the values each label map left unknown. With `path`: its validation file, never capped."""
    file = path or source.path
    table = read_table(file)
    text_column = _text_column(table.columns, source, file)
    rules = source.categories or {}
    needed = rule_columns(rules, table.columns, file, "Fix this source's categories in {sources}.")
    read = table.values([text_column, *needed], text=text_column)
    raw_texts, values = read[0], dict(zip(needed, read[1:]))
    if not raw_texts:
        raise DataError(f"{_literal(file)}: the file has a header but no rows.")
    unmapped: dict[str, Counter] = {name: Counter() for name in categories}
    columns = []
    for name in categories:
        rule = rules.get(name)
        columns.append([UNKNOWN] * len(raw_texts) if rule is None else
                       read_rule(rule, values, name, file, unmapped[name]))
    texts, targets, rows, dropped, examples = [], [], [], Counter(), {}
    for row, text in enumerate(raw_texts, start=1):
        text = "" if text is None else str(text)
        target = [column[row - 1] for column in columns]
        reason = DROP_EMPTY_TEXT if not text.strip() else DROP_ALL_UNKNOWN if all(v == UNKNOWN for v in target) else None
        if reason:
            dropped[reason] += 1
            if len(examples.setdefault(reason, [])) < 5:
                examples[reason].append(row)
            continue
        texts.append(text)
        targets.append(target)
        rows.append(row)
    if source.max_rows is not None and not path and len(texts) > source.max_rows:
        keep = sorted(random.Random(seed).sample(range(len(texts)), source.max_rows))
        dropped[CAPPED] += len(texts) - source.max_rows
        texts, targets, rows = [texts[i] for i in keep], [targets[i] for i in keep], [rows[i] for i in keep]
    if not texts:
        raise DataError(f"{_literal(file)}: no usable rows ({', '.join(f'{reason} {count:,}' for reason, count in dropped.items())}).",
                        "Check this source's text column and category rules in {sources}.", setting="sources")
    return dict(texts=texts, targets=targets, rows=rows, rows_read=len(raw_texts), dropped=dropped,
                examples=examples, unmapped=unmapped, text_column=text_column)


def _text_column(columns: list[str], source: Source, file: str) -> str:
    """The text column by the shared rule; the label column is not used (the rules name their columns)."""
    return columns[resolve_text_column(columns, source.text_column.strip() or None, _literal(file))]


def _split(targets: list[list[int]], share: float, seed: int, source: Source) -> tuple[list[int], list[int]]:
    """This source's training and validation rows: stratified by each row's yes/no/unknown pattern (patterns
    of a single row pooled), else a seeded random split when the patterns cannot be stratified."""
    from sklearn.model_selection import train_test_split

    positions = list(range(len(targets)))
    if len(positions) < 2:
        raise DataError(f"{_literal(source.path)}: one usable row cannot be split into training and validation.",
                        "Add rows, or give the source a validation_path in {sources}.", setting="sources")
    patterns = [",".join(map(str, target)) for target in targets]
    counts = Counter(patterns)
    patterns = [pattern if counts[pattern] >= 2 else "rare" for pattern in patterns]
    try:
        train_index, val_index = train_test_split(positions, test_size=share, random_state=seed, stratify=patterns)
    except ValueError:  # too few rows of a pattern for both sides
        train_index, val_index = train_test_split(positions, test_size=share, random_state=seed)
    return sorted(train_index), sorted(val_index)


def _category_counts(parts: list[dict[str, Any]], categories: list[str]) -> dict[str, dict[str, int]]:
    """Per category, the yes / no / unknown rows a source keeps (its validation file's too)."""
    counts = {name: {"yes": 0, "no": 0, "unknown": 0} for name in categories}
    for part in parts:
        for target in part["targets"]:
            for name, value in zip(categories, target):
                counts[name]["yes" if value == 1 else "no" if value == 0 else "unknown"] += 1
    return counts


def _warnings(per_source: list[dict], categories: list[str], totals: dict[str, dict[str, int]]) -> list[str]:
    warnings = []
    for name in categories:
        if totals[name]["yes"] == 0 or totals[name]["no"] == 0:
            missing = "yes" if totals[name]["yes"] == 0 else "no"
            warnings.append(f"category '{name}' has no '{missing}' row in any source; the model cannot learn it. "
                            "Check that category's rules in the sources.")
    for source in per_source:
        for name, values in source["unmapped"].items():
            shown_values = ", ".join(f"{value!r} ×{count:,}" for value, count in values.items())
            warnings.append(f"{source['path']}: for category '{name}', values in neither its 'yes' nor its 'no' list "
                            f"are unknown: {shown_values}.")
    return warnings
