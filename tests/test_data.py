"""Tests of the host-side data package: vocabularies, tokenizers, tasks, files and batches.

Generated tasks are checked against independent oracles (Python integer
arithmetic, ``datetime.strptime``), not against the code that made them.
"""
import datetime as dt
import json
import unicodedata

import numpy as np
import pytest

from minis2s.data import (EOS, PAD, SOS, UNK, BatchIterator, Vocab, addition, book_split,
                          char_tokenize, copy, dates, detect_format, detokenize, encode_pairs,
                          filter_by_length, get_tokenizer, load_book_qa, load_pairs, load_tsv,
                          make_task, pad_batch, reverse, split, toy_translation, word_tokenize,
                          write_tsv, TASKS, TASK_TOKENIZER, DATE_FORMATS)

# ============================================================================ vocabulary
def test_specials_have_fixed_ids():
    v = Vocab.build([["x", "y"]])
    assert (PAD, SOS, EOS, UNK) == (0, 1, 2, 3)
    assert (v.pad_id, v.sos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert [v.token(i) for i in range(4)] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    assert v.id("<eos>") == EOS
    # Even an empty vocabulary has them.
    assert len(Vocab()) == 4


def test_build_orders_by_frequency_then_token():
    v = Vocab.build([list("banana"), list("cab")])   # a:4, n:2, b:2, c:1
    assert v.tokens[4:] == ["a", "b", "n", "c"]
    assert Vocab.build([list("cab"), list("banana")]) == v   # input order does not matter


def test_build_min_freq_and_max_size():
    data = [list("aaaabbbcc") + ["d"]]
    assert Vocab.build(data, min_freq=2).tokens[4:] == ["a", "b", "c"]
    v = Vocab.build(data, max_size=6)
    assert len(v) == 6 and v.tokens[4:] == ["a", "b"]
    assert v.encode(["c"]) == [UNK]
    with pytest.raises(ValueError):
        Vocab.build(data, max_size=3)
    with pytest.raises(ValueError):
        Vocab.build(data, min_freq=0)


def test_build_ignores_special_strings_in_data():
    v = Vocab.build([["<pad>", "<eos>", "x"]])
    assert v.tokens == ["<pad>", "<sos>", "<eos>", "<unk>", "x"]


def test_encode_decode_round_trip():
    v = Vocab.build([list("hello world")])
    tokens = list("hello")
    ids = v.encode(tokens, add_sos=True, add_eos=True)
    assert ids[0] == SOS and ids[-1] == EOS and len(ids) == 7
    assert v.decode(ids) == tokens
    assert v.decode(np.array(ids + [PAD, PAD])) == tokens       # arrays work too
    assert v.decode(ids, strip_special=False)[0] == "<sos>"


def test_decode_stops_at_first_eos_and_keeps_unk():
    v = Vocab(["a", "b"])
    assert v.decode([SOS, 4, UNK, 5, EOS, 4, 4]) == ["a", "<unk>", "b"]
    assert v.decode([PAD, 4, PAD]) == ["a"]


def test_unknown_tokens_map_to_unk_and_are_reported():
    v = Vocab(list("abc"))
    assert v.encode(list("axbyx")) == [4, UNK, 5, UNK, UNK]
    assert v.unknown(list("axbyx")) == ["x", "y"]
    assert v.id("zzz") == UNK
    assert "a" in v and "x" not in v


def test_token_out_of_range():
    with pytest.raises(IndexError):
        Vocab(["a"]).token(5)


def test_vocab_rejects_specials_and_duplicates():
    with pytest.raises(ValueError):
        Vocab(["a", "<unk>"])
    with pytest.raises(ValueError):
        Vocab(["a", "a"])


def test_to_dict_from_dict_round_trip_through_json():
    v = Vocab.build([word_tokenize("나는 학생입니다. I am a student.")])
    d = json.loads(json.dumps(v.to_dict()))
    w = Vocab.from_dict(d)
    assert w == v and w.tokens == v.tokens


@pytest.mark.parametrize("bad, words", [
    ([1, 2], "dict"),
    ({"format": "other", "tokens": []}, "format"),
    ({"format": "minis2s.vocab", "version": 99, "tokens": []}, "version"),
    ({"format": "minis2s.vocab"}, "tokens"),
    ({"tokens": ["<pad>", "<sos>", "<eos>", "<unk>", 7]}, "strings"),
    ({"tokens": ["<sos>", "<pad>", "<eos>", "<unk>", "a"]}, "special"),
    ({"tokens": ["<pad>", "<sos>", "<eos>", "<unk>", "a", "a"]}, "duplicate"),
])
def test_from_dict_rejects_malformed(bad, words):
    with pytest.raises(ValueError, match=words):
        Vocab.from_dict(bad)


# ============================================================================ tokenizers
def test_char_tokenize():
    assert char_tokenize("16+75") == ["1", "6", "+", "7", "5"]
    assert char_tokenize("9/27 94") == ["9", "/", "2", "7", " ", "9", "4"]


def test_word_tokenize_english():
    assert word_tokenize("Hi, Tom! It's 5 o'clock.") == \
        ["Hi", ",", "Tom", "!", "It", "'", "s", "5", "o", "'", "clock", "."]
    assert word_tokenize("  wait...  ") == ["wait", ".", ".", "."]
    assert word_tokenize("Run!") == ["Run", "!"]      # case is kept


def test_word_tokenize_korean_and_other_scripts():
    assert word_tokenize("나는 학생입니다.") == ["나는", "학생입니다", "."]
    assert word_tokenize("뭐라고?!") == ["뭐라고", "?", "!"]
    assert word_tokenize("Привет, мир") == ["Привет", ",", "мир"]
    # Combining marks stay inside their word (decomposed accents, Devanagari vowel signs).
    assert word_tokenize(unicodedata.normalize("NFD", "café noir")) == \
        [unicodedata.normalize("NFD", "café"), "noir"]
    assert word_tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_detokenize():
    assert detokenize(["1", "6", "+", " "], "char") == "16+ "
    assert detokenize(word_tokenize("Hi, Tom! How are you?"), "word") == "Hi, Tom! How are you?"
    assert detokenize(word_tokenize("나는 학생입니다."), "word") == "나는 학생입니다."
    assert detokenize([], "word") == ""


def test_get_tokenizer():
    assert get_tokenizer("char") is char_tokenize
    assert get_tokenizer("word") is word_tokenize
    with pytest.raises(ValueError, match="char"):
        get_tokenizer("bpe")
    with pytest.raises(ValueError):
        detokenize(["a"], "bpe")


# ============================================================================ tasks
def test_addition_is_correct_arithmetic():
    pairs = addition(500, seed=3)
    for src, tgt in pairs:
        a, b = src.split("+")
        assert 0 <= int(a) < 1000 and 0 <= int(b) < 1000
        assert str(a) == str(int(a))               # no leading zeros
        assert int(tgt) == int(a) + int(b)
    lengths = {len(src.split("+")[0]) for src, _ in pairs}
    assert lengths == {1, 2, 3}
    assert all(len(s.split("+")[0]) <= 5 for s, _ in addition(50, max_digits=5))


# The oracle: every surface format, as a strptime pattern (independent of tasks.py).
_DATE_PATTERNS = ["%B %d, %Y", "%b %d, %Y", "%b %d %Y", "%d %b %Y", "%d %B %Y",
                  "%A, %B %d, %Y", "%a %d %b %Y", "%m/%d/%Y", "%m/%d/%y", "%Y.%m.%d",
                  "%d.%m.%Y", "%Y%m%d"]


def test_dates_parse_back_to_the_iso_target():
    matched = set()
    for src, tgt in dates(1500, seed=7):
        target = dt.date.fromisoformat(tgt)
        assert dt.date(1900, 1, 1) <= target <= dt.date(2099, 12, 31)
        parsed = {}
        for pat in _DATE_PATTERNS:
            try:
                parsed[pat] = dt.datetime.strptime(src, pat).date()
            except ValueError:
                pass
        assert parsed, f"no pattern parses {src!r}"
        assert set(parsed.values()) == {target}, (src, tgt, parsed)   # unambiguous
        matched |= set(parsed)
        weekday = src.split(",")[0].split(" ")[0].capitalize()
        if weekday[:3] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}:
            assert target.strftime("%a") == weekday[:3], (src, tgt)   # the right weekday
    assert len(matched) >= 8
    assert len(DATE_FORMATS) >= 8


