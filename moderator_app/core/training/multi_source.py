"""Loading several training sources into one run (`TrainingConfig.sources`).

Each source is read by the shared readers, its labels mapped by the evaluation's label maps
(`core/evaluation/label_map`), capped to `max_rows` by a seeded sample, and split for validation by
a stratified split of its own (or on its own `validation_path`), so that every source is in the
validation set in its own proportions and can be scored on its own. The report says, per source and in total, what was read, dropped,
capped and kept."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.evaluation.label_map import is_missing, label_reader, map_labels, parse_label_map
from moderator_app.core.files.tables import DataError, choose_columns, read_table
from moderator_app.core.training.corrections import apply_corrections, finished, load_config_corrections
from moderator_app.core.training.data_report import (DROP_EMPTY_TEXT, MAX_CLASSES, MISSING_LABEL_WORDS, DataReport,
                                                     LoadedData, label_warnings)
from moderator_app.core.sources import Source, describe_label_map, parse_vote_columns, repeated_source, training_sources
from moderator_app.core.training.votes import DROP_SPLIT, is_split, target_vector, vote_shares

CAPPED = "left out by max_rows (seeded sample)"


def _literal(text: str) -> str:
    return str(text).replace("{", "{{").replace("}", "}}")


def load_source_data(config: TrainingConfig) -> LoadedData:
    import datasets

    datasets.disable_progress_bars()
    sources = training_sources(config)
    _refuse_a_file_given_twice(sources)
    maps = [parse_label_map(source.label_map) for source in sources]
    # With label maps the run's labels are what the maps name; without any, the files' values.
    vote_maps = [parse_vote_columns(source.vote_columns) if source.vote_columns else {} for source in sources]
    targets = sorted({target for label_map in maps for target in label_map.mapping.values() if target is not None}
                     | {target for votes in vote_maps for target in votes.values() if target is not None})
    known = targets or None
    read = [_read_source(source, label_map, known, config) for source, label_map in zip(sources, maps)]
    given = {index: _read_source(source, label_map, known, config, source.validation_path)
             for index, (source, label_map) in enumerate(zip(sources, maps)) if source.validation_path}
    label_names = known or sorted({label for part in read for label in part["labels"]},
                                  key=lambda label: (not label.isdigit(), int(label) if label.isdigit() else 0, label))
    if len(label_names) < 2:
        raise DataError(f"The training sources hold a single label ({', '.join(label_names) or 'none'}); a "
                        "classifier needs examples of at least two.", "Add a source or fix a {sources} label map.",
                        setting="sources")
    if len(label_names) > MAX_CLASSES:
        raise DataError(f"The training sources have {len(label_names):,} distinct labels; is a label column wrong?",
                        "Choose each source's label column in {sources}.", setting="sources")
    corrections, corrected = load_config_corrections(config), {}
    for part in [*read, *given.values()]:
        corrected = apply_corrections(part["texts"], part["labels"], corrections, set(label_names), corrected)
    label_ids = {name: index for index, name in enumerate(label_names)}
    train_rows: dict[str, list] = {"text": [], "label": [], "source": [], "target": [], "origin": []}
    val_rows: dict[str, list] = {"text": [], "label": [], "source": [], "origin": []}
    origin_files: list[str] = []
    per_source, dropped, examples, missing_words = [], Counter(), {}, Counter()
    for index, (source, part) in enumerate(zip(sources, read)):
        ids = [label_ids[label] for label in part["labels"]]
        if index in given:  # validated on its own validation file: every row of `path` trains
            val_part = given[index]
            train_index, val_index = list(range(len(ids))), list(range(len(val_part["labels"])))
            origin_files += [source.path, source.validation_path]
            splits = ((train_rows, part, ids, train_index, len(origin_files) - 2),
                      (val_rows, val_part, [label_ids[label] for label in val_part["labels"]], val_index,
                       len(origin_files) - 1))
        else:
            train_index, val_index = _stratified_split(source, ids, label_names, config)
            origin_files.append(source.path)
            splits = ((train_rows, part, ids, train_index, len(origin_files) - 1),
                      (val_rows, part, ids, val_index, len(origin_files) - 1))
        votes = _vote_account(source, part, train_index, val_index)
        if votes and votes["mode"] == "drop_split":  # training only: validation measures on every row
            train_index = [i for i in train_index if not (part["shares"][i] and is_split(part["shares"][i]))]
            splits = ((train_rows, part, ids, train_index, splits[0][4]), splits[1])
            if votes["dropped_from_training"]:
                part["dropped"][DROP_SPLIT] += votes["dropped_from_training"]
        soft = bool(votes) and votes["mode"] == "soft"
        for rows, origin, origin_ids, chosen, file_index in splits:
            rows["text"].extend(origin["texts"][i] for i in chosen)
            rows["label"].extend(origin_ids[i] for i in chosen)
            rows["source"].extend([index] * len(chosen))
            rows["origin"].extend((file_index, origin["rows"][i]) for i in chosen)
            if rows is train_rows:
                rows["target"].extend(target_vector(part["shares"][i] if soft else None, origin["labels"][i],
                                                    label_names) for i in chosen)
        counts = Counter(part["labels"])
        per_source.append(dict(
            name=source.name, path=source.path, text_column=part["text_column"], label_column=part["label_column"],
            label_kind=part["kind"], label_map=describe_label_map(source.label_map), weight=source.weight,
            max_rows=source.max_rows, validation_path=source.validation_path,
            rows_read=part["rows_read"] + (given[index]["rows_read"] if index in given else 0),
            dropped=dict(part["dropped"] + (given[index]["dropped"] if index in given else Counter())),
            value_counts=dict(part["value_counts"]),
            label_counts={name: counts.get(name, 0) for name in label_names},
            train_rows=len(train_index), validation_rows=len(val_index), votes=votes))
        for reason, count in part["dropped"].items():
            dropped[f"{reason} ({source.name})"] += count
            examples[f"{reason} ({source.name})"] = part["examples"].get(reason, [])
        if index in given:
            for reason, count in given[index]["dropped"].items():
                dropped[f"{reason} ({source.name} validation file)"] += count
                examples[f"{reason} ({source.name} validation file)"] = given[index]["examples"].get(reason, [])
        missing_words.update(part["missing_words"])

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=label_names)})
    train = datasets.Dataset.from_dict({"text": train_rows["text"], "label": train_rows["label"]}, features=features)
    validation = datasets.Dataset.from_dict({"text": val_rows["text"], "label": val_rows["label"]}, features=features)
    totals = Counter(train_rows["label"]) + Counter(val_rows["label"])
    validated_on = ("stratified split of {:.0%} per source".format(config.validation_split) if len(given) < len(sources)
                    else "each source's validation file")
    label_counts = {name: totals.get(index, 0) for index, name in enumerate(label_names)}
    kinds = sorted({part["kind"] for part in read})
    report = DataReport(
        train_source=", ".join(source.name for source in sources),
        validation_source=f"{validated_on}" + (f", seed {config.seed}" if len(given) < len(sources) else "")
        + (f"; validation files for {', '.join(sources[index].name for index in given)}"
           if given and len(given) < len(sources) else ""),
        text_column="per source", label_column="per source", label_kind=" / ".join(kinds),
        rows_read=sum(part["rows_read"] for part in [*read, *given.values()]), dropped=dict(dropped),
        dropped_examples=examples, validation_file_rows=sum(part["rows_read"] for part in given.values()),
        label_counts=label_counts, train_rows=len(train), validation_rows=len(validation),
        warnings=label_warnings(label_counts, "strings" if known else kinds[0], missing_words,
                                config.treat_na_labels_as_missing, lambda labels: _holding(per_source, labels))
        + single_source_labels(per_source, label_names),
        sources=per_source, corrections=finished(corrected))
    soft_sources = any((entry.get("votes") or {}).get("mode") == "soft" for entry in per_source)
    return LoadedData(train, validation, label_names, report, train_sources=train_rows["source"],
                      validation_sources=val_rows["source"], source_names=[source.name for source in sources],
                      source_weights=[source.weight for source in sources], origin_files=origin_files,
                      train_origin=train_rows["origin"], validation_origin=val_rows["origin"],
                      train_targets=train_rows["target"] if soft_sources else [])


def _vote_account(source: Source, part: dict[str, Any], train_index: list[int], val_index: list[int]) -> dict:
    """What a source's votes say (empty without vote columns): how many rows' votes were split, in all
    and among the training rows, how many rows had no usable votes, and what drop_split leaves out."""
    if not source.vote_columns:
        return {}
    shares = part["shares"]
    split_train = sum(1 for i in train_index if shares[i] and is_split(shares[i]))
    mode = source.votes or "soft"
    return dict(mode=mode, columns=parse_vote_columns(source.vote_columns),
                split=split_train + sum(1 for i in val_index if shares[i] and is_split(shares[i])),
                split_in_training=split_train, rows=len(train_index) + len(val_index),
                no_usable_votes=sum(1 for i in [*train_index, *val_index] if shares[i] is None),
                dropped_from_training=split_train if mode == "drop_split" else 0)


def _refuse_a_file_given_twice(sources: list[Source]) -> None:
    repeated = repeated_source(sources)
    if repeated:
        raise DataError(_literal(repeated[0].upper() + repeated[1:]) + ".",
                        "Give it once, with weight 2 in {sources} if its rows should count twice.", setting="sources")


def _holding(per_source: list[dict], labels) -> str:
    """The files and label columns of the sources that hold any of `labels` (for a warning's start)."""
    holders = [source for source in per_source if any(source["label_counts"].get(label) for label in labels)]
    return "; ".join(f"{source['path']}, column '{source['label_column']}'" for source in holders) or "the sources"


def single_source_labels(per_source: list[dict], label_names: list[str]) -> list[str]:
    """A warning for each label that only one of several sources has: the model may learn that source's
    style, topic or time as the label (and a source whose label map missed a value adds a class)."""
    if len(per_source) < 2:
        return []
    warnings = []
    for label in label_names:
        holders = [source for source in per_source if source["label_counts"].get(label)]
        if len(holders) == 1:
            source = holders[0]
            warnings.append(f"label {label!r} comes only from source {source['name']} ({source['path']}, column "
                            f"'{source['label_column']}', {source['label_counts'][label]:,} rows); no other source "
                            "has it, so the model may learn that source's style as the label. Map it to a label the "
                            "other sources have (or to null) in that source's label map if it is not a class of "
                            "its own.")
    return warnings


def _read_source(source: Source, label_map, known: list[str] | None, config: TrainingConfig,
                 path: str = "") -> dict[str, Any]:
    """One source's texts and mapped labels, with what was dropped (and why) and what was capped.
    With `path`: the source's validation file, read the same way and never capped."""
    validation = bool(path)
    source = replace(source, path=path, max_rows=None) if validation else source
    table = read_table(source.path)
    text_column, label_column = choose_columns(table.columns, SimpleNamespace(
        text_column=source.text_column, label_column=source.label_column), source.path)
    vote_map = parse_vote_columns(source.vote_columns) if source.vote_columns else {}
    absent = [column for column in vote_map if column not in table.columns]
    if absent:
        raise DataError(f"{_literal(source.path)}: no vote column '{_literal(absent[0])}'; the file has "
                        f"{_literal(', '.join(table.columns))}.", "Fix this source's vote_columns in {sources}.",
                        setting="sources")
    raw_texts, raw_labels, *vote_values = table.values([text_column, label_column, *vote_map], text=text_column)
    if not raw_texts:
        raise DataError(f"{_literal(source.path)}: the file has a header but no rows.")
    raw_shares = vote_shares(vote_values, list(vote_map.values())) if vote_map else [None] * len(raw_texts)
    missing_words = Counter(label.strip() for label in raw_labels
                            if isinstance(label, str) and label.strip().lower() in MISSING_LABEL_WORDS)
    if config.treat_na_labels_as_missing:
        raw_labels = [None if isinstance(label, str) and label.strip().lower() in MISSING_LABEL_WORDS else label
                      for label in raw_labels]
    # the raw values before mapping, as the form's label-map table shows them
    kind, read_value = label_reader(raw_labels, label_column, _literal(source.path), source.score_threshold)
    value_counts = Counter(read_value(label) for label in raw_labels if not is_missing(label))
    mapped = map_labels(raw_labels, label_map, None, _literal(source.path), label_column, source.score_threshold)
    if known is not None:
        stray = Counter(label for label in mapped.labels if label is not None and label not in known)
        if stray:
            value, count = stray.most_common(1)[0]
            raise DataError(f"{_literal(source.path)}: label {_literal(repr(value))} in column '{label_column}' "
                            f"({count:,} rows) is not one of the run's labels ({', '.join(known)})"
                            f"{' and not in its label map' if label_map else ''}.",
                            "Map it to a label, or to null to leave those rows out, in this source's label map "
                            "in {sources}.", setting="sources")
    texts, labels, shares, rows = [], [], [], []
    for row, (text, label, share) in enumerate(zip(raw_texts, mapped.labels, raw_shares), start=1):
        if label is None:
            continue
        text = "" if text is None else str(text)
        if not text.strip():
            mapped.leave_out(row, DROP_EMPTY_TEXT)
            continue
        texts.append(text)
        labels.append(label)
        shares.append(share)
        rows.append(row)
    if source.max_rows is not None and len(texts) > source.max_rows:
        keep = sorted(random.Random(config.seed).sample(range(len(texts)), source.max_rows))
        mapped.dropped[CAPPED] += len(texts) - source.max_rows
        texts, labels, shares, rows = ([texts[i] for i in keep], [labels[i] for i in keep], [shares[i] for i in keep],
                                       [rows[i] for i in keep])
    if not texts:
        raise DataError(f"{_literal(source.path)}: no usable rows ({', '.join(f'{reason} {count:,}' for reason, count in mapped.dropped.items())}).",
                        "Check this source's columns and label map in {sources}.", setting="sources")
    return dict(texts=texts, labels=labels, shares=shares, rows=rows, kind=mapped.kind, rows_read=len(raw_texts), dropped=mapped.dropped,
                examples=mapped.examples, missing_words=missing_words, value_counts=value_counts,
                text_column=text_column, label_column=label_column)


def _stratified_split(source: Source, label_ids: list[int], label_names: list[str],
                      config: TrainingConfig) -> tuple[list[int], list[int]]:
    """Row positions of this source's training and validation rows: a stratified split of its own."""
    from sklearn.model_selection import train_test_split

    counts = Counter(label_ids)
    rare = [label_names[label] for label, count in counts.items() if count < 2]
    if rare:
        raise DataError(f"{_literal(source.path)}: label(s) {', '.join(rare)} occur only once in this source; a "
                        "stratified validation split needs at least two rows of each.",
                        "Add rows, map them elsewhere in {sources}, or change {validation_split}.",
                        setting="sources")
    positions = list(range(len(label_ids)))
    try:
        train_index, val_index = train_test_split(positions, test_size=config.validation_split,
                                                  random_state=config.seed, stratify=label_ids)
    except ValueError:
        raise DataError(f"{_literal(source.path)}: a validation split of {config.validation_split:g} of its "
                        f"{len(positions):,} rows cannot hold a row of each of its {len(counts)} labels on both "
                        "sides.", "Change {validation_split} or add rows.", setting="validation_split") from None
    return sorted(train_index), sorted(val_index)


def epoch_rows(train_sources: list[int], weights: list[float], seed: int, epoch: int) -> list[int]:
    """This epoch's training rows with each source's share scaled by its weight, a pure function of
    (seed, epoch): weight 1 keeps a source's rows once each, 0.5 a seeded half of them, 2.5 every row
    twice plus a seeded half. Sources all of weight 1 give every row once (the order is the sampler's)."""
    by_source: dict[int, list[int]] = {}
    for row, source in enumerate(train_sources):
        by_source.setdefault(source, []).append(row)
    generator = random.Random(seed * 1_000_003 + epoch)
    rows: list[int] = []
    for source, members in sorted(by_source.items()):
        wanted = round(len(members) * weights[source])
        whole, rest = divmod(wanted, len(members))
        rows.extend(members * whole)
        rows.extend(sorted(generator.sample(members, rest)))
    return rows
