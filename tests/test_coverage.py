"""Inputs unlike the training sources: minis2s.data.coverage and translate's warning."""
import pytest

from minis2s.app.cli import main
from minis2s.data import make_task, split
from minis2s.data.coverage import MIN_SEEN, SourceProfile, shape


@pytest.fixture(scope="module")
def dates_profile():
    train, _, _ = split(make_task("dates", 20000, seed=0), 1000, seed=0)
    return SourceProfile(s for s, _ in train)


def test_shape():
    assert shape("9/27/1994") == "9/99/9999" and shape("Sep 27, 1994") == "aaa 99, 9999"


def test_dates_of_the_tasks_own_formats_pass(dates_profile):
    for text in ("September 27, 1994", "9/27/1994", "12/27/1994", "TUESDAY, SEPTEMBER 27, 1994",
                 "27.09.1994", "19940927"):
        assert dates_profile.reasons(text) == [], text


def test_a_day_first_slash_date_is_caught_by_its_characters_not_its_form(dates_profile):
    # "27/09/1994" has the form of December 27 written month first ("12/27/1994") ...
    assert shape("27/09/1994") in dates_profile.by_shape
    # ... but no month-first date starts with a 2.
    why = dates_profile.reasons("27/09/1994")
    n = dates_profile.count["99/99/9999"]
    assert n >= MIN_SEEN
    assert why[0] == (f"none of the {n:,} training sources of its form '99/99/9999' has '2' as "
                      "character 1 (they have '1' there)")


def test_other_reasons(dates_profile):
    assert "no training source has its form '9999-99-99'" in dates_profile.reasons("1994-09-27")[0]
    assert "has '1' as character 6" in dates_profile.reasons("1/1/2150")[0]    # years end at 2099
    long = "x" * (dates_profile.longest + 1)
    assert dates_profile.reasons(long) == [f"it is {len(long)} characters long, the longest "
                                           f"training source {dates_profile.longest}"]
    assert dates_profile.reasons("") == []


def test_a_rare_form_is_not_judged_by_its_characters():
    # 81 sums of the form 9+9, none with a 0 in front: too few to call "0+5" unseen.
    sums = [f"{a}+{b}" for a in range(1, 10) for b in range(1, 10)]
    assert SourceProfile(sums).reasons("0+5") == []
    assert "has '0' as character 1" in SourceProfile(sums * 2).reasons("0+5")[0]


def test_words_get_the_length_check_only():
    p = SourceProfile(["the cat sat", "a dog"], "word")
    assert p.reasons("the zebra sat") == []
    assert p.reasons("the cat sat on the mat") == ["it is 6 words long, the longest training source 3"]


def test_translate_warns_about_a_day_first_date(tmp_path, capsys):
    out = tmp_path / "dates"
    assert main(["train", "--task", "dates", "--fast", "--train-size", "10000", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    ckpt = str(out / "checkpoint.npz")
    assert main(["translate", "--checkpoint", ckpt, "September 27, 1994", "27/09/1994"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("minis2s: warning: input 2 ('27/09/1994') is outside what the model "
                             "was trained on: none of the ")
    assert "training sources of its form '99/99/9999' has '2' as character 1" in err[0]
