"""Cut the exported one-graph model into a text-encoder graph and a head graph (a post-step of export).

Why: the encoder is ~all of the compute, and a video's text rarely changes while its stats do (the
stream scorer re-scores a video each time a scrape refreshes its counts; ``explain`` re-scores a
row six times with one group masked; a creator scores one title at many posting times). With the
encoder in its own graph, serving computes each text's embedding once, keeps it
(:mod:`miles_core.inference.encode_once`) and runs only the small head for everything else.

The two graphs are *extracted* from ``model.onnx`` (``onnx.utils.Extractor``): the very same
quantized nodes and initializers on each side of the cut, so outputs equal the one-graph model's
(tested). The cut is two tensors that depend on the text alone: the pooled, L2-normalised embedding
(``ServingModel.embed``; the one token-dependent tensor the head's nodes read) and the text-neighbour
prior (the output of the ``/neighbours/`` nodes, :class:`~miles_core.training.network.NeighbourPrior`).
So the prior's similarity search runs in the encoder graph, once per text, and is cached with the
embedding; re-scores, explanations and posting-time scans never repeat it. The two are renamed
:data:`~miles_core.inference.artifact.EMBEDDING` and :data:`~miles_core.inference.artifact.NEIGHBOUR_PRIOR`
on both sides, names that do not depend on how torch numbered the exporter's nodes.

The encoder is then optimized once, here, by onnxruntime itself at its "extended" level (the fusions
it would otherwise redo in every cold start: QDQ pairs into ``QLinearMatMul``, skip layer norms, bias
GELU) and stored with its weights as ONNX external data. Measured in ARCHITECTURE.md, "Serving": the
encoder session loads ~3x faster and the process's RSS is lower; run time is about the same; outputs
are unchanged (tested equal to ``model.onnx``'s, and the card's metrics reproduce within 1e-4). The
extended level's choices are made per onnxruntime build, not per CPU (whether int8 activations may
be fused is a compile-time switch, off on x86-64): a test optimizes the same graph natively and on an
emulated AVX2-only CPU and gets the same bytes. The CPU-specific layout level still runs at load time.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from miles_core.inference.artifact import (
    EMBEDDING,
    ENCODER_DATA_FILE,
    ENCODER_FILE,
    HEAD_FILE,
    NEIGHBOUR_PRIOR,
    ONNX_FILE,
    ONNX_OUTPUTS,
    SERVING_GRAPHS_FILE,
    TEXT_INPUTS,
    ServingGraphs,
)

if TYPE_CHECKING:
    import onnx

HEAD_SCOPE = "/head/"
"""Node-name prefix of the fusion head in the traced graph (``ServingModel.head``)."""
NEIGHBOURS_SCOPE = "/neighbours/"
"""Node-name prefix of the text-neighbour prior in the traced graph (``ServingModel.neighbours``)."""
TABULAR_INPUTS = ("numeric", "lexical")


def _scope_input(graph: onnx.GraphProto, scope: str) -> str:
    """The one token-dependent tensor that nodes of ``scope`` read from outside it."""
    nodes = list(graph.node)
    text_dependent = set(TEXT_INPUTS)
    for node in nodes:  # nodes are topologically sorted in a valid ONNX graph
        if any(name in text_dependent for name in node.input):
            text_dependent.update(node.output)
    producers = {output: node for node in nodes for output in node.output}
    cut = {
        name
        for node in nodes
        if node.name.startswith(scope)
        for name in node.input
        if name in text_dependent and name in producers and not producers[name].name.startswith(scope)
    }
    if len(cut) != 1:
        raise ValueError(f"expected one text tensor read by {scope} nodes, found {sorted(cut)}")
    return str(cut.pop())


def _scope_output(graph: onnx.GraphProto, scope: str) -> str:
    """The one tensor that nodes of ``scope`` produce and nodes outside it read."""
    nodes = list(graph.node)
    produced = {output for node in nodes if node.name.startswith(scope) for output in node.output}
    read = {name for node in nodes if not node.name.startswith(scope) for name in node.input if name in produced}
    if len(read) != 1:
        raise ValueError(f"expected one output of the {scope} nodes, found {sorted(read)}")
    return str(read.pop())


def _rename(model: onnx.ModelProto, old: str, new: str) -> None:
    """Rename tensor ``old`` to ``new`` everywhere in ``model``'s graph (inputs, outputs, node ends)."""
    graph = model.graph
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.name == old:
            value.name = new
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new


