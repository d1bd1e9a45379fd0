"""``minis2s data fetch``: download another Tatoeba language pair into the cache folder.

The source is the one the shipped ``tatoeba-kor-eng`` file comes in: the
sentence-pair files that manythings.org publishes from Tatoeba,
``https://www.manythings.org/anki/<code>-eng.zip``, one zip per language paired
with English, holding ``<code>.txt`` (``English<TAB>other<TAB>attribution``
lines, CC-BY 2.0 FR) and ``_about.txt``. ``fetch("fra-eng")`` downloads
``fra-eng.zip`` and leaves, in ``<cache>/corpora/`` (``$MINIS2S_CACHE`` or
``~/.cache/minis2s``, see :func:`minis2s.data.corpora.cache_dir`)::

    tatoeba-fra-eng.tsv          the pairs: --data tatoeba-fra-eng, load_pairs("tatoeba-fra-eng")
    tatoeba-fra-eng.about.txt    the zip's _about.txt (source, licence, attribution)
    checksums.json               (in <cache>/) the sha256 of every zip fetched

What it guarantees:

* **a checksum**: the zip's sha256 is compared with the one given (``--sha256``),
  else the one in :data:`KNOWN_SHA256`, else the one recorded at the first fetch of
  that file; a file with none of these is recorded on this first fetch, and the
  command says so. A mismatch writes nothing and names both digests.
* **atomic writes**: the download goes to a temporary file in the same folder and
  only a complete, checked file is renamed into place, so an interrupted
  download (Ctrl-C, a dropped connection) leaves no partial file behind.
* **clear errors** (:class:`FetchError`, which the command prints in one line):
  no network, HTTP errors (404: no such pair), a short download, a bad checksum,
  a zip without the expected file.

``MINIS2S_TATOEBA_URL`` replaces the source's base URL (a mirror; the tests
point it at a server on 127.0.0.1).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from .. import __version__
from ..data.corpora import SHIPPED, cache_dir, fetched_corpora, tatoeba_name
from ..data.loaders import load_tsv

__all__ = ["fetch", "FetchError", "parse_pair", "source_url", "TATOEBA_URL", "KNOWN_SHA256",
           "EXAMPLE_CODES", "checksums_path", "recorded_checksums"]

TATOEBA_URL = "https://www.manythings.org/anki/"
URL_ENV = "MINIS2S_TATOEBA_URL"
# sha256 of source files known in advance (file name -> hex digest). Empty on purpose: the
# files are rebuilt upstream as Tatoeba grows, and none could be downloaded when this was
# written, so none is pinned; each is recorded at its first fetch instead (checksums.json).
KNOWN_SHA256: dict[str, str] = {}
# A few of the languages published there, for `minis2s data` (any other 3-letter code is tried too;
# the full list is the page at TATOEBA_URL).
EXAMPLE_CODES = ("deu", "fra", "spa", "ita", "por", "nld", "rus", "tur", "jpn", "cmn", "heb", "ara")
CHUNK = 1 << 16
TIMEOUT_S = 30


class FetchError(OSError):
    """A fetch that failed: no network, an HTTP error, a short download, a bad checksum."""


def parse_pair(text: str) -> str:
    """The language code of a pair: ``"fra-eng"``, ``"fra"``, ``"tatoeba-fra-eng"`` -> ``"fra"``."""
    t = text.strip().lower()
    m = re.fullmatch(r"(?:tatoeba-)?([a-z]{3})(?:-eng)?", t) or re.fullmatch(r"eng-([a-z]{3})", t)
    if not m or m.group(1) == "eng":
        raise FetchError(f"pair {text!r}: expected a language paired with English, written with "
                         f"its 3-letter code as the source names its files, e.g. 'fra-eng' or "
                         f"'deu-eng' (the list: {TATOEBA_URL})")
    return m.group(1)


def source_url(code: str, base_url: str | None = None) -> str:
    base = base_url or os.environ.get(URL_ENV) or TATOEBA_URL
    return base.rstrip("/") + f"/{code}-eng.zip"


def checksums_path() -> Path:
    return cache_dir() / "checksums.json"


def recorded_checksums() -> dict[str, str]:
    """The sha256 recorded at each file's first fetch (file name -> hex digest)."""
    path = checksums_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise FetchError(f"{path} is damaged ({e}): delete it to record the checksums afresh") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(url: str, into: Path, progress: bool) -> str:
    """Stream ``url`` into the file ``into``; returns its sha256. Raises FetchError."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": f"minis2s/{__version__} (Python urllib)"})
    host = urllib.parse.urlsplit(url).netloc
    digest = hashlib.sha256()
    got = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            with open(into, "wb") as f, tqdm(total=total, unit="B", unit_scale=True,
                                              desc=Path(url).name, disable=not progress) as bar:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            if total is not None and got != total:
                raise FetchError(f"{url}: the download stopped after {got:,} of {total:,} bytes; "
                                 "nothing was kept: run the command again")
    except urllib.error.HTTPError as e:
        hint = (f": there is no such file (is the language code right? the pairs are listed at "
                f"{TATOEBA_URL})" if e.code == 404 else "")
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}{hint}") from None
    except urllib.error.URLError as e:
        raise FetchError(f"could not reach {host} ({e.reason}): `minis2s data fetch` needs the "
                         f"internet. Without it, download {url} on another machine, unzip it and "
                         "pass its .txt file with --data PATH") from None
    except (http.client.HTTPException, TimeoutError, ConnectionError) as e:
        raise FetchError(f"{url}: the download was interrupted after {got:,} bytes "
                         f"({type(e).__name__}: {e}); nothing was kept: run the command again") from None
    return digest.hexdigest()


def fetch(pair: str, *, base_url: str | None = None, sha256: str | None = None,
          force: bool = False, progress: bool = True, log=print) -> Path:
    """Download the Tatoeba pair ``pair`` (``"fra-eng"``) into the cache; returns the .tsv's path.

    ``sha256``: the digest the zip must have (overrides a known or recorded one).
    ``force``: download again even if the corpus is in the cache already.
    """
    code = parse_pair(pair)
    name = tatoeba_name(code)
    if name in SHIPPED:
        log(f"{name} ships with minis2s ({SHIPPED[name].path}): nothing to fetch; use --data {name}")
        return SHIPPED[name].path
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256.strip()):
        raise FetchError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
    folder = cache_dir() / "corpora"
    target = folder / f"{name}.tsv"
    if target.exists() and not force:
        log(f"{name} is in the cache already: {target} (--force downloads it again)")
        return target
    url = source_url(code, base_url)
    zip_name = f"{code}-eng.zip"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FetchError(f"cannot create the cache folder {folder} ({e.strerror}): set "
                         "MINIS2S_CACHE to a folder you can write") from None
    recorded = recorded_checksums()
    expected, why = ((sha256.strip().lower(), "given with --sha256") if sha256 else
                     (KNOWN_SHA256[zip_name], "known to minis2s") if zip_name in KNOWN_SHA256 else
                     (recorded[zip_name], f"recorded at its first fetch in {checksums_path()}")
                     if zip_name in recorded else (None, None))
    log(f"fetching {url} into {folder}")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{zip_name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp)
    try:
        digest = _download(url, tmp, progress)
        if expected is not None and digest != expected:
            raise FetchError(
                f"{zip_name}: bad checksum: its sha256 is {digest}, expected {expected} ({why}). "
                "The download is damaged, or the file has changed at the source; nothing was "
                f"kept. If you trust the new file: minis2s data fetch {code}-eng --sha256 {digest}")
        pairs_text, about = _unzip(tmp, code, zip_name)
        _atomic_write(target, pairs_text)
        try:
            count = len(load_tsv(target))
        except ValueError as e:
            target.unlink(missing_ok=True)
            raise FetchError(f"{zip_name}: its {code}.txt is not a sentence-pair file: {e}") from None
        if about is not None:
            _atomic_write(folder / f"{name}.about.txt", about)
    finally:
        tmp.unlink(missing_ok=True)
    if recorded.get(zip_name) != digest:
        if expected is None:
            log(f"no checksum was known for {zip_name}: recorded its sha256 {digest} on this first "
                f"fetch in {checksums_path()}; later fetches are checked against it")
        _atomic_write(checksums_path(), json.dumps({**recorded, zip_name: digest}, indent=1,
                                                   sort_keys=True).encode("utf-8"))
    elif expected is not None:
        log(f"checksum ok: sha256 {digest} ({why})")
    log(f"fetched {name}: {count:,} sentence pairs in {target}; train with --data {name} "
        f"(licence and attribution: {folder / (name + '.about.txt')})")
    return target


def _unzip(path: Path, code: str, zip_name: str) -> tuple[bytes, bytes | None]:
    """The pairs file (``<code>.txt``) and ``_about.txt`` of a downloaded zip."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if f"{code}.txt" not in names:
                raise FetchError(f"{zip_name} holds no {code}.txt (it holds {names})")
            about = z.read("_about.txt") if "_about.txt" in names else None
            return z.read(f"{code}.txt"), about
    except zipfile.BadZipFile as e:
        raise FetchError(f"{zip_name} is not a zip file ({e}): the source answered with "
                         "something else; nothing was kept") from None


def listing() -> list[str]:
    """The lines `minis2s data` prints: what is shipped, what is fetched, what can be fetched."""
    lines = ["shipped with minis2s (--data NAME):"]
    width = max(len(n) for n in SHIPPED) + 2
    for c in SHIPPED.values():
        lines.append(f"  {c.name:<{width}}{c.lines:>7,} lines  {c.about}")
        lines.append(f"  {'':<{width}}{'':>7}        {c.source}")
    fetched = fetched_corpora()
    lines.append(f"fetched into {cache_dir() / 'corpora'}:" + ("" if fetched else " none yet"))
    for name, path in fetched.items():
        lines.append(f"  {name:<{width}}{path}")
    examples = ", ".join(f"{c}-eng" for c in EXAMPLE_CODES)
    lines.append(f"fetchable: other Tatoeba pairs with English from {TATOEBA_URL} (CC-BY 2.0 FR), "
                 f"e.g. {examples}: `minis2s data fetch fra-eng`, then --data tatoeba-fra-eng")
    return lines
