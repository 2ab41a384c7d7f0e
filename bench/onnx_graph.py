"""The E5S1 weights as a standard-op ONNX graph (opset 17): Gather embeddings, MatMul/Add
linears, LayerNormalization, exact GELU through Erf, softmax attention with an additive
padding mask, masked mean pooling and L2 normalisation inside the graph. Inputs
`input_ids` and `attention_mask` (int64, batch × tokens); output `embedding` (batch × 384).
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(header, w) -> bytes:
    hidden, heads = header["hidden"], header["heads"]
    head_size = hidden // heads
    eps = float(header["eps"])
    nodes, inits = [], []
    counter = [0]

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, **attrs):
        counter[0] += 1
        out = f"{op.lower()}_{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, prefix):
        weight = const(prefix + ".wT", w[prefix + ".w"].T.astype(np.float32))
        bias = const(prefix + ".b", w[prefix + ".b"].astype(np.float32))
        return node("Add", [node("MatMul", [x, weight]), bias])

    def layer_norm(x, prefix):
        return node(
            "LayerNormalization",
            [x, const(prefix + ".w", w[prefix + ".w"]), const(prefix + ".b", w[prefix + ".b"])],
            axis=-1,
            epsilon=eps,
        )

    const("zero1", np.array([0], dtype=np.int64))
    const("axis1", np.array([1], dtype=np.int64))
    const("axes12", np.array([1, 2], dtype=np.int64))
    const("axis2", np.array([2], dtype=np.int64))
    const("heads_shape", np.array([0, 0, heads, head_size], dtype=np.int64))
    const("hidden_shape", np.array([0, 0, hidden], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(head_size), dtype=np.float32))
    const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    const("f_one", np.array(1.0, dtype=np.float32))
    const("f_half", np.array(0.5, dtype=np.float32))
    const("neg_big", np.array(-1e9, dtype=np.float32))
    const("tiny", np.array(1e-12, dtype=np.float32))

    # Embeddings: word + position (0..len) + token type 0, then LayerNorm.
    word = node("Gather", [const("emb.word", w["emb.word"]), "input_ids"], axis=0)
    # Positions 0..tokens: the first `tokens` rows of the position table.
    length = node("Shape", ["input_ids"], start=1, end=2)
    pos = node("Slice", [const("emb.pos", w["emb.pos"]), "zero1", length, "zero1"])
    x = node("Add", [node("Add", [word, pos]), const("emb.type0", w["emb.type"][0])])
    x = layer_norm(x, "emb.ln")

    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # (1 - mask) · -1e9, shaped (batch, 1, 1, tokens).
    bias = node("Unsqueeze", [node("Mul", [node("Sub", ["f_one", mask]), "neg_big"]), "axes12"])

    for i in range(header["layers"]):
        p = f"l{i}"

        def split(t):
            return node("Reshape", [t, "heads_shape"])

        q = node("Transpose", [split(linear(x, p + ".q"))], perm=[0, 2, 1, 3])
        k = node("Transpose", [split(linear(x, p + ".k"))], perm=[0, 2, 3, 1])
        v = node("Transpose", [split(linear(x, p + ".v"))], perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), "scale"]), bias])
        probs = node("Softmax", [scores], axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = node("Reshape", [context, "hidden_shape"])
        x = layer_norm(node("Add", [linear(context, p + ".ao"), x]), p + ".aln")
        inner = linear(x, p + ".fi")
        erf = node("Erf", [node("Mul", [inner, "inv_sqrt2"])])
        gelu = node("Mul", [node("Mul", [inner, node("Add", [erf, "f_one"])]), "f_half"])
        x = layer_norm(node("Add", [linear(gelu, p + ".fo"), x]), p + ".oln")

    # Masked mean pooling, then L2 normalisation.
    mask3 = node("Unsqueeze", [mask, "axis2"])
    summed = node("ReduceSum", [node("Mul", [x, mask3]), "axis1"], keepdims=0)
    counts = node("ReduceSum", [mask, "axis1"], keepdims=1)
    mean = node("Div", [summed, node("Max", [counts, "f_one"])])
    norm = node("Max", [node("ReduceL2", [mean], axes=[1], keepdims=1), "tiny"])
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
