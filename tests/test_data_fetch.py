"""`minis2s data fetch` against a local HTTP server on 127.0.0.1 (no real network).

The server serves a small fixture zip laid out as the source's files are
(``xxx-eng.zip`` holding ``xxx.txt`` and ``_about.txt``), a 404, a download cut
short (the connection closes before Content-Length bytes) and a non-zip.
"""
import hashlib
import http.server
import io
import json
import threading
import zipfile

import pytest

from minis2s.app.cli import main
from minis2s.data import load_pairs
from minis2s.data.corpora import fetched_corpora
from minis2s.app import fetch as fetch_module
from minis2s.app.fetch import FetchError, fetch, parse_pair

LINES = ("Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)\n"
         "Hi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM) & #509819 (Aiji)\n")


def _zip(code: str, text: str = LINES) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{code}.txt", text)
        z.writestr("_about.txt", "Tatoeba sentence pairs, CC-BY 2.0 FR\n")
    return buf.getvalue()


FILES = {"/fra-eng.zip": _zip("fra"), "/deu-eng.zip": _zip("deu"), "/nld-eng.zip": b"<html>no</html>"}
CUT = "/ita-eng.zip"                  # announces the whole zip, sends a third of it, hangs up


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == CUT:
            body = _zip("ita")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        body = FILES.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):      # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIS2S_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _leftovers(cache):
    folder = cache / "corpora"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_writes_the_corpus_and_records_its_checksum(server, cache):
    log = []
    path = fetch("fra-eng", base_url=server, progress=False, log=log.append)
    assert path == cache / "corpora" / "tatoeba-fra-eng.tsv"
    assert load_pairs("tatoeba-fra-eng") == [("Go.", "Va !"), ("Hi.", "Salut !")]
    assert path.read_text(encoding="utf-8") == LINES                  # unchanged, attribution kept
    assert "CC-BY" in (cache / "corpora" / "tatoeba-fra-eng.about.txt").read_text()
    digest = hashlib.sha256(FILES["/fra-eng.zip"]).hexdigest()
    assert json.loads((cache / "checksums.json").read_text()) == {"fra-eng.zip": digest}
    assert any("no checksum was known" in line and digest in line for line in log)
    assert _leftovers(cache) == ["tatoeba-fra-eng.about.txt", "tatoeba-fra-eng.tsv"]   # no temp files
    assert "tatoeba-fra-eng" in fetched_corpora()
    # A second fetch does nothing; --force downloads again and checks the recorded checksum.
    log.clear()
    fetch("fra", base_url=server, progress=False, log=log.append)
    assert "in the cache already" in log[0]
    log.clear()
    fetch("tatoeba-fra-eng", base_url=server, force=True, progress=False, log=log.append)
    assert any("checksum ok" in line and "recorded" in line for line in log)


def test_a_known_checksum_that_differs_keeps_nothing(server, cache, monkeypatch):
    monkeypatch.setitem(fetch_module.KNOWN_SHA256, "deu-eng.zip", "0" * 64)
    with pytest.raises(FetchError, match="bad checksum") as e:
        fetch("deu-eng", base_url=server, progress=False, log=lambda line: None)
    actual = hashlib.sha256(FILES["/deu-eng.zip"]).hexdigest()
    assert actual in str(e.value) and "0" * 64 in str(e.value) and "known to minis2s" in str(e.value)
    assert f"--sha256 {actual}" in str(e.value)          # how to accept it
    assert _leftovers(cache) == [] and not (cache / "checksums.json").exists()
    # The digest given with --sha256 wins over the known one.
    fetch("deu-eng", base_url=server, sha256=actual, progress=False, log=lambda line: None)
    assert load_pairs("tatoeba-deu-eng")[0] == ("Go.", "Va !")


def test_a_recorded_checksum_is_checked_on_the_next_fetch(server, cache):
    fetch("fra-eng", base_url=server, progress=False, log=lambda line: None)
    (cache / "checksums.json").write_text(json.dumps({"fra-eng.zip": "f" * 64}))
    before = (cache / "corpora" / "tatoeba-fra-eng.tsv").read_bytes()
    with pytest.raises(FetchError, match="recorded at its first fetch"):
        fetch("fra-eng", base_url=server, force=True, progress=False, log=lambda line: None)
    # The corpus already there is untouched, and no temporary file is left.
    assert (cache / "corpora" / "tatoeba-fra-eng.tsv").read_bytes() == before
    assert _leftovers(cache) == ["tatoeba-fra-eng.about.txt", "tatoeba-fra-eng.tsv"]


def test_404_says_there_is_no_such_pair(server, cache):
    with pytest.raises(FetchError, match="HTTP 404.*no such file") as e:
        fetch("xyz-eng", base_url=server, progress=False, log=lambda line: None)
    assert "xyz-eng.zip" in str(e.value)
    assert _leftovers(cache) == []


def test_an_interrupted_download_leaves_no_partial_file(server, cache):
    with pytest.raises(FetchError, match="stopped after .* bytes|interrupted"):
        fetch("ita-eng", base_url=server, progress=False, log=lambda line: None)
    assert _leftovers(cache) == []
    assert not (cache / "checksums.json").exists()


def test_something_other_than_a_zip_is_refused(server, cache):
    with pytest.raises(FetchError, match="not a zip file"):
        fetch("nld-eng", base_url=server, progress=False, log=lambda line: None)
    assert _leftovers(cache) == []


def test_no_network_is_a_clear_error(cache):
    # Port 9 on the loopback address: nothing listens there, so the connection is refused.
    with pytest.raises(FetchError, match="could not reach 127.0.0.1:9 .*needs the internet"):
        fetch("fra-eng", base_url="http://127.0.0.1:9/", progress=False, log=lambda line: None)
    assert _leftovers(cache) == []


@pytest.mark.parametrize("text", ["english", "fr-eng", "eng", "fra-deu", ""])
def test_bad_pair_names(text):
    with pytest.raises(FetchError, match="expected a language paired with English"):
        parse_pair(text)


def test_pair_spellings():
    assert {parse_pair(t) for t in ("fra-eng", "fra", "tatoeba-fra-eng", "eng-fra", " FRA-ENG ")} == {"fra"}


def test_the_command(server, cache, monkeypatch, capsys):
    monkeypatch.setenv("MINIS2S_TATOEBA_URL", server)
    assert main(["data", "fetch", "fra-eng", "--no-progress"]) == 0
    assert "fetched tatoeba-fra-eng: 2 sentence pairs" in capsys.readouterr().out
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    for name in ("tatoeba-kor-eng", "book-addition", "book-date", "tatoeba-fra-eng", "fetchable"):
        assert name in out
    assert main(["data", "fetch", "xyz-eng", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("minis2s: error: ") and "HTTP 404" in err and "\n" not in err
    assert main(["data", "fetch", "kor-eng"]) == 0                  # shipped: nothing to fetch
    assert "ships with minis2s" in capsys.readouterr().out
