"""Reader of the E5S1 container (multilingual-e5-small, 4-bit Q4_0 weights) in numpy.

Returns the dequantised f32 weights under the container's own names (`emb.word`,
`l0.q.w`, ...) and the header. The layout is the one `src/embed/e5s1.rs` reads:
magic, version, seven i32 dimensions, the layer-norm eps, the block size, an embedded
SentencePiece vocabulary (skipped: tokenizer.json replaces it), the tensor directory and
the tensor data (f32, or Q4_0 blocks of an f16 scale and 16 bytes of nibble pairs).
"""

import struct

import numpy as np

Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18


def dequantize_q4_0(raw: bytes, elements: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    assert blocks.shape[0] * Q4_BLOCK == elements, "Q4_0 length mismatch"
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    q = blocks[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * d
    return values.reshape(-1)


def load(path):
    data = open(path, "rb").read()
    pos = 0

    def take(n):
        nonlocal pos
        chunk = data[pos : pos + n]
        if len(chunk) != n:
            raise ValueError(f"{path}: truncated at byte {pos}")
        pos += n
        return chunk

    if take(4) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 container")
    (version,) = struct.unpack("<I", take(4))
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = struct.unpack("<7i", take(28))
    (eps,) = struct.unpack("<f", take(4))
    (block,) = struct.unpack("<i", take(4))
    assert block == Q4_BLOCK, f"block size {block}"
    # The embedded vocabulary.
    (pieces,) = struct.unpack("<i", take(4))
    take(16)
    (blob,) = struct.unpack("<Q", take(8))
    take((pieces + 1) * 4)
    take(pieces * 4)
    take(blob)
    take(4)
    (normaliser,) = struct.unpack("<I", take(4))
    take(normaliser)
    # The tensor directory.
    (count,) = struct.unpack("<i", take(4))
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack("<H", take(2))
        name = take(name_len).decode()
        (dtype,) = struct.unpack("<B", take(1))
        (elements,) = struct.unpack("<I", take(4))
        offset, length = struct.unpack("<QQ", take(16))
        raw = data[offset : offset + length]
        if dtype == 0:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == 1:
            values = dequantize_q4_0(raw, elements)
        else:
            raise ValueError(f"tensor {name}: dtype {dtype}")
        tensors[name] = values
    header = dict(
        version=version, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
        max_positions=max_positions, type_vocab=type_vocab, eps=eps,
    )
    shaped = {}
    for name, values in tensors.items():
        if name == "emb.word":
            shape = (vocab, hidden)
        elif name == "emb.pos":
            shape = (max_positions, hidden)
        elif name == "emb.type":
            shape = (type_vocab, hidden)
        elif name.endswith(".w") and name.split(".")[1] in ("q", "k", "v", "ao"):
            shape = (hidden, hidden)
        elif name.endswith(".fi.w"):
            shape = (ffn, hidden)
        elif name.endswith(".fo.w"):
            shape = (hidden, ffn)
        else:
            shape = (values.size,)
        shaped[name] = values.reshape(shape)
    return header, shaped
