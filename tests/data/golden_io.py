"""Writer for ghnas golden files (read by tests/unit/golden.c).

Format (little-endian): magic b"GHNG", u32 version (1), u32 record count, then per record:
u32 name length, name bytes (UTF-8), u32 ndim, ndim x i64 shape, numel x f32 values.
"""
import struct

import numpy as np


def write_golden(path, records):
    """records: list of (name, numpy array) pairs; arrays are stored as float32."""
    with open(path, "wb") as f:
        f.write(b"GHNG")
        f.write(struct.pack("<II", 1, len(records)))
        for name, arr in records:
            a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
            shape = a.shape if a.ndim > 0 else (1,)
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", len(shape)))
            f.write(struct.pack("<%dq" % len(shape), *shape))
            f.write(a.tobytes())
