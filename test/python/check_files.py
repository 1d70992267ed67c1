"""Reads a LightRAG workspace directory the way LightRAG does and prints what it holds.

Used by the TypeScript tests to check that files written by ragspace load in Python:
the GraphML with networkx.read_graphml (as NetworkXStorage loads it), the key-value
stores with json, and the nano-vectordb files by their layout rules (embedding_dim,
matrix size, unit-length rows, the zlib + float16 `vector` field). Output is one JSON
document on stdout. Usage: check_files.py DIRECTORY [--vectors]
                           check_files.py --rewrite-graph SOURCE TARGET
"""

import base64
import hashlib
import json
import math
import os
import struct
import sys
import zlib

import networkx


def plain(value):
    """A JSON-safe copy: non-finite floats and huge ints become tagged strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return {"$other": repr(value)}


def typed(attributes):
    return {key: [type(value).__name__, plain(value)] for key, value in attributes.items()}


def read_graph(path):
    graph = networkx.read_graphml(path)
    edges = {}
    for source, target, attributes in graph.edges(data=True):
        key = "\u0000".join(sorted([source, target]))
        edges[key] = {"ends": sorted([source, target]), "attributes": typed(attributes)}
    return {
        "class": type(graph).__name__,
        "directed": graph.is_directed(),
        "nodes": {node: typed(attributes) for node, attributes in graph.nodes(data=True)},
        "edges": edges,
    }


def read_kv(path):
    with open(path, encoding="utf-8-sig") as handle:
        return plain(json.load(handle))


def decode_vector(text, dim):
    raw = zlib.decompress(base64.b64decode(text))
    if len(raw) != 2 * dim:
        return None
    return list(struct.unpack("<%de" % dim, raw))


def row_norm(row):
    return math.sqrt(sum(x * x for x in row))


def read_vdb(path, with_vectors):
    with open(path, encoding="utf-8") as handle:
        store = json.load(handle)
    dim = store["embedding_dim"]
    data = store["data"]
    matrix = base64.b64decode(store["matrix"]) if store["matrix"] else b""
    result = {
        "embedding_dim": dim,
        "keys": list(store.keys()),
        "rows": len(data),
        "matrix_bytes": len(matrix),
        "aligned": len(matrix) == 4 * dim * len(data),
        "bad_norms": [],
        "bad_vector_fields": [],
        "data": [],
        "row_digest": {},
        "vector_field": {},
        "decoded": {},
        "matrix_rows": {},
    }
    if not result["aligned"]:
        return result
    for index, row in enumerate(data):
        check_row(result, row, matrix[index * 4 * dim : (index + 1) * 4 * dim], dim, with_vectors)
    return result


def check_row(result, row, row_bytes, dim, with_vectors):
    row_id = row["__id__"]
    values = struct.unpack("<%df" % dim, row_bytes)
    norm = row_norm(values)
    if math.isfinite(norm) and norm != 0 and abs(norm - 1) > 1e-3:
        result["bad_norms"].append(row_id)
    result["data"].append(plain({k: v for k, v in row.items() if k != "vector"}))
    result["row_digest"][row_id] = hashlib.sha1(row_bytes).hexdigest()
    result["vector_field"][row_id] = row.get("vector")
    if "vector" in row:
        decoded = decode_vector(row["vector"], dim)
        if decoded is None:
            result["bad_vector_fields"].append(row_id)
        elif with_vectors:
            result["decoded"][row_id] = plain(decoded)
    if with_vectors:
        result["matrix_rows"][row_id] = plain(list(values))


def rewrite_graph(source, target):
    """What networkx itself writes for the graph it read (the ElementTree writer)."""
    networkx.write_graphml_xml(networkx.read_graphml(source), target)


def main():
    if sys.argv[1] == "--rewrite-graph":
        rewrite_graph(sys.argv[2], sys.argv[3])
        return
    directory = sys.argv[1]
    with_vectors = "--vectors" in sys.argv[2:]
    report = {"graph": None, "kv": {}, "vdb": {}, "networkx": networkx.__version__}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if ".tmp." in name or not os.path.isfile(path):
            continue
        if name.endswith(".graphml"):
            report["graph"] = read_graph(path)
        elif name.startswith("kv_store_") and name.endswith(".json"):
            report["kv"][name] = read_kv(path)
        elif name.startswith("vdb_") and name.endswith(".json"):
            report["vdb"][name] = read_vdb(path, with_vectors)
    json.dump(report, sys.stdout, ensure_ascii=True, allow_nan=False)


if __name__ == "__main__":
    main()
