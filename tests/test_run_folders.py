"""Run folders (issue 21): a folder minis2s did not make is refused, naming what is there; a
deleted .lock does not let a second writer in; a failed first claim leaves nothing behind."""
import errno
import os
import subprocess
import sys
import textwrap
import time

import pytest

from minis2s.app import run_folder as RF
from minis2s.app.cli import main
from minis2s.app.run_folder import MARK_NAME, NotARunFolder, RunFolderBusy, claim_run_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--fast", "--no-progress", "--train-size", "200", "--val-size", "30", "--epochs", "1"]


def test_a_folder_of_the_users_own_files_is_refused_and_left_as_it_was(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    (mine / "history.json").write_text("[1, 2, 3]")
    assert main(["train", *FAST, "--out", str(mine)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"minis2s: error: --out {mine} is not a minis2s run folder: it holds "
                          "config.json, history.json") and err.count("\n") == 1
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "history.json"]   # no .lock
    assert (mine / "config.json").read_text() == '{"my": "settings"}'
    with pytest.raises(NotARunFolder, match="history.json"):        # the API: the same rule
        with claim_run_folder(mine):
            pass
    file = tmp_path / "a-file"
    file.write_text("x")
    assert main(["train", *FAST, "--out", str(file)]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


def test_new_empty_marked_and_older_run_folders_are_accepted(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for name in ("new", "empty"):
        assert main(["train", *FAST, "--out", str(tmp_path / name)]) == 0
        assert (tmp_path / name / MARK_NAME).is_file()
    older = tmp_path / "older"                      # a run folder made before the mark existed
    (tmp_path / "new").rename(older)
    (older / MARK_NAME).unlink()
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(older)]) == 0
    assert (older / MARK_NAME).is_file()


HOLDER = textwrap.dedent('''
    import sys, time
    from minis2s.app.run_folder import claim_run_folder
    with claim_run_folder(sys.argv[1], "minis2s train --out " + sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(120)
''')


def test_deleting_the_lock_file_does_not_let_a_second_writer_in(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        (out / ".lock").unlink()                      # a stray `rm .lock` under a live writer
        with pytest.raises(RunFolderBusy, match=f"pid {holder.pid}.*lock file .lock was deleted"):
            with claim_run_folder(out, "second"):
                pass
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    with claim_run_folder(out, "after the writer died"):  # its owner file names a dead process
        pass


def test_an_owner_file_of_a_dead_or_reused_pid_is_not_a_live_writer(tmp_path):
    out = tmp_path / "run"
    with claim_run_folder(out):
        pass
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    import json
    import socket
    for pid, start in ((int(dead), None), (os.getppid(), -1)):   # gone; alive but started otherwise
        (out / RF.OWNER_NAME).write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                                                      "process_start": start}))
        assert not RF._live_owner(out), pid
    (out / RF.OWNER_NAME).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(),
                                                  "process_start": RF._process_start(os.getppid())}))
    assert RF._live_owner(out)                         # the control: a live one is seen


def test_a_failed_first_claim_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    def disk_full(path, write):
        raise OSError(errno.ENOSPC, f"cannot write {path}: No space left on device")
    monkeypatch.setattr(RF, "atomic_write_bytes", disk_full)
    out = tmp_path / "new" / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists()
    existing = tmp_path / "existing"                   # a folder that was there stays, as it was
    existing.mkdir()
    with pytest.raises(OSError):
        with claim_run_folder(existing):
            pass
    assert existing.is_dir() and not [p for p in existing.iterdir() if p.name != ".lock"]
