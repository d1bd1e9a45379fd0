"""``minis2s translate``: decode sentences given as arguments or on stdin (and draw attention).

Each line of output echoes its input and gives the model's score for the answer::

    16+75 -> 91   (log-probability -0.02)
    16+75 -> 91   (beam 3, log-probability -0.02)

the log-probability the model gives the whole answer (its <eos> included): near 0 for an
answer it is sure of, very negative for a guess. ``--plain`` prints the answers alone, one a
line, for scripts. ``--attention FILE.png`` pictures go into the checkpoint's run folder when
FILE.png is a bare file name, and where it says when it names a folder too (``./a.png``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ...data import detokenize, get_tokenizer, pad_batch
from ...data.corpora import resolve
from ...data.coverage import SourceProfile
from ...errors import InputError
from ...validate import MAX_DECODE_LEN
from ..config import VAL_SIZE
from ..sizes import check_fits, evaluation_bytes
from .common import add_decoding_options, load_model, saved_train_config, split_pairs, warn

# The attention picture grows with both lengths (matplotlib draws every cell and label: a
# 700-character input once grew to 24 GB); a readable heatmap holds far fewer tokens anyway.
MAX_PICTURE_TOKENS = 100
# Comparing the inputs with the training sources regenerates (or reads) the training split;
# above this many pairs that costs more than the translation itself, so the check is skipped.
MAX_COMPARED_PAIRS = 100_000
MAX_COMPARED_BYTES = 50 * 2**20

HELP = "decode TEXT arguments, or lines from stdin"


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help=HELP, description=HELP)
    add_decoding_options(p)
    p.add_argument("--attention", metavar="FILE.png",
                   help="draw each translation's attention weights as a heatmap (an "
                        "attention model only; several inputs: FILE-1.png, FILE-2.png, ...); "
                        "a bare file name goes into the checkpoint's run folder, a path "
                        "(./a.png, /tmp/a.png) where it says")
    p.add_argument("--plain", action="store_true",
                   help="print only the translations, one a line (no input, no score)")
    p.add_argument("text", nargs="*", metavar="TEXT", help="sentences to translate")
    p.set_defaults(func=run)


def _warn_unlike_training(texts, ckpt) -> None:
    """Warn about inputs unlike every training source: longer than any, or (character tasks)
    of a form none had, or with a character where no source of its form has one
    (minis2s.data.coverage) -- a model answers those too, confidently and usually wrong."""
    config = saved_train_config(ckpt)
    if config is None:
        return                               # the checkpoint does not say what it was trained on
    if _too_big_to_compare(config):
        return
    try:
        train, _ = split_pairs(config)
    except (InputError, OSError, ValueError):
        return                               # e.g. the data file has moved: nothing to compare
    profile = SourceProfile((s for s, _ in train), ckpt.src_tokenizer)
    for n, text in enumerate(texts, start=1):
        why = profile.reasons(text)
        if why:
            warn(f"input {n} ({text!r}) is outside what the model was trained on: "
                 f"{'; '.join(why)}. Its answer is a guess.")


def _too_big_to_compare(config) -> bool:
    """Would rebuilding the training split cost more than a translation is worth?"""
    if config.data:
        try:
            return resolve(config.data).stat().st_size > MAX_COMPARED_BYTES
        except OSError:
            return True
    return (config.train_size or 0) + (config.val_size or VAL_SIZE) > MAX_COMPARED_PAIRS


def run(args, command: str) -> int:
    pictures_at = (None if args.attention is None else
                   _picture_paths(args.attention, args.checkpoint))
    ckpt, model = load_model(args)
    texts = args.text if args.text else [line.rstrip("\r\n") for line in sys.stdin]
    tokenize = get_tokenizer(ckpt.src_tokenizer)
    tokens = [tokenize(t) for t in texts]
    if pictures_at is not None:
        for n, toks in enumerate(tokens, start=1):
            if len(toks) > MAX_PICTURE_TOKENS:
                raise InputError(f"--attention: input {n} is {len(toks)} tokens long; a picture "
                                 f"holds at most {MAX_PICTURE_TOKENS} source tokens (and as many "
                                 "output tokens): translate it without --attention, or shorten it")
    _check_decoding_fits(args, ckpt, tokens)
    for n, toks in enumerate(tokens, start=1):
        unknown = ckpt.src_vocab.unknown(toks)
        if unknown:
            warn(f"input {n} ({texts[n - 1]!r}): unknown to the model, read as <unk>: {unknown}")
    _warn_unlike_training(texts, ckpt)
    saved = ckpt.train_config.get("max_len") or 50
    batch = args.batch_size
    if pictures_at is not None and ckpt.model_config.get("decoder") != "attention":
        raise InputError(f"--attention: {args.checkpoint} holds a "
                         f"{ckpt.model_config.get('decoder')!r} model, which has no attention "
                         "weights to draw (train one with --model attention)")
    pictures = []                  # (input index, source tokens, output ids) to draw
    search = f"beam {args.beam}, " if args.beam > 1 else ""
    for i in range(0, len(tokens), batch):
        chunk = tokens[i:i + batch]
        real = [j for j, t in enumerate(chunk) if t]        # empty lines translate to empty lines
        outputs = [""] * len(chunk)
        if real:
            src = pad_batch([ckpt.src_vocab.encode(chunk[j]) for j in real])
            max_len = args.max_len or min(max(saved, 2 * src.shape[1]), MAX_DECODE_LEN)
            seqs, scores = model.generate(src, max_len=max_len, beam_size=args.beam)
            for j, seq, score in zip(real, seqs, scores):
                answer = detokenize(ckpt.tgt_vocab.decode(seq), ckpt.tgt_tokenizer)
                outputs[j] = answer if args.plain else \
                    f"{texts[i + j]} -> {answer}   ({search}log-probability {score:.2f})"
                if pictures_at is not None:
                    pictures.append((i + j, chunk[j], seq))
        for line in outputs:
            print(line, flush=True)
    for n, toks, seq in pictures:
        if len(seq) + 1 > MAX_PICTURE_TOKENS:
            raise InputError(f"--attention: the translation of input {n + 1} is {len(seq)} tokens "
                             f"long; a picture holds at most {MAX_PICTURE_TOKENS} output tokens "
                             "(pass a smaller --max-len to draw it)")
        path = pictures_at(n, len(texts))
        _attention_picture(path, model, ckpt, toks, seq)
        print(f"attention weights of input {n + 1} drawn in {path}", file=sys.stderr)
    return 0


def _picture_paths(text: str, checkpoint: str):
    """Check --attention's path up front; returns ``where(n, count)``: the exact file input n
    is drawn in (``FILE.png``, or ``FILE-<n+1>.png`` when there are several inputs). A bare
    file name goes into the checkpoint's run folder, so the pictures stay with the run; a
    path with a folder (``./a.png``, ``/tmp/a.png``) is used as given."""
    if not text.strip():
        raise InputError("--attention: the file name is empty; name a .png file, e.g. "
                         "--attention attention.png")
    path = Path(text) if os.path.dirname(text) else Path(checkpoint).parent / text
    if path.is_dir() or text.endswith(("/", "\\")):
        raise InputError(f"--attention {text}: is a folder; name a .png file, e.g. "
                         f"--attention {path / 'attention.png'}")
    if path.suffix.lower() != ".png":
        raise InputError(f"--attention {text}: the picture is written as PNG, so the file "
                         f"name must end in .png (e.g. {path.with_suffix('.png')})")

    def where(n: int, count: int) -> Path:
        return path if count == 1 else path.with_name(f"{path.stem}-{n + 1}{path.suffix}")
    return where


def _check_decoding_fits(args, ckpt, tokens) -> None:
    """Refuse, before decoding, a batch whose search would not fit in memory."""
    longest = max((len(t) for t in tokens), default=0)
    if not longest:
        return
    config = ckpt.model_config
    max_len = args.max_len or min(max(ckpt.train_config.get("max_len") or 50, 2 * longest),
                                  MAX_DECODE_LEN)
    need = evaluation_bytes(min(args.batch_size, len(tokens)), longest, 1, max_len,
                            config["tgt_vocab"], config["hidden"], config["n_layers"],
                            config.get("decoder") == "attention", args.beam,
                            8 if ckpt.dtype == "float64" else 4)
    check_fits(f"decoding {min(args.batch_size, len(tokens))} inputs of up to {longest} tokens "
               f"(beam {args.beam}, at most {max_len} output tokens)", need,
               "pass a smaller --batch-size, --beam or --max-len, or shorter inputs")


def _attention_picture(path: Path, model, ckpt, src_tokens, out_ids) -> None:
    """Draw one translation's attention heatmap into ``path``."""
    from ..attention_plot import attention_matrix, plot_attention
    alpha = attention_matrix(model, ckpt.src_vocab.encode(src_tokens), out_ids)
    out_tokens = ckpt.tgt_vocab.decode(out_ids) + ["<eos>"]
    plot_attention(alpha, src_tokens, out_tokens, path).clf()