def test_dates_include_leap_days():
    # Enough draws that 29 February occurs; it must be a real one (strptime would reject 1900-02-29).
    leap = [t for _, t in dates(20000, seed=1) if t[5:] == "02-29"]
    assert leap
    assert all(dt.date.fromisoformat(t) for t in leap)
    assert "1900-02-29" not in leap and "2100-02-29" not in leap


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_are_deterministic_by_seed(name):
    assert make_task(name, 50, seed=4) == make_task(name, 50, seed=4)
    assert make_task(name, 50, seed=4) != make_task(name, 50, seed=5)
    assert len(make_task(name, 50, seed=4)) == 50
    assert TASK_TOKENIZER[name] == "char"


def test_copy_and_reverse():
    for src, tgt in copy(100, seed=2, min_len=2, max_len=6, alphabet="xyz"):
        assert src == tgt and 2 <= len(src) <= 6 and set(src) <= set("xyz")
    for src, tgt in reverse(100, seed=2):
        assert tgt == src[::-1] and 3 <= len(src) <= 10 and set(src) <= set("abcdefghij")


def test_make_task_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="addition.*copy.*dates.*reverse"):
        make_task("sorting", 10)


def test_toy_translation_is_sov_with_suffixes():
    pairs = toy_translation(200, seed=0)
    assert pairs == toy_translation(200, seed=0)
    for src, tgt in pairs:
        en, ps = src.split(), tgt.split()
        assert en[-1] == ps[-1] == "."
        assert "ga" in ps and ps[-3] == "o"                      # subject ga, object o, verb last
        assert ps[-2].endswith(("u", "ta"))
        assert ("ta" == ps[-2][-2:]) == any(w in en for w in
                                            ("saw", "liked", "wanted", "found", "carried", "drew",
                                             "followed"))


