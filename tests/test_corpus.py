"""Corpus slicing: enwik8 (zip or file), a local file and the embedded corpus, with checksums."""

import json
import zipfile

import pytest

from testbeds.data import corpus
from testbeds.runio import sha256_file


@pytest.fixture
def fake_enwik8(tmp_path, monkeypatch):
    """An enwik8-format fixture: a zip with member 'enwik8' of the expected size (shrunk for the test)."""
    monkeypatch.setattr(corpus, "ENWIK8_BYTES", 5000)
    text = "<page><title>Ünïcode</title><text>'''Anarchism''' is a [[political philosophy]].</text></page>\n" * 60
    data = text.encode("utf-8")[:5000]
    path = tmp_path / "enwik8.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("enwik8", data)
    return path, data


def test_enwik8_zip_is_sliced_contiguously(tmp_path, fake_enwik8):
    path, data = fake_enwik8
    manifest = corpus.slice_corpus("enwik8", path, sha256_file(path), 3000, 0.1, 0.1, tmp_path / "out")
    text = data.decode("utf-8", errors="replace")[:3000]
    train = (tmp_path / "out" / "train.txt").read_text(encoding="utf-8")
    val = (tmp_path / "out" / "val.txt").read_text(encoding="utf-8")
    test = (tmp_path / "out" / "test.txt").read_text(encoding="utf-8")
    assert train + val + test == text and len(val) == len(test) == 300
    assert manifest["source"] == "enwik8" and manifest["source_sha256"] == sha256_file(path)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == manifest


def test_truncated_enwik8_is_rejected_naming_the_file(tmp_path, fake_enwik8):
    _, data = fake_enwik8
    short = tmp_path / "enwik8"
    short.write_bytes(data[:4000])
    with pytest.raises(corpus.DataError, match=f"{short}.*truncated"):
        corpus.slice_corpus("enwik8", short, None, 3000, 0.1, 0.1, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_wrong_checksum_is_rejected_naming_the_file(tmp_path, fake_enwik8):
    path, _ = fake_enwik8
    with pytest.raises(corpus.DataError, match=f"{path}.*SHA-256"):
        corpus.slice_corpus("enwik8", path, "0" * 64, 3000, 0.1, 0.1, tmp_path / "out")


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(corpus.DataError, match="no such file"):
        corpus.slice_corpus("file", tmp_path / "absent.txt", None, 3000, 0.1, 0.1, tmp_path / "out")


def test_local_text_file_and_embedded_corpus(tmp_path):
    text_file = tmp_path / "story.txt"
    text_file.write_text("Once upon a time there was a tiny model. " * 100, encoding="utf-8")
    manifest = corpus.slice_corpus("file", text_file, None, 2000, 0.25, 0.25, tmp_path / "file")
    assert (manifest["n_train_chars"], manifest["n_val_chars"], manifest["n_test_chars"]) == (1000, 500, 500)
    embedded = corpus.slice_corpus("embedded", None, None, 50_000, 0.1, 0.1, tmp_path / "embedded")
    assert embedded["source"] == "embedded" and "embedded" in embedded["label"]
    assert embedded["n_train_chars"] + embedded["n_val_chars"] + embedded["n_test_chars"] == 50_000
    again = corpus.slice_corpus("embedded", None, None, 50_000, 0.1, 0.1, tmp_path / "again")
    assert again["train_sha256"] == embedded["train_sha256"]  # deterministic


def test_download_verifies_checksum(tmp_path):
    source = tmp_path / "remote.bin"
    source.write_bytes(b"abc" * 100)
    good = corpus.download(source.as_uri(), tmp_path / "ok.bin", sha256_file(source))
    assert good == sha256_file(tmp_path / "ok.bin")
    with pytest.raises(corpus.DataError, match="SHA-256"):
        corpus.download(source.as_uri(), tmp_path / "bad.bin", "1" * 64)
    assert not (tmp_path / "bad.bin").exists() and not (tmp_path / "bad.bin.part").exists()


def test_byte_unit_counts_and_keeps_raw_bytes(tmp_path):
    """unit: byte slices raw bytes (a multibyte character is several units), stored one character per byte."""
    raw = ("Grüße aus Zürich — ✓ done.\n" * 200).encode("utf-8")
    source = tmp_path / "text.txt"
    source.write_bytes(raw)
    manifest = corpus.slice_corpus("file", source, None, 3000, 0.25, 0.25, tmp_path / "bytes", unit="byte")
    train, val, test = ((tmp_path / "bytes" / f"{s}.txt").read_text(encoding="utf-8") for s in ("train", "val", "test"))
    assert manifest["unit"] == "byte" and (train + val + test).encode("latin-1") == raw[:3000]
    assert manifest["vocab_size"] == len(set(raw[:3000])) and max(map(ord, train + val + test)) < 256
    chars = corpus.slice_corpus("file", source, None, 3000, 0.25, 0.25, tmp_path / "chars", unit="char")
    assert chars["unit"] == "char" and len(raw.decode()[:3000].encode()) > 3000  # characters, not bytes


def test_auto_unit_is_bytes_for_enwik8_only(tmp_path):
    source = tmp_path / "text.txt"
    source.write_text("plain text\n" * 300)
    assert corpus.slice_corpus("file", source, None, 2000, 0.1, 0.1, tmp_path / "a", unit="auto")["unit"] == "char"
    assert corpus.slice_corpus("embedded", None, None, 2000, 0.1, 0.1, tmp_path / "b", unit="auto")["unit"] == "char"


def test_the_test_split_is_a_contiguous_tail_disjoint_from_validation(tmp_path):
    """train | val | test in order, each recorded by checksum; the test text is nowhere in train or val."""
    out = tmp_path / "split"
    manifest = corpus.slice_corpus("embedded", None, None, 30_000, 0.1, 0.15, out)
    parts = {s: (out / f"{s}.txt").read_text(encoding="utf-8") for s in ("train", "val", "test")}
    text, _ = corpus.embedded_text()
    assert parts["train"] + parts["val"] + parts["test"] == text[:30_000]
    assert (len(parts["val"]), len(parts["test"])) == (3000, 4500)
    assert len({manifest[f"{s}_sha256"] for s in parts}) == 3
    assert all(manifest[f"{s}_sha256"] == sha256_file(out / f"{s}.txt") for s in parts)
    assert parts["test"][:200] not in parts["train"] + parts["val"]
    with pytest.raises(corpus.DataError, match="test_frac"):
        corpus.slice_corpus("embedded", None, None, 30_000, 0.5, 0.5, tmp_path / "too-much")
