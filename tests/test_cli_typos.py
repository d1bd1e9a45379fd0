"""Option typos are answered by the subcommand, with the nearest option."""
import pytest

from minis2s.app.cli import main


def _error(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


def test_a_misspelt_option_gets_the_nearest_one(capsys):
    err = _error(["train", "--epcohs", "3"], capsys)
    assert "minis2s train: error: unrecognized argument: --epcohs (did you mean --epochs?)" in err
    assert err.startswith("usage: minis2s train")          # the subcommand's usage, not the top's
    assert "'3'" not in err                                 # the typo's value is not another error


def test_each_typo_is_named_and_an_equals_value_too(capsys):
    err = _error(["train", "--hiden=64", "--bacth-size", "32", "--fast"], capsys)
    assert ("unrecognized arguments: --hiden (did you mean --hidden?), "
            "--bacth-size (did you mean --batch-size?)") in err


def test_other_subcommands_and_no_close_option(capsys):
    err = _error(["eval", "--checkpoint", "x.npz", "--bem", "3"], capsys)
    assert "minis2s eval: error: unrecognized argument: --bem (did you mean --beam?)" in err
    err = _error(["data", "fetch", "fra-eng", "--sha265", "00"], capsys)
    assert "minis2s data fetch: error: unrecognized argument: --sha265 (did you mean --sha256?)" in err
    err = _error(["train", "--zzzzzz"], capsys)
    assert "unrecognized argument: --zzzzzz\n" in err
    err = _error(["train", "stray"], capsys)
    assert "unrecognized argument: 'stray'" in err
