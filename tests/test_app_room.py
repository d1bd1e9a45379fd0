"""The application has its own room: the teaching core never imports minis2s.app, and only the
command line changes process-wide settings (glibc's malloc, the BLAS threads)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Every module of the teaching core a student reads (each package and its submodules).
CORE = ["minis2s", "minis2s.functional", "minis2s.layers", "minis2s.models", "minis2s.optim",
        "minis2s.data", "minis2s.metrics", "minis2s.backend", "minis2s.init", "minis2s.gradcheck",
        "minis2s.teacher_forcing", "minis2s.exercises", "minis2s.errors", "minis2s.validate",
        "minis2s.torch_export"]

CHECK = """
import importlib, pkgutil, sys
names = sys.argv[1:]
for name in names:
    module = importlib.import_module(name)
    subpackages = getattr(module, "__path__", []) if name != "minis2s" else []   # not the app
    for info in pkgutil.walk_packages(subpackages, name + "."):
        importlib.import_module(info.name)          # every submodule of a core package too
app = sorted(m for m in sys.modules if m == "minis2s.app" or m.startswith("minis2s.app."))
print(" ".join(app) or "none")
"""


def app_modules_imported_by(modules) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", CHECK, *modules], capture_output=True, text=True,
                         cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_teaching_core_imports_nothing_from_the_application():
    assert app_modules_imported_by(CORE) == "none"


def test_the_check_sees_a_core_module_that_imports_the_application():
    """The check above can fail: a core module importing the trainer would show up."""
    found = app_modules_imported_by([*CORE, "minis2s.app.trainer"])
    assert "minis2s.app.trainer" in found.split()


TRAIN = """
import sys
from threadpoolctl import threadpool_info
sys.path.insert(0, sys.argv[1])
from conftest import addition_data
from minis2s.data import BatchIterator
from minis2s.models import Seq2Seq
from minis2s.optim import Adam
from minis2s.app import Trainer
from minis2s.app import memory

def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

(src, tgt), val, sv, tv = addition_data(80, 20)
model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8, seed=0)
before = blas()
Trainer(model, Adam(model.params, lr=0.01), BatchIterator(src, tgt, 40, seed=0), val, sv, tv,
        progress=False, log=lambda *a: None).fit(1)
print(before == blas(), memory.keep_freed_memory.cache_info().misses)
"""


def test_the_trainer_changes_no_process_wide_setting():
    """Trainer.fit neither sets glibc's malloc thresholds (keep_freed_memory is never called)
    nor the BLAS threads: a notebook that trains keeps its process as it was."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", TRAIN, str(ROOT / "tests")], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "0"], out.stdout


def test_the_command_line_sets_the_process_wide_settings(monkeypatch):
    """main() does: the malloc setting once, and the BLAS threads around the command."""
    from minis2s.app import cli
    seen = {}
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: seen.setdefault("malloc", True))
    monkeypatch.setattr(cli, "blas_threads", lambda n: seen.setdefault("threads", n) and _null())
    monkeypatch.setattr(cli.gradcheck, "run", lambda args, command: 0)
    assert cli.main(["gradcheck"]) == 0
    assert seen == {"malloc": True, "threads": 1}


def _null():
    import contextlib
    return contextlib.nullcontext()
