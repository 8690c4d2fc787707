"""pipeline.files: atomic writes (content, mode, no leftovers, failure keeps the old file)
and streaming sha256; and the modules built on it (outputs' JSON, read's source digest)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest

from pipeline import files, outputs
from pipeline.read import file_sha256

# sha256 test vectors (FIPS 180-2): "abc" and the empty message.
SHA_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_write_bytes_atomic_writes_and_leaves_only_the_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    files.write_bytes_atomic(target, b"new\r\n\x00")
    assert target.read_bytes() == b"new\r\n\x00"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_write_text_atomic_is_utf8_with_the_line_ends_given(tmp_path):
    target = tmp_path / "t.json"
    files.write_text_atomic(target, "Åker\nBete\n")
    assert target.read_bytes() == b"\xc3\x85ker\nBete\n"  # no \r\n, even on Windows


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_mode_follows_the_umask_not_mkstemps_0600(tmp_path, mask, mode):
    target = tmp_path / "m.txt"
    with umask(mask):
        files.write_bytes_atomic(target, b"x")
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")
    seen = []

    def refuse(src: Path, dst: Path) -> None:
        seen.append(Path(src))
        assert Path(src).read_bytes() == b"new"  # complete before the rename
        raise PermissionError(13, "in use", str(dst))

    with pytest.raises(PermissionError):
        files.write_bytes_atomic(target, b"new", replace=refuse)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".keep.txt.")
    assert seen[0].name.endswith(".tmp")


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        files.write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_temporary_names_are_hidden_once():
    assert files.temp_path(Path("/x/a.json")).name.startswith(".a.json.")
    hidden = files.temp_path(Path("/x/.opjord-manifest.json"))
    # outputs.recover removes leftovers by this pattern
    assert hidden.name.startswith(f"{outputs.MANIFEST}.") and hidden.name.endswith(".tmp")
    assert files.temp_path(Path("/x/a.gpkg"), ".tmp.gpkg").suffix == ".gpkg"


def test_replacing_renames_on_success(tmp_path):
    target = tmp_path / "b.gpkg"
    target.write_bytes(b"old")
    with files.replacing(target) as tmp:
        assert not tmp.exists() and tmp.suffix == ".gpkg" and tmp.parent == tmp_path
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["b.gpkg"]


def test_replacing_removes_the_temporary_and_sqlite_side_files_on_failure(tmp_path):
    target = tmp_path / "b.gpkg"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), files.replacing(target) as tmp:
        for name in (tmp.name, f"{tmp.name}-wal", f"{tmp.name}-shm", f"{tmp.name}-journal"):
            (tmp_path / name).write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.gpkg"]


def test_sha256_of_known_messages_and_across_chunks(tmp_path, monkeypatch):
    (tmp_path / "abc").write_bytes(b"abc")
    (tmp_path / "empty").write_bytes(b"")
    assert files.sha256_file(tmp_path / "abc") == SHA_ABC
    assert files.sha256_file(tmp_path / "empty") == SHA_EMPTY
    monkeypatch.setattr(files, "CHUNK", 2)  # "abc" in two reads: "ab", "c"
    assert files.sha256_file(tmp_path / "abc") == SHA_ABC
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "bc").write_bytes(b"bc")
    assert files.sha256_files([tmp_path / "a", tmp_path / "empty", tmp_path / "bc"]) == SHA_ABC


def test_file_sha256_hashes_shapefile_parts_and_geodatabase_files_in_order(tmp_path):
    shp = tmp_path / "op.shp"
    # written out of order, one part (.prj) missing, an unrelated .qix ignored
    for ext, data in ((".cpg", b""), (".dbf", b"c"), (".qix", b"zzz"), (".shx", b"b"),
                      (".shp", b"a")):
        shp.with_suffix(ext).write_bytes(data)
    assert file_sha256(shp) == SHA_ABC  # .shp .shx .dbf .prj .cpg: "a" + "b" + "c"
    gdb = tmp_path / "op.gdb"
    (gdb / "sub").mkdir(parents=True)
    (gdb / "b").write_bytes(b"b")
    (gdb / "a").write_bytes(b"a")
    (gdb / "sub" / "c").write_bytes(b"c")
    assert file_sha256(gdb) == SHA_ABC  # name order: a, b, sub/c


def test_outputs_json_still_reports_a_file_held_open(tmp_path, monkeypatch):
    """outputs writes through the shared helper but keeps its HeldOpen retries."""
    path = tmp_path / outputs.MANIFEST
    path.write_text("{}", encoding="utf-8")
    tries = []

    def held(src, dst):
        tries.append(dst)
        raise PermissionError(13, "used by another process", str(dst))

    monkeypatch.setattr(outputs.os, "replace", held)
    monkeypatch.setattr(outputs.time, "sleep", lambda s: None)
    with pytest.raises(outputs.HeldOpen) as err:
        outputs._write_json_atomic(path, {"a": "Å"})
    assert err.value.path == path and len(tries) == len(outputs._RETRIES) + 1
    assert path.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == [outputs.MANIFEST]
    monkeypatch.undo()
    outputs._write_json_atomic(path, {"a": "Å"})
    assert path.read_bytes() == '{\n  "a": "Å"\n}\n'.encode()


# ---------------------------------------------------------------------------- digest cache


def _aged(path, seconds=10):
    """Set the file's modification time `seconds` into the past (older than RACY_NS)."""
    import time

    t = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(t, t))


