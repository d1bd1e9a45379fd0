"""Reading an ``.npz`` archive without trusting it: every header is checked before anything is allocated.

``numpy.load`` believes what a file says about itself. An ``.npy`` header that
declares the shape ``(10**12,)`` makes it allocate that much memory before it
notices that the file holds only a few bytes (a ``MemoryError``, or swapping,
long before any error message). A checkpoint may come from anywhere -- a
colleague, a download, a half-copied file -- so minis2s reads it here instead:

1. the archive is opened with :mod:`zipfile` (never unpickled, never extracted);
2. every entry must be an ``.npy`` file stored *uncompressed*, as
   ``numpy.savez`` writes them: then the size the zip directory gives for an
   entry is the number of bytes really in the file -- and no entry may claim
   more bytes than the whole file has (a directory saying 200 GB is refused);
3. each entry's ``.npy`` header (format 1.0 or 2.0, at most 10,000 bytes) is
   parsed on its own, and its dtype and shape checked against what the caller
   allows -- *before* any array exists;
4. the bytes the header's shape and dtype imply must be exactly the bytes the
   entry holds; only then is the array allocated and filled, and the entry's
   CRC-32 checked as its last byte is read.

So the memory this module allocates is bounded by the size of the file, and a
damaged or crafted file gives one :class:`NpzError` naming the entry.
"""
from __future__ import annotations

import math
import os
import zipfile

import numpy as np

__all__ = ["NpzError", "read_npz", "MAX_ENTRIES"]

MAX_ENTRIES = 100_000          # a checkpoint has ~3 entries per parameter array
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


class NpzError(ValueError):
    """The archive cannot be read; the message says which entry and why (one line)."""


def read_npz(path, allowed_dtype, check_keys=None) -> dict:
    """``{key: array}`` for every entry of the ``.npz`` at ``path`` (key: the name without ``.npy``).

    ``check_keys(keys)``, if given, sees the list of keys before anything is
    read and may raise. ``allowed_dtype(key, dtype, shape)`` is called with each entry's header
    before its data is read; it returns None to accept it or a string saying
    what is wrong (the entry is then refused with that reason). Arrays come
    back in native byte order, C-contiguous and writable.
    """
    try:
        archive = zipfile.ZipFile(path)
        file_bytes = os.path.getsize(path)
    except zipfile.BadZipFile as e:
        raise NpzError(f"the file is damaged or truncated ({e}); an interrupted copy?") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise NpzError(f"the archive holds {len(infos)} entries (at most {MAX_ENTRIES} are read)")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise NpzError(f"the archive holds the entries {twice[:5]} more than once")
        odd = [n for n in names if not n.endswith(".npy")]
        if odd:
            raise NpzError(f"the zip holds entries that are not NumPy arrays ({odd[:5]})")
        if check_keys is not None:
            check_keys([n[:-len(".npy")] for n in names])
        arrays = {}
        for info in infos:
            key = info.filename[:-len(".npy")]
            # The zip's directory states each entry's size; no entry can hold more bytes than
            # the whole file (a directory claiming 200 GB must not become an allocation).
            if info.file_size > file_bytes - info.header_offset:
                raise NpzError(f"entry {key!r}: the zip directory says it holds "
                               f"{info.file_size:,} bytes but the whole file has {file_bytes:,} "
                               "after its start: the file is damaged or was altered")
            arrays[key] = _read_entry(archive, info, key, allowed_dtype)
    return arrays


def _read_entry(archive, info, key, allowed_dtype) -> np.ndarray:
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise NpzError(f"entry {key!r} is compressed; minis2s reads only uncompressed archives "
                       "(as numpy.savez writes them), whose sizes it can check")
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in _HEADER_READERS:
                raise NpzError(f"entry {key!r}: .npy format version {version} is not read")
            shape, fortran_order, dtype = _HEADER_READERS[version](f)
            header_bytes = f.tell()
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise NpzError(f"entry {key!r} has dtype {dtype} (Python objects or records): "
                               "refused, it could only be read by unpickling")
            if dtype.itemsize == 0:
                raise NpzError(f"entry {key!r} has the empty dtype {dtype}")
            problem = allowed_dtype(key, dtype, shape)
            if problem:
                raise NpzError(f"entry {key!r}: {problem}")
            nbytes = math.prod(shape) * dtype.itemsize      # Python ints: no overflow
            held = info.file_size - header_bytes
            if nbytes != held:
                raise NpzError(f"entry {key!r}: its header declares shape {shape} of {dtype} "
                               f"({nbytes:,} bytes) but the entry holds {held:,} bytes of data")
            data = f.read(nbytes)
            if len(data) != nbytes or f.read(1):            # reading the end checks the CRC
                raise NpzError(f"entry {key!r} is truncated")
    except NpzError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise NpzError(f"entry {key!r} is damaged or truncated ({e}); an interrupted copy?") from None
    except (ValueError, SyntaxError, TypeError) as e:   # a malformed .npy header
        raise NpzError(f"entry {key!r} is not a valid .npy array ({e})") from None
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
    # Native byte order, C-contiguous, writable, owning its memory.
    return np.array(array, dtype=dtype.newbyteorder("="), order="C", copy=True)
