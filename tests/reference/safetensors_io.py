"""A minimal safetensors reader/writer for the reference tests (Debian ships no python3-safetensors):
u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw data."""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read(path):
    """Returns {name: numpy array}; BF16 is widened to float32."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            arr = from_bf16(np.frombuffer(data[b:e], dtype=np.uint16))
        else:
            arr = np.frombuffer(data[b:e], dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def to_bf16(arr):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    u = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write(path, tensors, bf16=False, metadata=None):
    """tensors: {name: numpy array of a dtype in _DTYPES}; bf16=True stores float32 arrays as BF16;
    metadata: an optional {str: str} written as "__metadata__" (e.g. {"format": "pt"}, as torch writers do)."""
    rev = {np.dtype(v): k for k, v in _DTYPES.items()}
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = rev[arr.dtype]
        if bf16 and arr.dtype == np.float32:
            arr, dtype = to_bf16(arr), "BF16"
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
