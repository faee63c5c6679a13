"""Generate the benchmark tables once per scale (cached), with delta-rs or by writing the log.

Usage: python fixtures.py <scenario> <scale> <out_dir>
Prints one JSON line describing the fixture (paths and parameters both sides use).
Synthetic logs (snapshot-load, time-travel, checkpoint-write, vacuum) are written directly as
Delta commit files; checkpoints in them are written by delta-rs, so both sides read the same log.
"""
import json
import os
import shutil
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

SCALES = {
    # full sizes from issue 10; small is the 10x smaller smoke run CI executes
    "full": dict(commits=10_000, files=200_000, nocp_commits=2_000, tt_version=5_000,
                 cp_files=1_000_000, append_rows=10_000_000, scan_rows=10_000_000,
                 opt_files=2_000, opt_rows=5_000, vacuum_files=100_000, budget_files=768),
    "small": dict(commits=1_000, files=20_000, nocp_commits=200, tt_version=500,
                  cp_files=100_000, append_rows=1_000_000, scan_rows=1_000_000,
                  opt_files=200, opt_rows=5_000, vacuum_files=10_000, budget_files=77),
}

SCHEMA_STRING = json.dumps({"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "value", "type": "double", "nullable": True, "metadata": {}},
    {"name": "day", "type": "string", "nullable": True, "metadata": {}},
]})
NOW_MS = 1_700_000_000_000
# Bump when a fixture's content changes, so cached fixtures are rebuilt.
FIXTURE_VERSION = 2


def header(partition_by):
    return [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {"metaData": {"id": "00000000-0000-0000-0000-000000000001", "format": {"provider": "parquet", "options": {}},
                      "schemaString": SCHEMA_STRING, "partitionColumns": partition_by, "configuration": {},
                      "createdTime": NOW_MS}},
    ]


def add(path, day, i, data_change=True):
    stats = {"numRecords": 100, "minValues": {"id": i * 100, "value": 0.0}, "maxValues": {"id": i * 100 + 99, "value": 1.0},
             "nullCount": {"id": 0, "value": 0}}
    return {"add": {"path": path, "partitionValues": {"day": day}, "size": 1024 + i % 97, "modificationTime": NOW_MS + i,
                    "dataChange": data_change, "stats": json.dumps(stats)}}


def commit_info(op):
    return {"commitInfo": {"timestamp": NOW_MS, "operation": op, "operationParameters": {}}}


def write_commit(log_dir, version, actions):
    with open(os.path.join(log_dir, f"{version:020d}.json"), "w") as f:
        for a in actions:
            f.write(json.dumps(a, separators=(",", ":")))
            f.write("\n")


