"""Write a dvc.lock as DVC 3 writes it, for tests (DVC itself cannot be installed here).

Reads from stdin a JSON list of stages, each {"name", "cmd", "deps": [paths],
"params": {file: [keys]}, "outs": [paths]}, with paths relative to the current
directory (the project root), and writes dvc.lock there.

The hashes follow dvc-data (hashfile/hash.py, hashfile/tree.py): a file's md5
is the md5 of its bytes; a directory's is the md5 of json.dumps(list of
{"md5", "relpath"} sorted by relpath, sort_keys=True) with ".dir" appended.
The layout follows dvc/stage/serialize.py (to_single_stage_lockfile): cmd, then
deps and outs sorted by path, each with path, hash: md5, md5, size (and nfiles
for a directory), and params as {file: {key: value}} with keys sorted.
"""

import hashlib
import json
import os
import sys

import yaml


def file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def entry(path):
    if not os.path.isdir(path):
        return {"path": path, "hash": "md5", "md5": file_md5(path), "size": os.path.getsize(path)}
    files = []
    size = 0
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            files.append({"md5": file_md5(full), "relpath": os.path.relpath(full, path)})
            size += os.path.getsize(full)
    files.sort(key=lambda item: item["relpath"])
    text = json.dumps(files, sort_keys=True).encode("utf-8")
    return {
        "path": path,
        "hash": "md5",
        "md5": hashlib.md5(text).hexdigest() + ".dir",
        "size": size,
        "nfiles": len(files),
    }


def lookup(data, key):
    for part in key.split("."):
        data = data[part]
    return data


stages = {}
for stage in json.load(sys.stdin):
    locked = {"cmd": stage["cmd"]}
    if stage["deps"]:
        locked["deps"] = [entry(path) for path in sorted(stage["deps"])]
    if stage["params"]:
        locked["params"] = {}
        for file, keys in sorted(stage["params"].items()):
            with open(file) as f:
                values = yaml.safe_load(f)
            locked["params"][file] = {key: lookup(values, key) for key in sorted(keys)}
    if stage["outs"]:
        locked["outs"] = [entry(path) for path in sorted(stage["outs"])]
    stages[stage["name"]] = locked

with open("dvc.lock", "w") as f:
    yaml.safe_dump({"schema": "2.0", "stages": stages}, f, sort_keys=False)
