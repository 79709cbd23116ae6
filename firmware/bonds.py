"""Bond keys in flash, for the BLE stack's _IRQ_GET_SECRET / _IRQ_SET_SECRET.

The stack hands us opaque (sec_type, key) -> value secrets.  They are few
(a handful of bonds), so the table lives in RAM and the file is rewritten
whole, through a temporary file and a rename, so a power cut leaves either
the old table or the new one.

File format: repeated [sec_type u8][key_len u8][value_len u16 LE][key][value].
"""

import struct

_HEADER = "<BBH"
_HEADER_SIZE = 4
MAX_SECRETS = 16  # the oldest secret goes first when the table is full


class BondStore:
    def __init__(self, fs, path):
        self._fs = fs
        self._path = path
        self._entries = []  # [(sec_type, key, value)], oldest first
        self.damaged = False  # the file had a torn or foreign tail

    def load(self):
        self._entries = []
        if self._fs.size(self._path) < 0:
            return 0
        with self._fs.open(self._path, "rb") as f:
            data = f.read()
        off = 0
        while off + _HEADER_SIZE <= len(data):
            sec_type, klen, vlen = struct.unpack_from(_HEADER, data, off)
            end = off + _HEADER_SIZE + klen + vlen
            if end > len(data):
                break
            key = bytes(data[off + _HEADER_SIZE : off + _HEADER_SIZE + klen])
            self._entries.append((sec_type, key, bytes(data[end - vlen : end])))
            off = end
        self.damaged = off != len(data)
        return len(self._entries)

    def __len__(self):
        return len(self._entries)

    def get(self, sec_type, index, key):
        """The value for (sec_type, key); with key None, the index'th of sec_type."""
        n = 0
        for t, k, v in self._entries:
            if t != sec_type:
                continue
            if key is None:
                if n == index:
                    return v
                n += 1
            elif k == key:
                return v
        return None

    def set(self, sec_type, key, value):
        """Store (or, with value None, delete) a secret.  True once it is in flash."""
        key = bytes(key)
        kept = [e for e in self._entries if not (e[0] == sec_type and e[1] == key)]
        if value is not None:
            if len(key) > 255 or len(value) > 0xFFFF:
                return False
            kept.append((sec_type, key, bytes(value)))
            while len(kept) > MAX_SECRETS:
                kept.pop(0)
        try:
            self._write(kept)
        except OSError:
            return False
        self._entries = kept
        return True

    def clear(self):
        """Factory reset: forget every bond."""
        self._fs.remove(self._path)
        self._entries = []

    def _write(self, entries):
        tmp = self._path + ".tmp"
        with self._fs.open(tmp, "wb") as f:
            for t, k, v in entries:
                f.write(struct.pack(_HEADER, t, len(k), len(v)))
                f.write(k)
                f.write(v)
        self._fs.rename(tmp, self._path)