def test_digest_cache_gives_the_real_sha256_until_a_file_changes(tmp_path):
    import hashlib
    import time

    from pipeline.files import (
        cached_digest,
        digest_entry,
        file_stamp,
        load_digest_cache,
        sha256_parts,
        write_digest_cache,
    )

    f = tmp_path / "blocks.gpkg"
    f.write_bytes(b"abc" * 1000)
    _aged(f)
    stamps, at = [file_stamp(f)], time.time_ns()
    entry = digest_entry([f], stamps, *sha256_parts([f]), at)
    real = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert entry["sha256"] == real
    stage = tmp_path / "stage"
    stage.mkdir()
    write_digest_cache(stage, {str(f): entry})
    cache = load_digest_cache(stage)
    assert cached_digest(cache[str(f)], [f]) == (real, {f: real})
    # Same size, new content and modification time: hashed again.
    f.write_bytes(b"abd" * 1000)
    assert cached_digest(cache[str(f)], [f]) is None
    # Another file with the same bytes and modification time put in its place: a new inode.
    f.write_bytes(b"abc" * 1000)
    os.utime(f, ns=(entry["files"][0]["mtime_ns"],) * 2)
    assert cached_digest(cache[str(f)], [f]) == (real, {f: real})  # same inode: trusted
    g = tmp_path / "copy.gpkg"
    g.write_bytes(b"abc" * 1000)
    os.utime(g, ns=(entry["files"][0]["mtime_ns"],) * 2)
    os.replace(g, f)
    assert cached_digest(cache[str(f)], [f]) is None


def test_digest_cache_skips_files_modified_just_before_hashing(tmp_path):
    import time

    from pipeline.files import digest_entry, file_stamp, sha256_parts

    f = tmp_path / "a.gpkg"
    f.write_bytes(b"x")
    stamps = [file_stamp(f)]
    assert digest_entry([f], stamps, *sha256_parts([f]), time.time_ns()) is None


def test_digest_cache_ignores_a_file_that_is_not_opjords(tmp_path):
    from pipeline.files import DIGEST_CACHE, load_digest_cache

    (tmp_path / DIGEST_CACHE).write_text('{"sources": {"x": 1}}', encoding="utf-8")
    assert load_digest_cache(tmp_path) == {}
    (tmp_path / DIGEST_CACHE).write_text("not json", encoding="utf-8")
    assert load_digest_cache(tmp_path) == {}
    assert load_digest_cache(tmp_path / "missing") == {}


def test_a_rerun_hashes_no_unchanged_input_and_records_the_real_sha256(tmp_path,
                                                                         monkeypatch):
    """The demo project (vector layers and the NMD raster) run twice: the second run reads
    no input to hash it, its summary.json has every file's real sha256, and an input
    touched since is hashed again."""
    import hashlib
    import json
    import shutil

    from pipeline import read
    from pipeline.cli import main

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "data/raw/demo", tmp_path / "data/raw/demo")
    shutil.copy(root / "opjord.toml", tmp_path / "opjord.toml")
    for f in (tmp_path / "data/raw/demo").iterdir():
        _aged(f)  # older than RACY_NS: the first run's digests may be cached
    cfg = str(tmp_path / "opjord.toml")
    assert main(["analyse", "--config", cfg, "-q"]) == 0
    cache = json.loads((tmp_path / "data/processed" / files.DIGEST_CACHE).read_text())
    assert len(cache["sources"]) == 5  # boundary, blocks, two plans, the raster

    hashed: list[Path] = []

    def counting(real):
        def hash_and_count(paths):
            paths = list(paths)
            hashed.extend(paths)
            return real(paths)
        return hash_and_count

    for module in (read, files):  # every way a file is hashed
        for name in ("sha256_parts", "sha256_files"):
            monkeypatch.setattr(module, name, counting(getattr(module, name)))
    assert main(["analyse", "--config", cfg, "-q"]) == 0
    assert hashed == []
    summary = json.loads((tmp_path / "data/processed/summary.json").read_text())
    for entry in summary["inputs"]:
        path = tmp_path / entry["path"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), path

    raster = tmp_path / "data/raw/demo/nmd.tif"
    _aged(raster, seconds=5)  # a new modification time, same bytes
    assert main(["analyse", "--config", cfg, "-q"]) == 0
    assert hashed == [raster]
