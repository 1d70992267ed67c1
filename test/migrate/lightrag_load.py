"""Loads a LightRAG working directory the way LightRAG's Python storages do, and prints a
JSON summary of what they see: the graph through networkx.read_graphml, each key-value
store through json.load, each nano-vectordb store with its matrix and float16 vectors
decoded. Used by test/migrate/roundtrip.test.ts to check that exported files load in
Python with the same content as the originals. Standard library and networkx only.
"""

import base64
import json
import math
import os
import struct
import sys
import zlib

import networkx as nx


def clean(value):
    """JSON cannot carry NaN or infinities; tag them."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$number": repr(value)}
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def load_graph(path):
    graph = nx.read_graphml(path)
    nodes = {str(n): clean(dict(a)) for n, a in graph.nodes(data=True)}
    edges = {}
    for u, v, a in graph.edges(data=True):
        low, high = sorted([str(u), str(v)])
        edges[low + "\u0001" + high] = clean(dict(a))
    return {
        "directed": graph.is_directed(),
        "multigraph": graph.is_multigraph(),
        "nodes": nodes,
        "edges": edges,
    }


def half_floats(encoded):
    raw = zlib.decompress(base64.b64decode(encoded))
    return [v for (v,) in struct.iter_unpack("<e", raw)]


def load_vdb(path):
    with open(path, encoding="utf-8") as f:
        store = json.load(f)
    dim = store["embedding_dim"]
    matrix = base64.b64decode(store["matrix"]) if store["matrix"] else b""
    if len(matrix) != 4 * dim * len(store["data"]):
        raise SystemExit(f"{path}: matrix does not match data")
    rows = {}
    for i, row in enumerate(store["data"]):
        start = 4 * dim * i
        floats = [v for (v,) in struct.iter_unpack("<f", matrix[start : start + 4 * dim])]
        meta = {k: v for k, v in row.items() if k not in ("__id__", "vector")}
        vector = half_floats(row["vector"]) if "vector" in row else None
        rows[row["__id__"]] = {"meta": meta, "matrix": clean(floats), "vector": clean(vector)}
    return {"dim": dim, "rows": rows}


def main(directory):
    result = {"kv": {}, "vdb": {}}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.endswith(".graphml"):
            result["graph"] = load_graph(path)
        elif name.startswith("kv_store_") and name.endswith(".json"):
            with open(path, encoding="utf-8-sig") as f:
                result["kv"][name[len("kv_store_") : -len(".json")]] = clean(json.load(f))
        elif name.startswith("vdb_") and name.endswith(".json"):
            result["vdb"][name[len("vdb_") : -len(".json")]] = load_vdb(path)
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
