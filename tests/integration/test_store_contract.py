"""The ArtifactStore contract, run against the local folder and against moto's S3 server
over HTTP: bytes, streamed files, listing (paginated on S3), folders, documents with
compare-and-swap, and corrupt documents."""

from __future__ import annotations

import os
import threading
import tracemalloc

import pytest

from mlops.adapters.store import ConflictError, NotFound, StoreError, open_store
from mlops.adapters.store.local import LocalStore
from mlops.adapters.store.s3 import S3Store


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


def _sparse_file(path, size: int) -> None:
    """A file of `size` bytes, mostly zeros with markers, written without holding it."""
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset in range(0, size, 10 * 1024 * 1024):
            handle.seek(offset)
            handle.write(f"marker-{offset}".encode())


# -- bytes --------------------------------------------------------------------------------
def test_put_get_bytes_round_trip(store):
    store.put_bytes("a/b/c.bin", b"\x00\x01payload")
    assert store.get_bytes("a/b/c.bin") == b"\x00\x01payload"
    store.put_bytes("a/b/c.bin", b"replaced")
    assert store.get_bytes("a/b/c.bin") == b"replaced"


def test_empty_object(store):
    store.put_bytes("empty", b"")
    assert store.get_bytes("empty") == b""
    assert store.exists("empty")


def test_missing_object_is_not_found_naming_the_key(store):
    with pytest.raises(NotFound, match="nope/x.bin"):
        store.get_bytes("nope/x.bin")
    with pytest.raises(KeyError):
        store.get_bytes("nope/x.bin")


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a\\b"])
def test_bad_keys_are_rejected(store, key):
    with pytest.raises(StoreError, match="invalid key"):
        store.put_bytes(key, b"x")


# -- files --------------------------------------------------------------------------------
def test_put_get_file_round_trip(store, tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(100_000))
    store.put_file("models/model.bin", source)
    target = tmp_path / "out" / "deep" / "model.bin"
    store.get_file("models/model.bin", target)
    assert target.read_bytes() == source.read_bytes()


def test_get_file_of_missing_object_is_not_found_and_leaves_no_file(store, tmp_path):
    target = tmp_path / "missing.bin"
    with pytest.raises(NotFound):
        store.get_file("missing.bin", target)
    assert not target.exists()


def test_put_file_of_missing_local_file_is_a_store_error(store, tmp_path):
    with pytest.raises(StoreError):
        store.put_file("x.bin", tmp_path / "does-not-exist.bin")
    assert not store.exists("x.bin")


def test_large_file_is_streamed_with_low_memory(store, tmp_path):
    size = 50 * 1024 * 1024
    source = tmp_path / "large.bin"
    _sparse_file(source, size)
    tracemalloc.start()
    try:
        store.put_file("large/large.bin", source)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        target = tmp_path / "large-copy.bin"
        store.get_file("large/large.bin", target)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert upload_peak < size * 0.5, f"upload peaked at {upload_peak / 2**20:.1f} MiB"
    assert download_peak < size * 0.5, f"download peaked at {download_peak / 2**20:.1f} MiB"
    assert target.stat().st_size == size
    with open(source, "rb") as a, open(target, "rb") as b:
        while chunk := a.read(1 << 20):
            assert chunk == b.read(1 << 20)


# -- list, exists, delete -----------------------------------------------------------------
def test_list_prefix_is_sorted_and_string_prefixed(store):
    for key in ["b/2", "a/1", "a/10", "ab/3", "a/sub/4", "c"]:
        store.put_bytes(key, b"x")
    assert store.list("a/") == ["a/1", "a/10", "a/sub/4"]
    assert store.list("a") == ["a/1", "a/10", "a/sub/4", "ab/3"]
    assert store.list() == ["a/1", "a/10", "a/sub/4", "ab/3", "b/2", "c"]
    assert store.list("zzz/") == []
    assert store.list("a/1") == ["a/1", "a/10"]


@pytest.mark.parametrize("prefix", ["../", "/abs/", "a/../../", "a//"])
def test_list_rejects_prefixes_that_leave_the_store(store, prefix):
    with pytest.raises(StoreError, match="invalid key"):
        store.list(prefix)


def test_list_of_empty_store_is_empty(store):
    assert store.list() == []


def test_exists_and_delete(store):
    store.put_bytes("d/x", b"x")
    assert store.exists("d/x")
    assert not store.exists("d")  # a "folder" is not an object
    store.delete("d/x")
    assert not store.exists("d/x")
    store.delete("d/x")  # deleting again is fine
    assert store.list("d/") == []


def test_put_dir_get_dir_round_trip(store, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / ".gitattributes").write_text("*.bin lfs")
    (folder / "sub" / "weights.bin").write_bytes(b"\x01" * 1000)
    assert store.put_dir("versions/1.0.0/embedding_model/", folder) == 3
    assert store.list("versions/1.0.0/") == [
        "versions/1.0.0/embedding_model/.gitattributes",
        "versions/1.0.0/embedding_model/config.json",
        "versions/1.0.0/embedding_model/sub/weights.bin",
    ]
    out = tmp_path / "copy"
    assert store.get_dir("versions/1.0.0/embedding_model", out) == 3
    assert (out / "sub" / "weights.bin").read_bytes() == b"\x01" * 1000
    assert (out / ".gitattributes").read_text() == "*.bin lfs"