def optimize_offline(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` as onnxruntime's CPU provider rewrites it at the "extended" optimization level."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "source.onnx", Path(scratch) / "optimized.onnx"
        source.write_bytes(model.SerializeToString())
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(target)
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        return onnx.load(str(target))


def save_with_external_weights(model: onnx.ModelProto, path: Path, data_name: str) -> None:
    """Write ``model`` to ``path`` with every initializer over 1 KiB in ``path.parent / data_name``.

    onnx appends to an existing data file, so it is removed first: the same model always gives the
    same two files (the encoder's sha256 versions cached embeddings).
    """
    import onnx

    (path.parent / data_name).unlink(missing_ok=True)
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_name,
        size_threshold=1024,
    )
    (path.parent / data_name).chmod(0o644)  # onnx creates it owner-only; readable like the graph file


def encoder_digest(out_dir: Path) -> str:
    """sha256 over the encoder graph and its weights file: what a cached embedding depends on."""
    digest = hashlib.sha256()
    for name in (ENCODER_FILE, ENCODER_DATA_FILE):
        digest.update(hashlib.sha256((out_dir / name).read_bytes()).digest())
    return digest.hexdigest()


def split_serving_graphs(out_dir: Path) -> ServingGraphs:
    """Write ``encoder.onnx`` (+ ``.data``), ``head.onnx`` and ``serving_graphs.json`` next to ``model.onnx``.

    Deterministic (same ``model.onnx`` bytes in, same files out), so ``encoder_sha256`` changes
    exactly when the encoder's computation does: it versions every cached embedding.
    """
    import onnx
    from onnx.utils import Extractor

    # Shape inference adds the value_info the extractor needs for the cut (the quantizer's output has
    # it already, a plain fp32 export does not); it changes no node.
    model = onnx.shape_inference.infer_shapes(onnx.load(str(out_dir / ONNX_FILE)))
    embedding = _scope_input(model.graph, HEAD_SCOPE)
    prior = _scope_output(model.graph, NEIGHBOURS_SCOPE)
    extractor = Extractor(model)
    encoder = extractor.extract_model(list(TEXT_INPUTS), [embedding, prior])
    head = extractor.extract_model([embedding, prior, *TABULAR_INPUTS], list(ONNX_OUTPUTS))
    for part in (encoder, head):
        _rename(part, embedding, EMBEDDING)
        _rename(part, prior, NEIGHBOUR_PRIOR)
        part.producer_name, part.producer_version = model.producer_name, model.producer_version
        onnx.checker.check_model(part)
    head_inputs = {value.name for value in head.graph.input}
    if head_inputs & set(TEXT_INPUTS):
        raise ValueError(f"the head graph still reads token inputs: {sorted(head_inputs)}")
    shape = next(value for value in encoder.graph.output if value.name == EMBEDDING).type.tensor_type.shape
    save_with_external_weights(optimize_offline(encoder), out_dir / ENCODER_FILE, ENCODER_DATA_FILE)
    (out_dir / HEAD_FILE).write_bytes(head.SerializeToString())
    graphs = ServingGraphs(
        embedding=EMBEDDING,
        embedding_dim=int(shape.dim[-1].dim_value),
        encoder_sha256=encoder_digest(out_dir),
    )
    graphs.save(out_dir / SERVING_GRAPHS_FILE)
    return graphs
