"""Strict reading of a stored (uncompressed) ``.npz``: the container of pnet model files.

An ``.npz`` is a zip archive of ``.npy`` members. This module reads the zip
structures (end record, central directory, local headers; zip64 records as
Python's ``zipfile`` writes them for large archives) and each member's ``.npy``
header itself, and checks them against each other and against the file's
size before any array is allocated:

- the archive is exactly: members back to back from offset 0, then the central
  directory, then (zip64 end record and locator), then the end record; no
  archive comment, one disk;
- every member is stored (compression method 0, compressed size = size), not
  encrypted, flags only 0 or the UTF-8-names bit, its local header agrees with
  the directory (name, method, flags, CRC-32, sizes), its name is a plain
  ``<lowercase name>.npy`` (no directories, no duplicates), its CRC-32 holds;
- a ``.npy`` header is version 1.0 or 2.0, at most ``MAX_NPY_HEADER`` bytes,
  exactly the dictionary numpy writes (``descr``, ``fortran_order`` False,
  ``shape``), with a plain little-endian number or unicode dtype (never an
  object, structured or big-endian one), and shape x itemsize equal to the
  bytes the member holds.

So reading allocates at most the file's own bytes plus the arrays it asks for,
whose sizes are bounded by the file. Writing is ``numpy.savez``'s. What the
members mean is ``pnet._modelfile``'s business; errors here are
``ArchiveError`` with a message that names the problem but not the file.
"""
import re
import struct
import zlib
from typing import NamedTuple

import numpy as np

#: largest .npy header read (numpy writes ~128 bytes for the arrays pnet stores)
MAX_NPY_HEADER = 4096
#: plain dtypes a member may hold: little-endian (or byte-order free) numbers
NUMBER_DESCRS = frozenset(["|b1", "|i1", "|u1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8",
                           "<f2", "<f4", "<f8"])
_UNICODE_DESCR = re.compile(r"<U[1-9][0-9]{0,5}")

#: zip records, as in the zip specification (APPNOTE 4.3.7, 4.3.12, 4.3.14-16)
_LOCAL = struct.Struct("<4s5H3I2H")  # sig, needed, flags, method, time, date, crc,
#                                      compressed size, size, name length, extra length
_CENTRAL = struct.Struct("<4s6H3I5H2I")  # sig, made by, needed, flags, method, time, date,
#     crc, compressed size, size, name length, extra length, comment length, disk,
#     internal attributes, external attributes, local header offset
_END = struct.Struct("<4s4H2IH")  # sig, disk, directory's disk, entries on this disk,
#                                   entries, directory size, directory offset, comment length
_END64 = struct.Struct("<4sQ2H2I4Q")  # sig, record size, made by, needed, disk,
#     directory's disk, entries on this disk, entries, directory size, directory offset
_LOCATOR64 = struct.Struct("<4sIQI")  # sig, disk of the zip64 end record, its offset, disks
_UTF8_NAMES = 0x800
_METHODS = {8: "deflate", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 99: "AES"}
_MEMBER_NAME = re.compile(rb"[a-z][a-z0-9_]{0,63}\.npy")
_NPY_MAGIC = b"\x93NUMPY"
_DIM = re.compile(r"[0-9]{1,19}")
_NPY_DICT = re.compile(r"\{'descr': '([^']{1,16})', 'fortran_order': (False|True), "
                       r"'shape': \(([0-9, ]{0,200})\), \} *\n")


class ArchiveError(ValueError):
    """The bytes are not a well-formed stored .npz (the message names what is wrong)."""


class Member(NamedTuple):
    start: int  # first byte of the member's data (its .npy file) in the archive
    size: int  # bytes of data


class Array(NamedTuple):
    descr: str  # numpy dtype string, e.g. '<f4'
    shape: tuple
    payload: memoryview  # the array's C-order bytes, inside the archive


def members(data):
    """{name without '.npy': Member} of an archive's bytes, every zip check done."""
    data = memoryview(data)
    cd_offset, cd_size, n_entries = _end_records(data)
    entries = _central_directory(data[cd_offset:cd_offset + cd_size], n_entries)
    found, expected_offset = {}, 0
    for name, offset, size, crc, flags in sorted(entries, key=lambda e: e[1]):
        if offset != expected_offset:
            raise ArchiveError(f"member {name!r} starts at byte {offset}, expected "
                               f"{expected_offset}: members must be back to back "
                               "(truncated or corrupted archive).")
        start = _local_header(data, name, offset, size, crc, flags, cd_offset)
        if zlib.crc32(data[start:start + size]) != crc:
            raise ArchiveError(f"member {name!r} is truncated or corrupted: bad CRC-32.")
        found[name[:-len(".npy")]] = Member(start, size)
        expected_offset = start + size
    if expected_offset != cd_offset:
        raise ArchiveError(f"{cd_offset - expected_offset} stray bytes before the zip "
                           "directory (truncated or corrupted archive).")
    return found