def test_write_tsv_round_trip(tmp_path):
    pairs = toy_translation(20, seed=1) + [("나는 학생입니다.", "I am a student.")]
    path = write_tsv(pairs, tmp_path / "toy.tsv")
    assert load_pairs(path) == pairs
    with pytest.raises(ValueError, match="tab"):
        write_tsv([("a\tb", "c")], tmp_path / "bad.tsv")


# ============================================================================ loaders
def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_load_tsv(tmp_path):
    p = _write(tmp_path, "a.tsv", "Go.\t가.\tCC-BY attribution\n\n Hi. \t안녕. \r\nRun!\t뛰어!")
    assert load_tsv(p) == [("Go.", "가."), ("Hi.", "안녕."), ("Run!", "뛰어!")]
    assert detect_format(p) == "tsv"
    assert load_pairs(p) == load_tsv(p)
    p = _write(tmp_path, "bom.tsv", "\ufeffa\tb\n")
    assert load_tsv(p) == [("a", "b")]


@pytest.mark.parametrize("text, line, words", [
    ("a\tb\nno tab here\n", 2, "no tab"),
    ("a\tb\n\n\t b\n", 3, "source is empty"),
    ("a\tb\nc\t  \n", 2, "target is empty"),
])
def test_load_tsv_errors_name_file_and_line(tmp_path, text, line, words):
    p = _write(tmp_path, "bad.tsv", text)
    with pytest.raises(ValueError, match=words) as e:
        load_tsv(p)
    assert f"line {line}" in str(e.value) and "bad.tsv" in str(e.value)


def test_load_non_utf8_file(tmp_path):
    p = _write(tmp_path, "latin.tsv", "ok\tfine\ncafé\tcoffee\n", encoding="latin-1")
    with pytest.raises(ValueError, match="UTF-8") as e:
        load_pairs(p)
    assert "latin.tsv" in str(e.value) and "line 2" in str(e.value)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.txt"
    for fn in (load_tsv, load_book_qa, load_pairs, detect_format):
        with pytest.raises(FileNotFoundError, match="nope.txt"):
            fn(missing)


def test_load_book_qa(tmp_path):
    p = _write(tmp_path, "addition.txt",
               "16+75  _91  \n52+607 _659 \n\nseptember 27, 1994           _1994-09-27\n")
    assert load_book_qa(p) == [("16+75", "91"), ("52+607", "659"),
                               ("september 27, 1994", "1994-09-27")]
    assert detect_format(p) == "book"
    assert load_pairs(p) == load_book_qa(p)
    # Only the first "_" splits: the answer may contain more.
    p = _write(tmp_path, "u.txt", "a b _c_d \n")
    assert load_book_qa(p) == [("a b", "c_d")]


