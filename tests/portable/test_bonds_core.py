"""Bond-key store: the secrets the BLE stack asks for, kept in flash."""

import bonds
from _support import fresh_dir
from fsio import PosixFS


def _store():
    return bonds.BondStore(PosixFS(), fresh_dir("bonds") + "/bonds.bin")


def test_secrets_survive_a_reload_and_are_found_by_key_or_index():
    store = _store()
    assert store.load() == 0
    assert store.set(2, b"peer-a", b"keys-a")
    assert store.set(2, b"peer-b", b"keys-b")
    assert store.set(3, b"peer-a", b"cccd")
    again = bonds.BondStore(PosixFS(), store._path)
    assert again.load() == 3
    assert again.get(2, 0, b"peer-b") == b"keys-b"
    assert again.get(2, 0, None) == b"keys-a" and again.get(2, 1, None) == b"keys-b"
    assert again.get(2, 2, None) is None
    assert again.get(1, 0, b"peer-a") is None


def test_replacing_deleting_and_clearing():
    store = _store()
    store.set(2, b"peer", b"old")
    store.set(2, b"peer", b"new")
    assert len(store) == 1 and store.get(2, 0, b"peer") == b"new"
    assert store.set(2, b"peer", None)
    assert store.get(2, 0, b"peer") is None
    store.set(2, b"other", b"x")
    store.clear()
    assert len(store) == 0
    assert bonds.BondStore(PosixFS(), store._path).load() == 0


def test_a_torn_file_keeps_its_whole_entries():
    store = _store()
    store.set(2, b"peer-a", b"keys-a")
    store.set(2, b"peer-b", b"keys-b")
    with open(store._path, "rb") as f:
        data = f.read()
    with open(store._path, "wb") as f:
        f.write(data[:-3])  # cut inside the last entry
    again = bonds.BondStore(PosixFS(), store._path)
    assert again.load() == 1
    assert again.damaged
    assert again.get(2, 0, b"peer-a") == b"keys-a"


def test_the_table_is_bounded():
    store = _store()
    for i in range(bonds.MAX_SECRETS + 3):
        store.set(2, b"peer%d" % i, b"k")
    assert len(store) == bonds.MAX_SECRETS
    assert store.get(2, 0, b"peer0") is None  # the oldest went first