def read_npy_header(data, member):
    """(descr, shape, payload) of a member: its .npy header checked against its size."""
    data = memoryview(data)[member.start:member.start + member.size]
    if len(data) < 10 or bytes(data[:6]) != _NPY_MAGIC:
        raise ArchiveError("is not a .npy array (no .npy magic).")
    version = (data[6], data[7])
    if version == (1, 0):
        length, prefix = int.from_bytes(data[8:10], "little"), 10
    elif version == (2, 0) and len(data) >= 12:
        length, prefix = int.from_bytes(data[8:12], "little"), 12
    else:
        raise ArchiveError(f"has .npy format version {version[0]}.{version[1]}; numpy "
                           "writes 1.0 or 2.0 for the arrays of a model file.")
    if length > MAX_NPY_HEADER or prefix + length > len(data):
        raise ArchiveError(f"has a .npy header of {length} bytes (the member holds "
                           f"{len(data)}, at most {MAX_NPY_HEADER} are read).")
    text = bytes(data[prefix:prefix + length]).decode("latin1")
    match = _NPY_DICT.fullmatch(text)
    if match is None:
        raise ArchiveError(f"has a malformed .npy header {_short(text)}.")
    descr, fortran, shape_text = match.groups()
    if descr == "|O":
        raise ArchiveError("holds Python objects (a pickle); pnet model files never do, "
                           "refusing to load it.")
    if descr not in NUMBER_DESCRS and not _UNICODE_DESCR.fullmatch(descr):
        raise ArchiveError(f"has dtype {descr!r}; model files hold only little-endian "
                           "numbers and unicode strings.")
    if fortran == "True":
        raise ArchiveError("is stored in Fortran order; model files store C order.")
    shape = _shape(shape_text)
    payload = data[prefix + length:]
    declared = _itemsize(descr) * _product(shape)
    if declared != len(payload):
        raise ArchiveError(f"declares {descr} {list(shape)} ({_bytes(declared)}) but holds "
                           f"{_bytes(len(payload))}.")
    if any(d > len(data) for d in shape):  # an empty array, with an absurd length
        raise ArchiveError(f"declares an impossible shape {list(shape)}.")
    return Array(descr, shape, payload)


def to_array(array):
    """A new, writable numpy array holding a checked member's payload."""
    count = _product(array.shape)
    a = np.frombuffer(array.payload, dtype=np.dtype(array.descr), count=count)
    a = a.reshape(array.shape).copy()
    if a.dtype.kind == "U":  # numpy fails later (SystemError) on invalid code points
        codes = a.reshape(-1).view("<u4")
        if ((codes >= 0x110000) | ((codes >= 0xD800) & (codes < 0xE000))).any():
            raise ArchiveError("holds strings with invalid unicode code points.")
    return a


# ---------------------------------------------------------------- zip records ----
def _end_records(data):
    """(directory offset, directory size, entries) from the end records."""
    if len(data) < _END.size:
        raise ArchiveError(f"truncated or corrupted archive: {len(data)} bytes, too short "
                           "for a zip file.")
    end = len(data) - _END.size
    sig, disk, cd_disk, n_here, n_entries, cd_size, cd_offset, comment = \
        _END.unpack(data[end:])
    if sig != b"PK\x05\x06" or comment != 0:
        raise ArchiveError("truncated or corrupted archive: no zip end record at the end of "
                           "the file (or an archive comment, which model files never have).")
    cd_end = end
    locator = end - _LOCATOR64.size
    if locator >= 0 and bytes(data[locator:locator + 4]) == b"PK\x06\x07":
        sig, disk64, end64, n_disks = _LOCATOR64.unpack(data[locator:end])
        if disk64 != 0 or n_disks != 1 or end64 != locator - _END64.size:
            raise ArchiveError("corrupted zip64 locator.")
        fields = _END64.unpack(data[end64:locator])
        if fields[0] != b"PK\x06\x06" or fields[1] != _END64.size - 12 or fields[4:6] != (0, 0):
            raise ArchiveError("corrupted zip64 end record.")
        n64, n_entries64, cd_size64, cd_offset64 = fields[6:]
        # the end record holds each value, capped (Python's zipfile), or the cap alone
        if n64 != n_entries64 or not all(
                short in (min(full, cap), cap) for short, full, cap in (
                    (n_entries, n_entries64, 0xFFFF), (cd_size, cd_size64, 0xFFFFFFFF),
                    (cd_offset, cd_offset64, 0xFFFFFFFF))):
            raise ArchiveError("the zip64 end record disagrees with the end record.")
        n_here, n_entries, cd_size, cd_offset, cd_end = n64, n64, cd_size64, cd_offset64, end64
    if disk != 0 or cd_disk != 0 or n_here != n_entries:
        raise ArchiveError("a multi-disk zip archive; model files are one file.")
    if cd_offset + cd_size != cd_end:
        raise ArchiveError(f"truncated or corrupted archive: the zip directory "
                           f"({cd_size} bytes at {cd_offset}) does not end where the end "
                           f"record starts ({cd_end}).")
    return cd_offset, cd_size, n_entries


