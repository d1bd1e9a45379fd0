"""``minis2s eval``: a checkpoint's loss, accuracies (and BLEU) on its validation split or a file."""
from __future__ import annotations

import sys

from ...data import encode_pairs, get_tokenizer
from ..sizes import check_fits, evaluation_bytes
from ..trainer import evaluate
from .common import (add_decoding_options, data_name, load_model, read_data, saved_train_config,
                     split_pairs, warn)

HELP = "measure a checkpoint on its validation split or a data file"


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP)
    add_decoding_options(p)
    p.add_argument("--data", metavar="NAME|PATH", help="evaluate on this corpus or file "
                   "(default: the validation split recorded in the checkpoint's settings)")
    p.set_defaults(func=run)


def _encode_warning_unknown(pairs, ckpt, own_split: bool = False) -> tuple:
    """Encode (source, target) pairs with the checkpoint's vocabularies, saying how many tokens
    are unknown to the model (read as <unk>), at what rate, and whether that is to be expected."""
    rates = []
    for side, vocab, kind in (("source", ckpt.src_vocab, ckpt.src_tokenizer),
                              ("target", ckpt.tgt_vocab, ckpt.tgt_tokenizer)):
        tokens = [t for pair in pairs for t in get_tokenizer(kind)(pair[side == "target"])]
        unknown = [t for t in tokens if t not in vocab]
        if unknown:
            word = "words" if kind == "word" else "characters"
            rates.append(f"{len(unknown):,} of {len(tokens):,} {side} {word} "
                         f"({100 * len(unknown) / len(tokens):.1f} %, e.g. "
                         f"{', '.join(repr(t) for t in vocab.unknown(unknown)[:5])})")
    if rates:
        what = " and ".join(rates) + " are not in the model's vocabularies and are read as <unk>"
        if own_split:   # expected: the vocabularies were built from the training split only
            print(f"minis2s: note: {what}. Expected on a held-out split: the vocabularies hold "
                  "only the training split's tokens, and in a small corpus many words occur "
                  "once. A reference <unk> counts as an error in every score.", file=sys.stderr)
        else:
            warn(f"{what}; a high rate means this file differs from the training data (another "
                  "language, spelling or tokenization), and every such token counts as an error")
    return encode_pairs(pairs, ckpt.src_vocab, ckpt.tgt_vocab, ckpt.src_tokenizer, ckpt.tgt_tokenizer)


def _check_fits(args, ckpt, src_ids, tgt_ids, max_len) -> None:
    """Refuse, before the first batch, an evaluation whose batch would not fit in memory
    (the logits alone are batch x longest target x vocabulary numbers)."""
    config = ckpt.model_config
    batch = min(args.batch_size, len(src_ids))
    S, T = max(len(s) for s in src_ids), max(len(t) for t in tgt_ids)
    need = evaluation_bytes(batch, S, T, max_len, config["tgt_vocab"], config["hidden"],
                            config["n_layers"], config.get("decoder") == "attention", args.beam,
                            8 if ckpt.dtype == "float64" else 4)
    check_fits(f"evaluating batches of {batch} pairs (the longest source {S} tokens, the longest "
               f"target {T - 2}, a vocabulary of {config['tgt_vocab']:,})", need,
               "pass a smaller --batch-size (or --beam), or leave the longest lines out of the data")


def run(args, command: str) -> int:
    ckpt, model = load_model(args)
    if args.data:
        pairs = read_data(args.data)[1]
        where = f"{args.data} ({len(pairs)} pairs)"
    else:
        config = saved_train_config(ckpt)
        if config is None:
            raise ckpt.error("it does not record the data it was trained on; pass --data FILE")
        _, pairs = split_pairs(config)
        if not pairs:
            raise ckpt.error("its run had no validation split; pass --data FILE")
        where = f"the validation split of {data_name(config)} ({len(pairs)} pairs)"
    src_ids, tgt_ids = _encode_warning_unknown(pairs, ckpt, own_split=not args.data)
    max_len = args.max_len or ckpt.train_config.get("max_len") or max(len(t) for t in tgt_ids) - 1
    _check_fits(args, ckpt, src_ids, tgt_ids, max_len)
    metrics, _ = evaluate(model, src_ids, tgt_ids, max_len, beam_size=args.beam,
                          batch_size=args.batch_size, tgt_vocab=ckpt.tgt_vocab,
                          bleu=ckpt.tgt_tokenizer == "word")
    search = "greedy" if args.beam == 1 else f"beam search, k = {args.beam}"
    print(f"checkpoint: {ckpt.path} (epoch {ckpt.epoch}, step {ckpt.step})")
    print(f"data: {where}; decoding: {search}, at most {max_len} tokens")
    print(f"loss            {metrics['loss']:.4f}")
    print(f"perplexity      {metrics['perplexity']:.3f}")
    print(f"token accuracy  {metrics['token_accuracy']:.2f} %")
    print(f"exact match     {metrics['exact_match']:.2f} %")
    if "bleu" in metrics:
        print(f"BLEU-4          {metrics['bleu']:.2f}")
    return 0