def test_get_dir_of_missing_prefix_copies_nothing(store, tmp_path):
    assert store.get_dir("nothing/here", tmp_path / "none") == 0


# -- documents ----------------------------------------------------------------------------
def test_document_absent(store):
    assert store.read_document("logs.json") == (None, None)


def test_document_create_read_update(store):
    tag1 = store.write_document("logs.json", {"models": {}}, None)
    document, tag = store.read_document("logs.json")
    assert (document, tag) == ({"models": {}}, tag1)
    tag2 = store.write_document("logs.json", {"models": {"1.0.0": {"é": "ü"}}}, tag1)
    assert tag2 != tag1
    assert store.read_document("logs.json") == ({"models": {"1.0.0": {"é": "ü"}}}, tag2)


def test_document_create_conflicts_when_it_exists(store):
    store.write_document("logs.json", {"n": 1}, None)
    with pytest.raises(ConflictError):
        store.write_document("logs.json", {"n": 2}, None)
    assert store.read_document("logs.json")[0] == {"n": 1}


def test_document_update_with_stale_tag_conflicts(store):
    tag1 = store.write_document("logs.json", {"n": 1}, None)
    store.write_document("logs.json", {"n": 2}, tag1)
    with pytest.raises(ConflictError):
        store.write_document("logs.json", {"n": 3}, tag1)
    assert store.read_document("logs.json")[0] == {"n": 2}


def test_document_update_after_delete_conflicts(store):
    tag = store.write_document("logs.json", {"n": 1}, None)
    store.delete("logs.json")
    with pytest.raises(ConflictError):
        store.write_document("logs.json", {"n": 2}, tag)
    assert not store.exists("logs.json")


def test_unserialisable_document_is_rejected_and_nothing_written(store):
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        store.write_document("logs.json", {"x": object()}, None)
    assert not store.exists("logs.json")


def test_corrupt_document_is_reported_and_never_overwritten(store):
    store.put_bytes("logs.json", b'{"models": {"1.0.0": ')
    with pytest.raises(StoreError, match="logs.json.*corrupt"):
        store.read_document("logs.json")
    for tag in (None, "whatever", '"d41d8cd98f00b204e9800998ecf8427e"'):
        with pytest.raises(StoreError):
            store.write_document("logs.json", {"models": {}}, tag)
    assert store.get_bytes("logs.json") == b'{"models": {"1.0.0": '


def test_concurrent_document_writers_lose_nothing(store):
    store.write_document("counter.json", {"writers": []}, None)

    def writer(name: str) -> None:
        while True:
            document, tag = store.read_document("counter.json")
            document["writers"].append(name)
            try:
                store.write_document("counter.json", document, tag)
                return
            except ConflictError:
                continue

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.read_document("counter.json")[0]["writers"]) == sorted(f"w{i}" for i in range(8))


# -- S3 specifics -------------------------------------------------------------------------
@pytest.mark.s3
def test_s3_list_paginates_past_1000_keys(s3_store):
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"many/{i:05d}" for i in range(1005)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3_store.put_bytes(key, b""), keys))
    s3_store.put_bytes("other/x", b"")
    assert s3_store.list("many/") == keys


@pytest.mark.s3
def test_s3_keys_live_under_the_prefix(s3_store):
    s3_store.put_bytes("logs.json", b"{}")
    raw = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)["Contents"]
    assert [item["Key"] for item in raw] == ["team/sea/logs.json"]


@pytest.mark.s3
def test_s3_missing_bucket_is_a_store_error(s3_endpoint):
    store = S3Store("no-such-bucket-sea", endpoint_url=s3_endpoint, region="us-east-1")
    with pytest.raises(StoreError, match="no-such-bucket-sea"):
        store.put_bytes("x", b"x")


# -- open_store ---------------------------------------------------------------------------
def test_open_store_file_url(tmp_path):
    store = open_store((tmp_path / "root").as_uri())
    assert isinstance(store, LocalStore)
    store.put_bytes("k", b"v")
    assert (tmp_path / "root" / "k").read_bytes() == b"v"


@pytest.mark.s3
def test_open_store_s3_url(s3_store, s3_endpoint):
    store = open_store(f"s3://{s3_store.bucket}/team/sea/", endpoint_url=s3_endpoint, region="us-east-1")
    assert isinstance(store, S3Store) and store.url == f"s3://{s3_store.bucket}/team/sea"
    s3_store.put_bytes("shared", b"same objects")
    assert store.get_bytes("shared") == b"same objects"


@pytest.mark.parametrize(
    "url, message",
    [
        ("relative/path", "invalid store URL"),
        ("file://host/path", "absolute path"),
        ("file:", "invalid store URL"),
        ("s3://", "no bucket"),
        ("gs://bucket/x", "unsupported store URL"),
    ],
)
def test_open_store_rejects_bad_urls(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)