def synthetic_log(out, commits, files, checkpoint_every):
    """commits commits adding files/commits files each; every 10th commit also removes one file."""
    log = os.path.join(out, "_delta_log")
    os.makedirs(log, exist_ok=True)
    per = max(1, files // commits)
    n = 0
    for v in range(commits):
        actions = [commit_info("WRITE")]
        if v == 0:
            actions = header(["day"]) + actions
        for _ in range(per):
            actions.append(add(f"day=d{n % 30}/part-{n:08d}.parquet", f"d{n % 30}", n))
            n += 1
        if v % 10 == 9:  # a remove (and re-add) so replay has to reconcile
            victim = n - per - 1
            actions.append({"remove": {"path": f"day=d{victim % 30}/part-{victim:08d}.parquet", "deletionTimestamp": NOW_MS,
                                       "dataChange": True}})
            actions.append(add(f"day=d{victim % 30}/part-{victim:08d}-r.parquet", f"d{victim % 30}", victim))
        write_commit(log, v, actions)
        if checkpoint_every and v > 0 and v % checkpoint_every == 0:
            DeltaTable(out, version=v).create_checkpoint()
    return n


def source_parquet(path, rows):
    """10 columns: ints, doubles, strings, timestamps; 30 days."""
    import numpy as np
    rng = np.random.default_rng(42)
    chunk = 1_000_000
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        ids = np.arange(start, start + n, dtype=np.int64)
        day_idx = (ids * 30) // rows
        t = pa.table({
            "id": ids,
            "user_id": rng.integers(0, 1_000_000, n, dtype=np.int64),
            "qty": rng.integers(0, 100, n, dtype=np.int32),
            "price": rng.random(n) * 100,
            "discount": rng.random(n),
            "status": pa.array(np.array(["open", "shipped", "returned", "cancelled"])[rng.integers(0, 4, n)]),
            "sku": pa.array([f"sku-{x:06d}" for x in rng.integers(0, 50_000, n)]),
            "note": pa.array([f"note {x}" for x in rng.integers(0, 1000, n)]),
            "ts": pa.array((1_767_225_600_000_000 + ids * 1_000_000).astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC")),
            "day": pa.array([f"2026-01-{d + 1:02d}" for d in day_idx]),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, t.schema, compression="snappy")
        writer.write_table(t, row_group_size=250_000)
    writer.close()


def main():
    scenario, scale, out = sys.argv[1], sys.argv[2], sys.argv[3]
    s = SCALES[scale]
    os.makedirs(out, exist_ok=True)
    done = os.path.join(out, ".fixture.json")
    if os.path.exists(done):
        cached = json.loads(open(done).read())
        if cached.get("fixture_version") == FIXTURE_VERSION:
            print(json.dumps(cached))
            return
    if os.path.exists(os.path.join(out, "table")):  # stale or half-built: start over
        shutil.rmtree(os.path.join(out, "table"))
    t0 = time.time()
    info = {"scenario": scenario, "scale": scale, "table": os.path.join(out, "table"),
            "fixture_version": FIXTURE_VERSION}
    if scenario == "snapshot-load":  # time-travel opens an older version of the same table
        info["files"] = synthetic_log(info["table"], s["commits"], s["files"], 100)
        info["version"] = s["commits"] - 1
        info["tt_version"] = s["tt_version"]
    elif scenario == "snapshot-load-nocp":
        info["files"] = synthetic_log(info["table"], s["nocp_commits"], s["nocp_commits"] * 20, 0)
    elif scenario == "checkpoint-write":
        commits = 100 if scale == "small" else 1000
        info["files"] = synthetic_log(info["table"], commits, s["cp_files"], 0)
        DeltaTable(info["table"], version=commits - 2).create_checkpoint()
    elif scenario == "append":
        info["source"] = os.path.join(out, "source.parquet")
        source_parquet(info["source"], s["append_rows"])
        info["rows"] = s["append_rows"]
    elif scenario == "scan":  # scan-filter and scan-full
        src = os.path.join(out, "source.parquet")
        source_parquet(src, s["scan_rows"])
        # ~100k-row files ordered by id, so min/max statistics can skip for an id range
        reader = pq.ParquetFile(src)
        tbl = reader.read()
        step = 100_000
        for i in range(0, tbl.num_rows, step):
            write_deltalake(info["table"], tbl.slice(i, step), mode="append")
        info["rows"] = tbl.num_rows
        info["id_from"] = tbl.num_rows // 2
        info["id_to"] = tbl.num_rows // 2 + 1000
    elif scenario == "optimize":
        import numpy as np
        rows = s["opt_rows"]
        n = 0
        for c in range(s["opt_files"] // 10):
            batches = []
            for p in range(10):
                ids = np.arange(n, n + rows, dtype=np.int64)
                n += rows
                batches.append(pa.table({"id": ids, "value": ids * 0.5, "name": pa.array([f"n{x}" for x in ids % 1000]),
                                         "part": pa.array([f"p{p}"] * rows)}))
            write_deltalake(info["table"], pa.concat_tables(batches), mode="append", partition_by=["part"])
        info["rows"] = n
    elif scenario == "budget":  # optimize-budget, zorder-budget, optimize-second
        # One partition of 2.7 MiB files (2 GiB at full): id, two random doubles (the Z-order
        # columns) and a short string; about 28 bytes of Parquet per row.
        import numpy as np
        rng = np.random.default_rng(7)
        rows = 100_000
        names = np.array([f"name-{i:04d}" for i in range(1000)])
        for i in range(s["budget_files"]):
            ids = np.arange(i * rows, (i + 1) * rows, dtype=np.int64)
            t = pa.table({"id": ids, "x": rng.random(rows), "y": rng.random(rows),
                          "name": pa.array(names[rng.integers(0, 1000, rows)]),
                          "part": pa.array(["p0"] * rows)})
            write_deltalake(info["table"], t, mode="append", partition_by=["part"])
        info["rows"] = s["budget_files"] * rows
    elif scenario == "vacuum":
        table = info["table"]
        log = os.path.join(table, "_delta_log")
        os.makedirs(log, exist_ok=True)
        nfiles = s["vacuum_files"]
        adds = []
        for i in range(nfiles + 100):
            day = f"d{i % 30}"
            os.makedirs(os.path.join(table, f"day={day}"), exist_ok=True)
            path = f"day={day}/part-{i:08d}.parquet"
            with open(os.path.join(table, path), "wb") as f:
                f.write(b"x")
            adds.append(add(path, day, i))
        old = (NOW_MS // 1000 - 30 * 86400) * 1000
        write_commit(log, 0, header(["day"]) + [commit_info("WRITE")] + adds)
        removes = [{"remove": {"path": a["add"]["path"], "deletionTimestamp": old, "dataChange": True}}
                   for a in adds[:nfiles]]
        write_commit(log, 1, [commit_info("DELETE")] + removes)
        info["live"] = 100
        info["removed"] = nfiles
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    info["generated_s"] = round(time.time() - t0, 1)
    with open(done, "w") as f:
        f.write(json.dumps(info))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