def test_load_book_qa_errors(tmp_path):
    p = _write(tmp_path, "b.txt", "1+1 _2\n2+2 4\n")
    with pytest.raises(ValueError, match="line 2") as e:
        load_book_qa(p)
    assert "b.txt" in str(e.value)
    p = _write(tmp_path, "c.txt", "1+1 _2\n2+2 _   \n")
    with pytest.raises(ValueError, match="line 2.*answer is empty"):
        load_book_qa(p)


def test_detect_format_errors(tmp_path):
    with pytest.raises(ValueError, match="format"):
        detect_format(_write(tmp_path, "plain.txt", "just words\n"))
    with pytest.raises(ValueError, match="empty"):
        detect_format(_write(tmp_path, "empty.txt", "\n\n"))
    with pytest.raises(ValueError, match="unknown data format"):
        load_pairs(_write(tmp_path, "x.tsv", "a\tb\n"), format="csv")


# ============================================================================ splits
def test_split_is_deterministic_and_disjoint():
    pairs = [(str(i), str(i)) for i in range(100)]
    train, val, test = split(pairs, val_size=10, test_size=5, seed=3)
    assert (len(train), len(val), len(test)) == (85, 10, 5)
    assert sorted(train + val + test) == sorted(pairs)                      # disjoint, complete
    assert (train, val, test) == split(pairs, val_size=10, test_size=5, seed=3)
    assert val != split(pairs, val_size=10, test_size=5, seed=4)[1]
    assert split(pairs, 10)[2] == []


def test_split_size_errors():
    pairs = [("a", "b")] * 10
    with pytest.raises(ValueError, match="no training"):
        split(pairs, val_size=6, test_size=4)
    with pytest.raises(ValueError, match="fractions"):
        split(pairs, val_size=0.1)
    with pytest.raises(ValueError):
        split(pairs, val_size=-1)


def test_book_split_matches_legacy_global_shuffle():
    pairs = [(str(i), str(i)) for i in range(50)]
    indices = np.arange(50)
    state = np.random.get_state()
    np.random.seed(1984)
    np.random.shuffle(indices)
    np.random.set_state(state)
    train, val = book_split(pairs)
    assert [int(s) for s, _ in train + val] == list(indices)
    assert len(val) == 5


def test_filter_by_length():
    pairs = [("ab", "x"), ("abcd", "xy"), ("a", "xyz")]
    assert filter_by_length(pairs, max_src_len=2) == [("ab", "x"), ("a", "xyz")]
    assert filter_by_length(pairs, max_tgt_len=2) == [("ab", "x"), ("abcd", "xy")]
    assert filter_by_length([("a b c", "x")], max_src_len=3, src_tokenizer="word") == \
        [("a b c", "x")]


# ============================================================================ encoding and batches
def _encoded(pairs):
    sv = Vocab.build(char_tokenize(s) for s, _ in pairs)
    tv = Vocab.build(char_tokenize(t) for _, t in pairs)
    return (sv, tv) + encode_pairs(pairs, sv, tv, "char", "char")


def test_encode_pairs_frames_only_the_target():
    sv, tv, src, tgt = _encoded([("16+75", "91"), ("1+1", "2")])
    assert sv.decode(src[0]) == list("16+75") and src[0].dtype == np.int64
    assert SOS not in src[0] and EOS not in src[0]
    assert tgt[0][0] == SOS and tgt[0][-1] == EOS and tv.decode(tgt[0]) == list("91")
    with pytest.raises(TypeError):   # reversal happens in one place, the model
        encode_pairs([("16+75", "91")], sv, tv, reverse_source=True)


def test_pad_batch():
    out = pad_batch([np.array([5, 6, 7]), [8]])
    assert out.dtype == np.int64 and out.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert pad_batch([[1]], pad_id=9).tolist() == [[1]]
    with pytest.raises(ValueError):
        pad_batch([])


def _lengths_task(n=1000, seed=0):
    """Sources of very different lengths, so padding matters."""
    rng = np.random.default_rng(seed)
    return [("a" * int(rng.integers(1, 40)), "b" * int(rng.integers(1, 5))) for _ in range(n)]


