"""Named corpora: the shipped files, their licences, name resolution and its errors."""
import configparser
import hashlib
from pathlib import Path

import pytest

from minis2s.data import book_split, detect_format, load_book_qa, load_pairs, load_tsv
from minis2s.data import corpora
from minis2s.data.corpora import SHIPPED, CorpusNotFound, resolve

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """No test sees the user's real cache folder."""
    monkeypatch.setenv("MINIS2S_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_file_is_the_original(name):
    c = SHIPPED[name]
    data = c.path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == c.sha256
    assert data.count(b"\n") == c.lines
    assert resolve(name) == c.path


def test_shipped_corpora_read_as_the_book_and_tatoeba_say():
    add = load_pairs("book-addition")
    assert len(add) == 50_000 and add[0] == ("16+75", "91")
    assert all(int(t) == sum(map(int, s.split("+"))) for s, t in add[:1000])
    train, val = book_split(add)
    assert (len(train), len(val)) == (45_000, 5_000)
    date = load_book_qa("book-date")
    assert date[0] == ("september 27, 1994", "1994-09-27") and len(date) == 50_000
    kor = load_tsv("tatoeba-kor-eng")
    assert len(kor) == 3_723 and kor[0] == ("Go.", "가.")
    assert detect_format("tatoeba-kor-eng") == "tsv" and detect_format("book-date") == "book"


def test_licences_sit_beside_the_files():
    folder = corpora.SHIPPED_DIR
    book = (folder / "LICENSE-book.txt").read_text()
    assert "MIT License" in book and "Copyright (c) 2018 Koki Saitoh" in book
    assert "book-addition.txt" in book and "book-date.txt" in book
    tatoeba = (folder / "LICENSE-tatoeba.txt").read_text()
    assert "CC-BY 2.0" in tatoeba and "tatoeba-kor-eng.tsv" in tatoeba
    readme = (folder / "README.md").read_text()
    for name, c in SHIPPED.items():
        assert f"`{name}`" in readme and c.file in readme
    # Every line of the Tatoeba file keeps its attribution.
    lines = SHIPPED["tatoeba-kor-eng"].path.read_text(encoding="utf-8").splitlines()
    assert all(line.split("\t")[2].startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #")
               for line in lines)


def test_package_data_ships_every_corpus_and_licence():
    """setup.cfg's package_data and MANIFEST.in name every file in the corpora folder."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["minis2s.data"].split(",")]
    manifest = (ROOT / "MANIFEST.in").read_text()
    for f in corpora.SHIPPED_DIR.iterdir():
        rel = f.relative_to(corpora.SHIPPED_DIR.parent)
        assert any(rel.match(p) for p in patterns), f"{rel} is not in setup.cfg's package_data"
        assert f"*{f.suffix}" in manifest, f"{f.name} is not in MANIFEST.in"


def test_shipped_corpora_stay_small():
    total = sum(f.stat().st_size for f in corpora.SHIPPED_DIR.iterdir())
    assert total < 4_000_000, f"the shipped corpora weigh {total:,} bytes"


def test_a_path_to_any_file_still_works(tmp_path):
    p = tmp_path / "mine.tsv"
    p.write_text("a b\tc d\n", encoding="utf-8")
    assert resolve(p) == p and resolve(str(p)) == p
    assert load_pairs(p) == [("a b", "c d")]


def test_an_existing_file_wins_over_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("book-date").write_text("x\ty\n", encoding="utf-8")
    assert load_pairs("book-date") == [("x", "y")]


def test_unknown_name_lists_the_names_and_suggests_the_nearest():
    with pytest.raises(CorpusNotFound) as e:
        load_pairs("book-dates")
    msg = str(e.value)
    assert "did you mean 'book-date'?" in msg
    for name in SHIPPED:
        assert name in msg
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, ValueError)
    with pytest.raises(CorpusNotFound, match="neither a file nor a corpus name[.] The corpus names"):
        resolve("zzzzzz")


def test_an_unfetched_tatoeba_pair_says_how_to_fetch_it():
    with pytest.raises(CorpusNotFound, match="minis2s data fetch fra-eng"):
        load_pairs("tatoeba-fra-eng")


def test_a_fetched_corpus_is_found_by_name(empty_cache):
    folder = empty_cache / "corpora"
    folder.mkdir(parents=True)
    (folder / "tatoeba-fra-eng.tsv").write_text("Go.\tVa !\tCC-BY\n", encoding="utf-8")
    (folder / "notes.tsv").write_text("x\ty\n", encoding="utf-8")     # not a corpus name
    assert "tatoeba-fra-eng" in corpora.names() and "notes" not in corpora.names()
    assert load_pairs("tatoeba-fra-eng") == [("Go.", "Va !")]


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIS2S_CACHE", str(tmp_path / "c"))
    assert corpora.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MINIS2S_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert corpora.cache_dir() == tmp_path / "x" / "minis2s"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert corpora.cache_dir() == tmp_path / "home" / ".cache" / "minis2s"


# ---------------------------------------------------------------------------- the command line
FAST = ["--fast", "--no-progress", "--train-size", "200", "--val-size", "20", "--epochs", "1"]


@pytest.mark.parametrize("name, tokens", [("tatoeba-kor-eng", "word tokens"), ("book-date", "char tokens")])
def test_train_by_name(name, tokens, tmp_path, monkeypatch, capsys):
    from minis2s.app.cli import main
    monkeypatch.chdir(tmp_path)                 # no ../shared, nothing but the package
    assert main(["train", "--data", name, *FAST]) == 0
    out = capsys.readouterr().out
    assert f"data: {name}," in out and f"200 training / 20 validation pairs, {tokens}" in out
    run = tmp_path / "runs" / f"{name}-peeky"
    assert (run / "checkpoint.npz").exists()
    # eval finds the same data again by the name recorded in the run's settings.
    assert main(["eval", "--checkpoint", str(run / "checkpoint.npz")]) == 0
    assert f"the validation split of {name} (20 pairs)" in capsys.readouterr().out


def test_train_with_an_unknown_name_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from minis2s.app.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "tatoeba-kor", *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("minis2s: error: data file not found: 'tatoeba-kor'")
    assert "did you mean 'tatoeba-kor-eng'?" in err and "\n" not in err
    assert not (tmp_path / "runs").exists()
