"""`moderator-app label --engine spark INPUT… --output DIR`: label on a Spark cluster (or local[N]).

The options of `label` keep their meaning; these add where the job runs and how its output is written.
pyspark is imported only when the Spark engine is chosen, so `moderator-app label` never loads it.
"""

from __future__ import annotations

import argparse
import sys

from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure

ENGINES = ("local", "spark")
SPARK_ONLY = ("master", "ship_model", "output_format")


def add_spark_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("more_inputs", nargs="*", metavar="INPUT",
                        help="with --engine spark: more files or folders (local paths or URIs such as hdfs://…, "
                             "s3a://…), of one format, labelled into one output")
    group = parser.add_argument_group(
        "Spark engine",
        "--engine spark labels on Apache Spark (pip install \"moderator-app[spark]\"; Java 17 or 21). OUT is then "
        "a folder of part files, written under a hidden temporary name and renamed when the job succeeds. "
        "Rows come back with every cell as read, the columns label adds, and _row_id: part files hold rows in "
        "any order, sorting by _row_id restores the input order (INPUTs in the order given). Unreadable "
        "CSV/JSON rows (a wrong number of fields, invalid JSON) follow --skip-bad-rows.")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: this process (default); spark: a Spark job")
    group.add_argument("--master", metavar="URL",
                       help="Spark master, e.g. local[2], spark://host:7077, yarn (default: what spark-submit or "
                            "spark-defaults.conf say, else local[*])")
    group.add_argument("--ship-model", action="store_true",
                       help="copy the model folder to every executor (SparkContext.addFile) instead of reading it "
                            "at its path, which must then be on a file system every executor reads")
    group.add_argument("--output-format", choices=("parquet", "csv", "json"),
                       help="format of the part files (default: parquet)")


def check_engine_arguments(args: argparse.Namespace) -> str | None:
    """A one-line complaint about options that the chosen engine does not take, else None."""
    if args.engine == "spark":
        if not args.output:
            return "--engine spark needs --output DIR, the folder to write the part files into"
        if args.excel_safe:
            return "--excel-safe applies to the local engine's CSV output, not to --engine spark"
        return None
    given = [name for name in SPARK_ONLY if getattr(args, name) not in (None, False)]
    if given:
        return f"--{given[0].replace('_', '-')} applies to --engine spark only"
    if args.more_inputs:
        return "the local engine labels one file at a time; several INPUTs need --engine spark"
    return None


def run_spark(args: argparse.Namespace) -> int:
    from moderator_app.commands.label import terminate_as_interrupt

    session = None
    try:
        with terminate_as_interrupt():
            summary, session = label_on_spark(args)
    except KeyboardInterrupt:
        print("moderator-app label: interrupted; no output was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the one error boundary: one line, exit 2 for bad input
        return report_failure("label", error)
    finally:
        if session is not None:
            session.stop()
    print(summary.describe())
    return EXIT_OK


def label_on_spark(args: argparse.Namespace):
    from moderator_app.commands.label import decision_threshold, load_classifier
    from moderator_app.core.inference.labelling import check_category_thresholds
    from moderator_app.core.inference.spark_labelling import (check_model_folder, label_with_spark,
                                                              plan_spark_labelling, spark_session)

    check_model_folder(args.model)
    session, created = spark_session(args.master)  # pyspark missing or no Java: one line, before anything else
    try:
        # As `label`: everything that needs no model first (output folder, inputs, text column, unreadable rows).
        plan = plan_spark_labelling(session, [args.input, *args.more_inputs], args.output,
                                    text_column=args.text_column, output_format=args.output_format or "parquet",
                                    overwrite=args.overwrite, skip_bad_rows=args.skip_bad_rows)
        # The driver loads the model as every executor will (the same refusals: pickle weights, remote code,
        # no trained head …) for its labels and saved threshold; in fp32 on the CPU, as only executors predict.
        classifier = load_classifier(argparse.Namespace(**{**vars(args), "device": "cpu", "precision": "fp32"}))
        check_category_thresholds(classifier, args.category_thresholds)  # an unknown category: one line, no job
        print(f"Model {classifier.describe()}; executors: device {args.device}, precision {args.precision}",
              file=sys.stderr)
        summary = label_with_spark(
            session, plan, classifier, model_path=args.model, threshold=decision_threshold(args, classifier),
            batch_size=args.batch_size, device=args.device, precision=args.precision, allow_pickle=args.allow_pickle,
            ship_model=args.ship_model, overwrite=args.overwrite, category_thresholds=args.category_thresholds)
    except BaseException:
        if created:
            session.stop()
        raise
    return summary, (session if created else None)
