"""``miles train``, ``miles restack``, ``miles evaluate``, ``miles export`` and ``miles calibrate``.

torch, transformers and scikit-learn are imported inside the handlers only, so ``miles --help``
and the other areas' commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from miles_core.training.embeddings import DEFAULT_CACHE_DIR
from miles_core.training.encoder import DEFAULT_ENCODER

logger = logging.getLogger(__name__)


def _train(args: argparse.Namespace) -> int:
    from miles_core.training.train import TrainOptions, train

    options = TrainOptions(
        data=tuple(args.data),
        out=args.out,
        encoder=args.encoder,
        seed=args.seed,
        encoder_layers=args.encoder_layers,
        cache_dir=None if args.no_cache else args.cache_dir,
        **({} if args.max_tokens is None else {"max_tokens": args.max_tokens}),
        **({} if args.text_neighbours is None else {"text_neighbours": args.text_neighbours}),
    )
    card = train(options)
    print(json.dumps({"model_version": card.model_version, "threshold": card.threshold, **card.metrics}, indent=1))
    return 0


def _restack(args: argparse.Namespace) -> int:
    from miles_core.training.restack import restack

    card = restack(args.model, args.data, args.split, None if args.no_cache else args.cache_dir)
    print(json.dumps({"model_version": card.model_version, "threshold": card.threshold, **card.metrics}, indent=1))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from miles_core.training.evaluate import comparison_table, evaluate

    result = evaluate(args.model, args.data, args.split, args.reference)
    print(json.dumps(result, indent=None if args.json else 1))
    if not args.json:
        print()
        print(comparison_table(result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from miles_core.training.onnx_export import export_trained

    started = time.monotonic()
    path = export_trained(args.model, args.out, quantize=not args.fp32)
    logger.info("wrote %s in %.1fs", path, time.monotonic() - started)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from miles_core.training.onnx_export import write_quantization_ranges

    path = write_quantization_ranges(args.model)
    logger.info("wrote %s", path)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the model area's sub-commands to the ``miles`` CLI."""
    train = subparsers.add_parser("train", help="train the model on a benchmark CSV (train split; val selects)")
    train.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="benchmark-schema CSV (.csv or .csv.gz); repeat it to train on the union (e.g. the benchmark and "
        "`miles export-dataset` output), each file split by time by its own split column",
    )
    train.add_argument("--out", type=Path, required=True, help="trained-model directory to write")
    train.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local model directory")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--encoder-layers",
        type=int,
        default=None,
        help="keep only the first K transformer layers of the encoder (default: all); the export keeps K too",
    )
    train.add_argument(
        "--max-tokens", type=int, default=None, help="token budget of the encoder text (default: TrainOptions')"
    )
    train.add_argument(
        "--text-neighbours",
        type=int,
        default=None,
        help="how many most-alike training videos the pre-publish text-neighbour prior averages (default: 30)",
    )
    train.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache")
    train.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    train.set_defaults(handler=_train)

    restack = subparsers.add_parser(
        "restack", help="re-fit a trained model's stacking (calibration), threshold and score reference on val"
    )
    restack.add_argument("--model", type=Path, required=True, help="trained-model directory (rewritten in place)")
    restack.add_argument("--data", type=Path, required=True, help="benchmark-schema CSV holding the val rows")
    restack.add_argument("--split", default="val", help="the rows to fit on (default: val)")
    restack.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache")
    restack.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    restack.set_defaults(handler=_restack)

    evaluate = subparsers.add_parser("evaluate", help="score a benchmark CSV with the served artifact")
    evaluate.add_argument("--model", type=Path, required=True, help="serving artifact or trained-model directory")
    evaluate.add_argument("--data", type=Path, required=True, help="benchmark-schema CSV")
    evaluate.add_argument("--split", default=None, help="only rows with this split (default: all rows)")
    evaluate.add_argument("--json", action="store_true", help="print one compact JSON line")
    evaluate.add_argument(
        "--reference", type=Path, default=None, help="another serving artifact: report |logit difference| to it"
    )
    evaluate.set_defaults(handler=_evaluate)

    export = subparsers.add_parser("export", help="trained-model directory -> ONNX serving artifact")
    export.add_argument("--model", type=Path, required=True, help="trained-model directory")
    export.add_argument("--out", type=Path, required=True, help="serving artifact directory to write")
    export.add_argument("--fp32", action="store_true", help="skip int8 quantization (a reference for parity checks)")
    export.set_defaults(handler=_export)

    calibrate = subparsers.add_parser(
        "calibrate", help="re-measure a trained-model directory's int8 activation ranges (miles train does this)"
    )
    calibrate.add_argument("--model", type=Path, required=True, help="trained-model directory")
    calibrate.set_defaults(handler=_calibrate)
