"""Append-only, power-cut-safe event log on the device filesystem.

Layout under ``root``:
  ``%08x`` segment files, named by the first sequence number of their
      256-seq slot (``seq & ~0xFF``).  Record ``seq`` sits at byte offset
      ``(seq - slot_first) * 16`` of segment ``seq >> 8``, so readers find
      any record with arithmetic, never by listing the directory.
  ``meta``  acknowledged seq, lost-event counters and the boot id, replaced
      atomically (write ``meta.tmp``, rename).

Invariants that recovery relies on:
  * records are only appended, to the newest segment, and each append is
    closed (LittleFS commits on close) before the caller may confirm it;
  * every segment but the newest is full, so next_seq is derivable from the
    newest segment alone, and seq stays monotonic for the device's life;
  * a segment is deleted only when every record in it is acknowledged and a
    newer segment exists.
"""

import struct
from binascii import crc32

try:
    from . import protocol  # the companion: twitchlog.firmware
except ImportError:
    import protocol  # the device: flat modules

RECORD_SIZE = protocol.RECORD_SIZE

try:
    from micropython import const
except ImportError:  # CPython: const() is only a compile-time hint
    const = lambda x: x  # noqa: E731


SEG_SHIFT = const(8)
SEG_RECORDS = const(256)
_META_FMT = "<BIHHHB"
_META_SIZE = const(14)  # calcsize(_META_FMT) + 2 CRC bytes
_META_VERSION = const(1)
_LOST_MAX = const(0xFFFF)
LOST_TWITCH = const(0)
LOST_CRAMP = const(1)
LOST_OTHER = const(2)


def _slot_first(k):
    # seq 0 means "none", so slot 0 starts at 1.
    return (k << SEG_SHIFT) or 1


def _continuable(seq):
    """seq if a record can be written there, else the start of the next slot.

    Used only when the log must jump ahead (meta ahead of the segments): a
    fresh slot file can only start at its first seq.
    """
    k = seq >> SEG_SHIFT
    return seq if seq == _slot_first(k) else _slot_first(k + 1)


def _lost_index(kind):
    if kind == protocol.KIND_TWITCH:
        return LOST_TWITCH
    if kind == protocol.KIND_CRAMP:
        return LOST_CRAMP
    return LOST_OTHER


