"""The delta-rs side of each benchmark scenario (same work as bench/ours.ts).

Usage: python peer.py <scenario> <fixture-json> <work_dir>
Times only the operation (not interpreter start-up or fixture copying) and prints one JSON line:
{"seconds": float, "result": {...}} where result is what run.ts compares with our side.
"""
import json
import os
import sys
import time

from deltalake import DeltaTable, QueryBuilder, write_deltalake


def main():
    scenario, info, work = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    table = work  # run.ts hands each run a fresh copy of the fixture table where the op writes
    if scenario in ("snapshot-load", "snapshot-load-nocp"):
        t0 = time.perf_counter()
        dt = DeltaTable(table)
        n = len(dt.file_uris())
        secs = time.perf_counter() - t0
        result = {"version": dt.version(), "files": n}
    elif scenario == "time-travel":
        t0 = time.perf_counter()
        dt = DeltaTable(table, version=info["tt_version"])
        n = len(dt.file_uris())
        secs = time.perf_counter() - t0
        result = {"version": dt.version(), "files": n}
    elif scenario == "checkpoint-write":
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        dt.create_checkpoint()
        secs = time.perf_counter() - t0
        result = {"version": dt.version(), "files": len(dt.file_uris())}
    elif scenario == "append":
        import pyarrow.dataset as ds
        t0 = time.perf_counter()
        reader = ds.dataset(info["source"]).scanner(batch_size=131_072).to_reader()
        write_deltalake(table, reader, partition_by=["day"], mode="append")
        secs = time.perf_counter() - t0
        dt = DeltaTable(table)
        result = {"version": dt.version(), "rows": dt.count()}
    elif scenario == "scan-filter":
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        q = f"select * from t where id >= {info['id_from']} and id < {info['id_to']}"
        tbl = QueryBuilder().register("t", dt).execute(q).read_all()
        secs = time.perf_counter() - t0
        result = {"rows": tbl.num_rows}
    elif scenario == "scan-full":
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        tbl = QueryBuilder().register("t", dt).execute("select * from t").read_all()
        secs = time.perf_counter() - t0
        result = {"rows": tbl.num_rows}
    elif scenario == "optimize":
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        metrics = dt.optimize.compact()
        secs = time.perf_counter() - t0
        dt = DeltaTable(table)
        result = {"rows": dt.count(), "files": len(dt.file_uris()), "removed": metrics["numFilesRemoved"]}
    elif scenario in ("optimize-budget", "zorder-budget"):
        # delta-rs's own bounds: max_spill_size is DataFusion's memory pool for the Z-order sort
        # (it spills beyond it), set to the 512 MiB budget ours gets; max_concurrent_tasks is its
        # default, one per core.
        budget = 512 * 1024 * 1024
        settings = {"max_concurrent_tasks": os.cpu_count(), "max_spill_size": budget}
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        if scenario == "zorder-budget":
            metrics = dt.optimize.z_order(["x", "y"], **settings)
        else:
            metrics = dt.optimize.compact(**settings)
        secs = time.perf_counter() - t0
        dt = DeltaTable(table)
        result = {"rows": dt.count(), "removed": metrics["numFilesRemoved"], "added": metrics["numFilesAdded"],
                  "files": len(dt.file_uris()), "settings": settings}
    elif scenario == "optimize-second":
        first = DeltaTable(table).optimize.compact()  # not timed
        dt = DeltaTable(table)
        before = dt.version()
        t0 = time.perf_counter()
        metrics = dt.optimize.compact()
        secs = time.perf_counter() - t0
        dt = DeltaTable(table)
        result = {"rows": dt.count(), "firstRemoved": first["numFilesRemoved"], "removed": metrics["numFilesRemoved"],
                  "added": metrics["numFilesAdded"], "commits": dt.version() - before, "files": len(dt.file_uris())}
    elif scenario == "vacuum":
        dt = DeltaTable(table)
        t0 = time.perf_counter()
        # full: list the table and delete unreferenced files, as our vacuum (and Spark's) does
        deleted = dt.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False, full=True)
        secs = time.perf_counter() - t0
        result = {"deleted": len(deleted), "files": len(DeltaTable(table).file_uris())}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps({"seconds": secs, "result": result}))


if __name__ == "__main__":
    main()