def _central_directory(cd, n_entries):
    """[(name, local header offset, size, crc, flags)] of the directory's entries."""
    entries, names, pos = [], set(), 0
    for _ in range(n_entries):
        if pos + _CENTRAL.size > len(cd):
            raise ArchiveError("truncated or corrupted zip directory.")
        (sig, _made_by, _needed, flags, method, _time, _date, crc, csize, size, name_len,
         extra_len, comment_len, disk, _internal, _external, offset) = \
            _CENTRAL.unpack(cd[pos:pos + _CENTRAL.size])
        pos += _CENTRAL.size
        name, extra = bytes(cd[pos:pos + name_len]), cd[pos + name_len:pos + name_len + extra_len]
        pos += name_len + extra_len + comment_len
        if sig != b"PK\x01\x02" or pos > len(cd):
            raise ArchiveError("truncated or corrupted zip directory.")
        shown = _member_name(name)
        _check_entry(shown, flags, method)
        wide = [v == 0xFFFFFFFF for v in (size, csize, offset)]
        if any(wide):  # zip64: the full values follow in the extra field, in this order
            values = iter(_zip64_extra(extra, sum(wide), shown))
            size, csize, offset = (next(values) if w else v
                                   for v, w in zip((size, csize, offset), wide))
        if csize != size:
            raise ArchiveError(f"member {shown!r}: compressed size {csize} differs from size "
                               f"{size}; model files store members uncompressed.")
        if disk != 0:
            raise ArchiveError(f"member {shown!r} is on disk {disk}; model files are one "
                               "file.")
        if shown in names:
            raise ArchiveError(f"member {shown!r} appears twice in the archive.")
        names.add(shown)
        entries.append((shown, offset, size, crc, flags))
    if pos != len(cd):
        raise ArchiveError(f"the zip directory holds {len(cd) - pos} bytes after its "
                           f"{n_entries} entries (corrupted archive).")
    return entries


def _local_header(data, name, offset, size, crc, flags, limit):
    """Start of a member's data, after checking its local header against the directory."""
    if offset + _LOCAL.size > limit:
        raise ArchiveError(f"member {name!r}: local header past the zip directory.")
    (sig, _needed, local_flags, method, _time, _date, local_crc, csize, local_size,
     name_len, extra_len) = _LOCAL.unpack(data[offset:offset + _LOCAL.size])
    start = offset + _LOCAL.size + name_len + extra_len
    if sig != b"PK\x03\x04" or start > limit or \
            bytes(data[offset + _LOCAL.size:offset + _LOCAL.size + name_len]) != name.encode():
        raise ArchiveError(f"member {name!r}: corrupted local header.")
    _check_entry(name, local_flags, method)
    if (csize, local_size) == (0xFFFFFFFF, 0xFFFFFFFF):  # zip64, as numpy.savez writes
        extra = data[start - extra_len:start]
        local_size, csize = _zip64_extra(extra, 2, name)
    if (local_flags, local_crc, csize, local_size) != (flags, crc, size, size):
        raise ArchiveError(f"member {name!r}: the local header disagrees with the zip "
                           "directory (corrupted archive).")
    if start + size > limit:
        raise ArchiveError(f"member {name!r}: {size} bytes declared, past the end of the "
                           "members (truncated or corrupted archive).")
    return start


def _check_entry(name, flags, method):
    if flags & 0x1:
        raise ArchiveError(f"member {name!r} is encrypted; model files never are.")
    if method != 0:
        raise ArchiveError(f"member {name!r} is compressed "
                           f"({_METHODS.get(method, f'method {method}')}); model files "
                           "store every member uncompressed, as numpy.savez does.")
    if flags & ~_UTF8_NAMES:
        raise ArchiveError(f"member {name!r} has zip flags {flags:#06x}; model files use "
                           "none (no data descriptors).")


def _member_name(raw):
    if not _MEMBER_NAME.fullmatch(raw):
        raise ArchiveError(f"unexpected member {_short(raw.decode('latin1'))}; model files "
                           "hold only '<name>.npy' arrays (lowercase, no directories).")
    return raw.decode("ascii")


def _zip64_extra(extra, count, name):
    """The first ``count`` 8-byte values of the zip64 extra field (header id 1)."""
    pos = 0
    while pos + 4 <= len(extra):
        header_id, length = struct.unpack("<2H", extra[pos:pos + 4])
        if header_id == 1 and length >= 8 * count and pos + 4 + length <= len(extra):
            return struct.unpack(f"<{count}Q", extra[pos + 4:pos + 4 + 8 * count])
        pos += 4 + length
    raise ArchiveError(f"member {name!r}: missing or corrupted zip64 sizes.")


# ------------------------------------------------------------------ helpers ----
def _shape(text):
    """The shape tuple of a .npy header, written exactly as numpy writes it."""
    parts = [p.strip() for p in text.split(",")]
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    dims = tuple(int(p) for p in parts if _DIM.fullmatch(p))
    if repr(dims) != f"({text})" or len(dims) > 8:
        raise ArchiveError(f"has a malformed .npy shape ({_short(text)}).")
    return dims


def _itemsize(descr):
    return int(descr[2:]) * (4 if descr[1] == "U" else 1)


def _product(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024


def _short(text, limit=60):
    text = repr(text)
    return text if len(text) <= limit else text[:limit] + "..."