class EventLog:
    """The device's durable record store.

    fs: a filesystem object (see fsio.PosixFS); root: directory for the log;
    max_segments: storage budget in 4 KB segments (the board computes it from
    the partition size less a reserve for bonds and settings).
    """

    def __init__(self, fs, root, max_segments):
        if max_segments < 2:
            raise ValueError("max_segments must be at least 2")
        self.fs = fs
        self.root = root
        self.max_segments = max_segments
        self.acked = 0
        self.lost = [0, 0, 0]
        self.boot_id = 0
        self.next_seq = 1
        self._kmin = 0  # oldest existing segment slot
        self._kmax = -1  # newest existing segment slot, -1 if none
        self._rec = bytearray(RECORD_SIZE)
        self.dropped_bytes = 0  # torn/garbage tail bytes dropped by the last open()

    # ------------------------------------------------------------ paths
    def _seg_path(self, k):
        return "%s/%08x" % (self.root, k << SEG_SHIFT)

    def _meta_path(self, tmp=False):
        return self.root + ("/meta.tmp" if tmp else "/meta")

    # ------------------------------------------------------------ meta
    def _load_meta(self):
        """True if meta was read; a bad meta only costs re-sending acknowledged records."""
        buf = bytearray(_META_SIZE)
        try:
            f = self.fs.open(self._meta_path(), "rb")
        except OSError:
            return False
        try:
            n = f.readinto(buf)
        finally:
            f.close()
        if n != _META_SIZE:
            return False
        if struct.unpack_from("<H", buf, _META_SIZE - 2)[0] != crc32(memoryview(buf)[: _META_SIZE - 2]) & 0xFFFF:
            return False
        version, acked, l0, l1, l2, boot = struct.unpack_from(_META_FMT, buf, 0)
        if version != _META_VERSION:
            return False
        self.acked = acked
        self.lost[0], self.lost[1], self.lost[2] = l0, l1, l2
        self.boot_id = boot
        return True

    def _save_meta(self):
        buf = bytearray(_META_SIZE)
        lost = self.lost
        struct.pack_into(_META_FMT, buf, 0, _META_VERSION, self.acked, lost[0], lost[1], lost[2], self.boot_id)
        struct.pack_into("<H", buf, _META_SIZE - 2, crc32(memoryview(buf)[: _META_SIZE - 2]) & 0xFFFF)
        tmp = self._meta_path(True)
        f = self.fs.open(tmp, "wb")
        try:
            f.write(buf)
        finally:
            f.close()
        self.fs.rename(tmp, self._meta_path())

    # ------------------------------------------------------------ boot
    def open(self):
        """Mount-time recovery.  Returns the number of records stored.

        Drops a torn or garbage tail of the newest segment, removes leftover
        temporary files and finishes any interrupted reclaim.
        """
        fs = self.fs
        fs.mkdir(self.root)
        meta_ok = self._load_meta()
        kmin = kmax = -1
        for name in fs.names(self.root):
            if len(name) != 8:
                continue
            try:
                base = int(name, 16)
            except ValueError:
                continue
            if base & (SEG_RECORDS - 1):
                continue
            k = base >> SEG_SHIFT
            if kmin < 0 or k < kmin:
                kmin = k
            if k > kmax:
                kmax = k
        # Leftovers of an interrupted meta save or tail rewrite; the originals
        # are intact because the renames never happened.
        fs.remove(self._meta_path(True))
        fs.remove(self.root + "/seg.tmp")
        self.dropped_bytes = 0
        self._kmin, self._kmax = kmin, kmax
        if kmax < 0:
            self._kmin = (self.acked + 1) >> SEG_SHIFT
            self.next_seq = _continuable(self.acked + 1)
        else:
            kept = self._recover_tail(kmax)
            self.next_seq = _slot_first(kmax) + kept
            if kept and not meta_ok:
                # Keep the epoch of the last record, so the next new_boot()
                # differs from it even though meta was lost.
                self.boot_id = self._rec[12]
            if self.next_seq <= self.acked:
                # meta outlived a lost tail: jump ahead, never reuse a seq,
                # never write a record away from the offset its seq implies.
                self.next_seq = _continuable(self.acked + 1)
        self.reclaim()
        return self.count()

    def _recover_tail(self, k):
        """Validate segment k; cut it back to its longest valid prefix."""
        path = self._seg_path(k)
        size = self.fs.size(path)
        if size < 0:
            return 0
        whole = size // RECORD_SIZE
        first = _slot_first(k)
        if size % RECORD_SIZE == 0 and whole and self._record_at(path, whole - 1, first + whole - 1):
            return whole  # the common case: one 16-byte read
        good = 0
        rec = self._rec
        f = self.fs.open(path, "rb")
        try:
            while good < whole and f.readinto(rec) == RECORD_SIZE:
                if not protocol.record_valid(rec) or protocol.record_seq(rec) != first + good:
                    break
                good += 1
        finally:
            f.close()
        self.dropped_bytes = size - good * RECORD_SIZE
        self._rewrite_prefix(path, good)  # leaves the last good record in self._rec
        return good

    def _record_at(self, path, index, want_seq):
        rec = self._rec
        f = self.fs.open(path, "rb")
        try:
            f.seek(index * RECORD_SIZE)
            if f.readinto(rec) != RECORD_SIZE:
                return False
        finally:
            f.close()
        return protocol.record_valid(rec) and protocol.record_seq(rec) == want_seq

    def _rewrite_prefix(self, path, good):
        # MicroPython files have no truncate(): copy the good prefix to a
        # temporary file and rename it over the segment (atomic on LittleFS).
        tmp = self.root + "/seg.tmp"
        rec = self._rec
        src = self.fs.open(path, "rb")
        try:
            dst = self.fs.open(tmp, "wb")
            try:
                for _ in range(good):
                    src.readinto(rec)
                    dst.write(rec)
            finally:
                dst.close()
        finally:
            src.close()
        self.fs.rename(tmp, path)

    def new_boot(self):
        """Start a new clock epoch (the RTC was lost).  Returns the boot id."""
        self.boot_id = (self.boot_id + 1) & 0xFF
        self._save_meta()
        return self.boot_id

    # ------------------------------------------------------------ state
    @property
    def first_seq(self):
        """Oldest unacknowledged seq still stored (== next_seq when empty)."""
        first = _slot_first(self._kmin)
        return max(first, self.acked + 1) if self._kmax >= 0 else self.next_seq

    @property
    def last_seq(self):
        return self.next_seq - 1

    def count(self):
        return self.next_seq - self.first_seq

    def free_records(self):
        kmin = self._kmin if self._kmax >= 0 else self.next_seq >> SEG_SHIFT
        return max(0, ((kmin + self.max_segments) << SEG_SHIFT) - self.next_seq)

    def lost_total(self):
        return self.lost[0] + self.lost[1] + self.lost[2]

    # ------------------------------------------------------------ writing
    def append(self, kind, time, boot, arg=0):
        """Store one record durably.  Returns its seq, or 0 if it was lost.

        A lost record (storage full of unacknowledged records, or a write
        error) is counted per kind in the persistent lost counters.
        """
        seq = self.next_seq
        k = seq >> SEG_SHIFT
        if k != self._kmax:
            if self._kmax >= 0 and k - self._kmin >= self.max_segments:
                self.reclaim()
                if k - self._kmin >= self.max_segments:
                    return self._lose(kind)
        rec = self._rec
        protocol.pack_record_into(rec, 0, seq, time, arg, boot, kind)
        path = self._seg_path(k)
        try:
            f = self.fs.open(path, "ab")
            try:
                f.write(rec)
            finally:
                f.close()
        except OSError:
            return self._after_failed_write(k, seq, kind)
        self._appended(k, seq)
        return seq

    def _appended(self, k, seq):
        if self._kmax < 0:
            self._kmin = k
        self._kmax = k
        self.next_seq = seq + 1

    def _after_failed_write(self, k, seq, kind):
        # On non-atomic filesystems a failed write or close may have left
        # part of the record, or all of it.  Cut back to the valid prefix and
        # decide from what is really there.
        try:
            kept = self._recover_tail(k)
        except OSError:
            # Could not even tidy up (e.g. full): never write into this slot
            # again; open() drops the torn tail at the next boot.
            self.next_seq = _slot_first(k + 1)
            return self._lose(kind)
        if _slot_first(k) + kept > seq:  # the record made it after all
            self._appended(k, seq)
            return seq
        return self._lose(kind)

    def _lose(self, kind):
        i = _lost_index(kind)
        if self.lost[i] < _LOST_MAX:
            self.lost[i] += 1
        try:
            self._save_meta()
        except OSError:
            pass  # the in-RAM counter still reaches the status read
        return 0

    def ack(self, seq):
        """Acknowledge every record <= seq and reclaim whole segments.

        Returns how many records became acknowledged.
        """
        seq = min(seq, self.last_seq)
        if seq <= self.acked:
            return 0
        newly = max(0, seq - max(self.acked, self.first_seq - 1))
        self.acked = seq
        self._save_meta()
        self.reclaim()
        return newly

    def reclaim(self):
        """Delete segments that are fully acknowledged and not the newest."""
        while self._kmin < self._kmax and (self._kmin << SEG_SHIFT) + SEG_RECORDS - 1 <= self.acked:
            self.fs.remove(self._seg_path(self._kmin))
            self._kmin += 1

    # ------------------------------------------------------------ reading
    def reader(self, lo=None, hi=None):
        """A streaming reader over stored unacknowledged records in [lo, hi]."""
        first, last = self.first_seq, self.last_seq
        lo = first if lo is None or lo < first else lo
        hi = last if hi is None or hi > last else hi
        return LogReader(self, lo, hi)