def test_batches_shapes_padding_and_framing():
    pairs = addition(250, seed=0)
    sv, tv, src, tgt = _encoded(pairs)
    it = BatchIterator(src, tgt, batch_size=32, seed=1)
    batches = list(it)
    assert len(it) == len(batches) == 8                        # 7 full + 1 partial, kept
    assert sorted(len(s) for s, _ in batches) == [26] + [32] * 7
    for s, t in batches:
        assert s.dtype == t.dtype == np.int64 and s.ndim == t.ndim == 2
        assert s.shape[0] == t.shape[0]
        assert (t[:, 0] == SOS).all()
        assert (s != PAD).any(axis=0).all() and (t != PAD).any(axis=0).all()   # no all-pad column
        for row in t:  # exactly one <eos>, followed only by padding
            end = int(np.flatnonzero(row == EOS)[0])
            assert (row[end + 1:] == PAD).all() and (row[1:end] > UNK).all()
        for row in s:  # real tokens first, then padding
            n_real = int((row != PAD).sum())
            assert (row[:n_real] > UNK).all()


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_example_once_per_epoch(bucket, shuffle):
    _, _, src, tgt = _encoded(_lengths_task(517))
    it = BatchIterator(src, tgt, batch_size=16, shuffle=shuffle, bucket=bucket, chunk_batches=4)
    for epoch in range(2):
        seen = np.concatenate(it.batch_indices(epoch))
        assert sorted(seen.tolist()) == list(range(517))
    # And the arrays served are those examples: total real tokens match.
    served = sum(int((s != PAD).sum()) for s, _ in it)
    assert served == sum(len(s) for s in src)


def test_bucketing_reduces_padding():
    _, _, src, tgt = _encoded(_lengths_task(2000))
    plain = BatchIterator(src, tgt, batch_size=32, bucket=False)
    bucketed = BatchIterator(src, tgt, batch_size=32, bucket=True)
    assert bucketed.padding_fraction() < 0.5 * plain.padding_fraction()
    # padding_fraction agrees with the arrays actually served.
    cells = real = 0
    for s, t in bucketed.epoch_batches(0):
        cells += s.size + t.size
        real += int((s != PAD).sum() + (t != PAD).sum())
    assert bucketed.padding_fraction(0) == pytest.approx(1 - real / cells)


def test_batch_order_is_deterministic_per_epoch():
    _, _, src, tgt = _encoded(_lengths_task(300))
    a = BatchIterator(src, tgt, batch_size=16, seed=5)
    b = BatchIterator(src, tgt, batch_size=16, seed=5)
    first_a, second_a = [x[0].tolist() for x in a], [x[0].tolist() for x in a]
    assert first_a != second_a                          # a new order each epoch ...
    b.set_epoch(1)
    assert [x[0].tolist() for x in b] == second_a       # ... that a resumed run reproduces
    assert [x[0].tolist() for x in b.epoch_batches(0)] == first_a
    # Resuming mid-epoch skips exactly the batches already done.
    assert [x[0].tolist() for x in b.epoch_batches(1, start=3)] == second_a[3:]
    c = BatchIterator(src, tgt, batch_size=16, seed=6)
    assert [x[0].tolist() for x in c] != first_a


def test_no_shuffle_keeps_data_order():
    _, _, src, tgt = _encoded(_lengths_task(50))
    it = BatchIterator(src, tgt, batch_size=8, shuffle=False, bucket=False)
    assert np.concatenate(it.batch_indices(0)).tolist() == list(range(50))
    assert np.concatenate(it.batch_indices(3)).tolist() == list(range(50))


def test_batch_iterator_argument_errors():
    _, _, src, tgt = _encoded(_lengths_task(10))
    with pytest.raises(ValueError):
        BatchIterator(src, tgt[:-1], batch_size=4)
    with pytest.raises(ValueError):
        BatchIterator(src, tgt, batch_size=0)
    with pytest.raises(ValueError):
        BatchIterator([], [], batch_size=4)


def test_word_level_pipeline_end_to_end(tmp_path):
    path = write_tsv(toy_translation(300, seed=2), tmp_path / "toy.tsv")
    train, val, _ = split(load_pairs(path), val_size=30, seed=0)
    sv = Vocab.build(word_tokenize(s) for s, _ in train)
    tv = Vocab.build(word_tokenize(t) for _, t in train)
    src, tgt = encode_pairs(val, sv, tv, "word", "word")
    for (s, t), ids in zip(val, tgt):
        assert detokenize(tv.decode(ids), "word") == t.replace(" .", ".")
    s, t = next(iter(BatchIterator(src, tgt, batch_size=8)))
    assert s.shape[0] == t.shape[0] == 8


def test_detokenize_glues_contractions():
    from minis2s.data import detokenize, word_tokenize
    for text in ["I'm a student.", "Don't go, Tom's dog!"]:
        assert detokenize(word_tokenize(text), "word") == text
