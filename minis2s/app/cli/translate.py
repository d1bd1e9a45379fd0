"""``minis2s translate``: decode sentences given as arguments or on stdin (and draw attention)."""
from __future__ import annotations

import sys
from pathlib import Path

from ...data import detokenize, get_tokenizer, pad_batch
from ...errors import InputError
from ...validate import MAX_DECODE_LEN
from .common import add_decoding_options, load_model, saved_train_config, split_pairs, warn

HELP = "decode TEXT arguments, or lines from stdin"


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help=HELP, description=HELP)
    add_decoding_options(p)
    p.add_argument("--attention", metavar="FILE.png",
                   help="draw each translation's attention weights as a heatmap (an "
                        "attention model only; several inputs: FILE-1.png, FILE-2.png, ...)")
    p.add_argument("text", nargs="*", metavar="TEXT", help="sentences to translate")
    p.set_defaults(func=run)


def _shape(text: str) -> str:
    """A character string's form: digits as 9, letters as a (``"1000+1"`` -> ``"9999+9"``)."""
    return "".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in text)


def _warn_unlike_training(texts, tokens, ckpt) -> None:
    """Warn about inputs unlike every training source: longer than any, or (character tasks)
    of a form none had -- a model answers those too, confidently and usually wrong."""
    config = saved_train_config(ckpt)
    if config is None:
        return                               # the checkpoint does not say what it was trained on
    try:
        train, _ = split_pairs(config)
    except (InputError, OSError, ValueError):
        return                               # e.g. the data file has moved: nothing to compare
    tokenize = get_tokenizer(ckpt.src_tokenizer)
    longest = max(len(tokenize(s)) for s, _ in train)
    shapes = {_shape(s) for s, _ in train} if ckpt.src_tokenizer == "char" else None
    unit = "characters" if ckpt.src_tokenizer == "char" else "words"
    for n, (text, toks) in enumerate(zip(texts, tokens), start=1):
        why = []
        if len(toks) > longest:
            why.append(f"it is {len(toks)} {unit} long, the longest training source {longest}")
        if shapes is not None and toks and len(toks) <= longest and _shape(text) not in shapes:
            examples = ", ".join(repr(s) for s, _ in train[:3])
            why.append(f"no training source has its form {_shape(text)!r} (digits shown as 9, "
                       f"letters as a; training sources look like {examples})")
        if why:
            warn(f"input {n} ({text!r}) is outside what the model was trained on: "
                  f"{'; '.join(why)}. Its answer is a guess.")


def run(args, command: str) -> int:
    ckpt, model = load_model(args)
    texts = args.text if args.text else [line.rstrip("\r\n") for line in sys.stdin]
    tokenize = get_tokenizer(ckpt.src_tokenizer)
    tokens = [tokenize(t) for t in texts]
    for n, toks in enumerate(tokens, start=1):
        unknown = ckpt.src_vocab.unknown(toks)
        if unknown:
            warn(f"input {n} ({texts[n - 1]!r}): unknown to the model, read as <unk>: {unknown}")
    _warn_unlike_training(texts, tokens, ckpt)
    saved = ckpt.train_config.get("max_len") or 50
    batch = args.batch_size
    if args.attention and ckpt.model_config.get("decoder") != "attention":
        raise InputError(f"--attention: {args.checkpoint} holds a "
                         f"{ckpt.model_config.get('decoder')!r} model, which has no attention "
                         "weights to draw (train one with --model attention)")
    pictures = []                  # (input index, source tokens, output ids) to draw
    for i in range(0, len(tokens), batch):
        chunk = tokens[i:i + batch]
        real = [j for j, t in enumerate(chunk) if t]        # empty lines translate to empty lines
        outputs = [""] * len(chunk)
        if real:
            src = pad_batch([ckpt.src_vocab.encode(chunk[j]) for j in real])
            max_len = args.max_len or min(max(saved, 2 * src.shape[1]), MAX_DECODE_LEN)
            seqs, _ = model.generate(src, max_len=max_len, beam_size=args.beam)
            for j, seq in zip(real, seqs):
                outputs[j] = detokenize(ckpt.tgt_vocab.decode(seq), ckpt.tgt_tokenizer)
                if args.attention:
                    pictures.append((i + j, chunk[j], seq))
        for line in outputs:
            print(line, flush=True)
    for n, toks, seq in pictures:
        path = _attention_picture(args.attention, n, len(texts), model, ckpt, toks, seq)
        print(f"attention weights of input {n + 1} drawn in {path}", file=sys.stderr)
    return 0


def _attention_picture(path: str, n: int, count: int, model, ckpt, src_tokens, out_ids) -> Path:
    """Draw input n's attention heatmap into ``path`` (``path-<n+1>.png`` when there are several)."""
    from ..attention_plot import attention_matrix, plot_attention
    path = Path(path)
    if count > 1:
        path = path.with_name(f"{path.stem}-{n + 1}{path.suffix or '.png'}")
    alpha = attention_matrix(model, ckpt.src_vocab.encode(src_tokens), out_ids)
    out_tokens = ckpt.tgt_vocab.decode(out_ids) + ["<eos>"]
    plot_attention(alpha, src_tokens, out_tokens, path).clf()
    return path