class LogReader:
    """Fills caller-owned buffers with whole, CRC-checked records.

    RAM is one open file and a few integers, whatever the log's length.
    Records that fail their CRC or sit at the wrong offset are skipped and
    counted in ``corrupt``.
    """

    def __init__(self, log, lo, hi):
        self.log = log
        self.seq = lo
        self.hi = hi
        self.corrupt = 0
        self._file = None
        self._k = -1

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_segment(self, k):
        self.close()
        self._k = k
        try:
            f = self.log.fs.open(self.log._seg_path(k), "rb")
        except OSError:
            return
        f.seek((self.seq - _slot_first(k)) * RECORD_SIZE)
        self._file = f

    def readinto(self, buf):
        """Fill buf with up to len(buf)//16 records.  Returns bytes filled, 0 at end."""
        cap = len(buf) // RECORD_SIZE
        mv = memoryview(buf)
        filled = 0
        while filled < cap and self.seq <= self.hi:
            k = self.seq >> SEG_SHIFT
            if k != self._k:
                self._open_segment(k)
            f = self._file
            if f is None:  # segment gone (reclaimed meanwhile)
                self.seq = _slot_first(k + 1)
                continue
            seg_end = ((k + 1) << SEG_SHIFT) - 1
            want = min(cap - filled, min(seg_end, self.hi) - self.seq + 1)
            got = f.readinto(mv[filled * RECORD_SIZE : (filled + want) * RECORD_SIZE]) or 0
            n = got // RECORD_SIZE
            filled = self._keep_valid(buf, filled, n)
            if n < want:  # short segment: nothing more stored in it
                self.seq = _slot_first(k + 1)
                if self.seq > self.hi:
                    break
        return filled * RECORD_SIZE

    def _keep_valid(self, buf, start, n):
        """Compact the n fresh records at start over any invalid ones."""
        dst = start
        for i in range(start, start + n):
            off = i * RECORD_SIZE
            expect = self.seq
            self.seq += 1
            if protocol.record_valid(buf, off) and protocol.record_seq(buf, off) == expect:
                if dst != i:
                    buf[dst * RECORD_SIZE : (dst + 1) * RECORD_SIZE] = buf[off : off + RECORD_SIZE]
                dst += 1
            else:
                self.corrupt += 1
        return dst
