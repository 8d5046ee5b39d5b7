"""Write a dvc.lock and .dvc files as DVC 3 writes them, for tests (DVC itself cannot be
installed here), with the outs in DVC's local cache as `dvc repro` and `dvc add` leave them.

`_dvc_lock.py` reads from stdin a JSON list of stages, each {"name", "cmd", "deps": [paths],
"params": {file: [keys]}, "outs": [paths]}, with paths relative to the current
directory (the project root), and writes dvc.lock there.

`_dvc_lock.py add PATH...` does what `dvc add PATH` does: PATH.dvc beside each PATH, a
`/name` line in the .gitignore beside it, and its content in the cache.

The cache is DVC 3's (dvc-data's LocalHashFileDB with the "files/md5" prefix): an object is
.dvc/cache/files/md5/<first 2 hex digits>/<the other 30>, a directory's object (md5 + ".dir")
holding the same JSON list its hash is computed from.

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


CACHE = os.path.join(".dvc", "cache", "files", "md5")


def cache_object(md5, content):
    """Store bytes `content` as the object `md5` (read-only, as DVC leaves them)."""
    path = os.path.join(CACHE, md5[:2], md5[2:])
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o444)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def entry(path, cache=False):
    if not os.path.isdir(path):
        md5 = file_md5(path)
        if cache:
            cache_object(md5, read(path))
        return {"path": path, "hash": "md5", "md5": md5, "size": os.path.getsize(path)}
    files = []
    size = 0
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            md5 = file_md5(full)
            files.append({"md5": md5, "relpath": os.path.relpath(full, path)})
            size += os.path.getsize(full)
            if cache:
                cache_object(md5, read(full))
    files.sort(key=lambda item: item["relpath"])
    text = json.dumps(files, sort_keys=True).encode("utf-8")
    md5 = hashlib.md5(text).hexdigest() + ".dir"
    if cache:
        cache_object(md5, text)
    return {
        "path": path,
        "hash": "md5",
        "md5": md5,
        "size": size,
        "nfiles": len(files),
    }


def add(path):
    """`dvc add PATH` (dvc/output.py dumpd: md5, size, nfiles, hash, path, in that order)."""
    locked = entry(path, cache=True)
    out = {"md5": locked["md5"], "size": locked["size"]}
    if "nfiles" in locked:
        out["nfiles"] = locked["nfiles"]
    out["hash"] = "md5"
    out["path"] = os.path.basename(path)
    with open(path + ".dvc", "w") as f:
        yaml.safe_dump({"outs": [out]}, f, sort_keys=False)
    ignore = os.path.join(os.path.dirname(path), ".gitignore")
    with open(ignore, "a") as f:
        f.write("/" + os.path.basename(path) + "\n")


def lookup(data, key):
    for part in key.split("."):
        data = data[part]
    return data


if sys.argv[1:2] == ["add"]:
    for path in sys.argv[2:]:
        add(path)
    sys.exit(0)

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
        locked["outs"] = [entry(path, cache=True) for path in sorted(stage["outs"])]
    stages[stage["name"]] = locked

with open("dvc.lock", "w") as f:
    yaml.safe_dump({"schema": "2.0", "stages": stages}, f, sort_keys=False)
