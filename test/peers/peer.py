#!/usr/bin/env python3
"""Serve a batch of Delta table requests with a reference engine: delta-rs or Spark + Delta.

Usage: peer.py --engine delta-rs|spark [--peers-json PATH]  <requests.json  >results.json

stdin holds a JSON array of requests, stdout receives a JSON array with one result per request,
in the same order. A result is {"ok": true, ...} or {"ok": false, "error": "..."}: a failing
request does not stop the batch. Everything else (engine logs, the JVM's own output) goes to
stderr. Spark is started once per batch, offline, with the jars that scripts/env.d/
10-python-peers.sh resolved (listed in $CACHE/peers.json).

Requests (every one has "op" and "table", a local path or a URI delta-rs understands;
"storage_options" is passed to delta-rs):
  read       {version?, timestamp?, columns?} -> {rows, numRows, version, schema}
  files      {version?}                       -> {files, version}
  version    {}                               -> {version}
  write      {rows | input: {parquet|jsonl: path}, schema?, mode?, partitionBy?, properties?,
              replaceWhere?}                  -> {version}
  history    {}                               -> {entries}
  optimize   {}                               -> {version, metrics}
  vacuum     {retentionHours?, enforceRetention?} -> {version, deleted?}
  checkpoint {}                               -> {version}
  delete     {predicate?}                     -> {version, metrics}

Rows travel in the canonical JSON encoding (see encode_value): our TypeScript reader produces
the same strings, so the three engines compare row sets as sorted lists of strings.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import re
import sys
import time
import traceback
from datetime import datetime, timezone
from decimal import Decimal, localcontext
from typing import Any, Callable
from urllib.parse import unquote

# Spark hands timestamps to Python in the process's local zone: make that UTC for every engine.
os.environ["TZ"] = "UTC"
time.tzset()

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

MAX_SAFE_INTEGER = 2**53 - 1

# ---------------------------------------------------------------------------------------------
# Canonical JSON encoding of rows (THE comparison format; test/harness/peers.ts documents it).
# ---------------------------------------------------------------------------------------------


def js_number(x: float) -> str:
    """A finite float as ECMAScript's Number::toString (= JSON.stringify) writes it."""
    if x == 0:
        return "0"  # also -0, as JSON.stringify does
    sign = "-" if x < 0 else ""
    # repr gives the shortest digits that round-trip, the same digits ECMAScript chooses.
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)  # dropped trailing zeros
    k = len(digits)
    n = k + exponent  # value = 0.digits * 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def days_from_civil(year: int, month: int, day: int) -> int:
    """Day count since 1970-01-01 of a proleptic Gregorian date."""
    year -= 1 if month <= 2 else 0
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def format_date(days: int) -> str:
    """YYYY-MM-DD; the year has at least 4 digits, and a minus sign before 0 (as lib/data writes it)."""
    year, month, day = civil_from_days(days)
    y = f"-{-year:04d}" if year < 0 else f"{year:04d}"
    return f"{y}-{month:02d}-{day:02d}"


def format_timestamp(micros: int, utc: bool) -> str:
    """YYYY-MM-DDTHH:MM:SS.ffffff, followed by Z for a UTC-adjusted timestamp."""
    days, rest = divmod(micros, 86_400_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    hh, rem = divmod(seconds, 3600)
    mm, ss = divmod(rem, 60)
    return f"{format_date(days)}T{hh:02d}:{mm:02d}:{ss:02d}.{fraction:06d}{'Z' if utc else ''}"


_MICROS_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}


def to_micros(value: int, unit: str) -> int:
    return value // 1_000 if unit == "ns" else value * _MICROS_PER_UNIT[unit]


def json_string(text: str) -> str:
    # ensure_ascii=False escapes exactly what JSON.stringify escapes (", \, control characters).
    return json.dumps(text, ensure_ascii=False)


def _integer_like(t: pa.DataType) -> pa.DataType | None:
    """The type to cast to so that to_pylist yields plain integers for dates and timestamps (and
    plain strings, binaries and lists for the large and view variants); None if t can stay."""
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        return pa.int64()
    if pa.types.is_date32(t):
        return pa.int32()
    if pa.types.is_dictionary(t):
        return _integer_like(t.value_type) or t.value_type
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_struct(t):
        children = [_integer_like(f.type) for f in t]
        if all(c is None for c in children):
            return None
        return pa.struct([f if c is None else f.with_type(c) for f, c in zip(t, children)])
    if pa.types.is_map(t):
        key, item = t.key_field, t.item_field
        key_type, item_type = _integer_like(key.type), _integer_like(item.type)
        if key_type is None and item_type is None:
            return None
        return pa.map_(key.with_type(key_type or key.type), item.with_type(item_type or item.type))
    if pa.types.is_list(t) and _integer_like(t.value_type) is None:
        return None
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_fixed_size_list(t):
        value = t.value_field
        return pa.list_(value.with_type(_integer_like(value.type) or value.type))
    return None


def encode_value(value: Any, t: pa.DataType) -> str:
    """One value (as to_pylist yields it after casting to _integer_like) as canonical JSON."""
    if value is None:
        return "null"
    if pa.types.is_dictionary(t):
        return encode_value(value, t.value_type)
    if pa.types.is_boolean(t):
        return "true" if value else "false"
    if pa.types.is_integer(t):
        return str(value) if abs(value) <= MAX_SAFE_INTEGER else f'"{value}"'
    if pa.types.is_floating(t):
        if math.isnan(value):
            return '"NaN"'
        if math.isinf(value):
            return '"Infinity"' if value > 0 else '"-Infinity"'
        return js_number(float(value))
    if pa.types.is_decimal(t):
        with localcontext() as context:
            context.prec = 100  # decimal(38, s) has more digits than the default context keeps
            return f'"{Decimal(value).quantize(Decimal(1).scaleb(-t.scale)):f}"'
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return json_string(value)
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        return '"' + base64.b64encode(value).decode("ascii") + '"'
    if pa.types.is_date32(t):
        return f'"{format_date(value)}"'
    if pa.types.is_date64(t):
        return f'"{format_date(value // 86_400_000)}"'
    if pa.types.is_timestamp(t):
        return f'"{format_timestamp(to_micros(value, t.unit), t.tz is not None)}"'
    if pa.types.is_struct(t):
        return encode_struct(value, list(t))
    if pa.types.is_map(t):
        pairs = [f"[{encode_value(k, t.key_type)},{encode_value(v, t.item_type)}]" for k, v in value]
        return "[" + ",".join(pairs) + "]"
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_fixed_size_list(t)
    ):
        return "[" + ",".join(encode_value(v, t.value_type) for v in value) + "]"
    raise TypeError(f"canonical encoding: no rule for Arrow type {t}")


def encode_struct(value: dict[str, Any], fields: list[pa.Field]) -> str:
    return "{" + ",".join(f"{json_string(f.name)}:{encode_value(value[f.name], f.type)}" for f in fields) + "}"


def canonical_rows(table: pa.Table) -> list[str]:
    """Every row as canonical JSON with keys in the table's column order, sorted as strings."""
    fields = list(table.schema)
    for i, field in enumerate(fields):
        target = _integer_like(field.type)
        if target is not None:  # cast only what needs it: casts of nested types are picky
            table = table.set_column(i, field.with_type(target), table.column(i).cast(target))
    return sorted(encode_struct(row, fields) for row in table.to_pylist())


# ---------------------------------------------------------------------------------------------
# Decoding canonical rows for writes: Delta schema -> Arrow schema, JSON values -> Arrow values.
# ---------------------------------------------------------------------------------------------

_PRIMITIVES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "long": pa.int64(),
    "integer": pa.int32(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "float": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "binary": pa.binary(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def parse_schema(schema: Any) -> dict[str, Any]:
    """A Delta schema: its JSON text, the parsed struct, or just the list of its fields."""
    if isinstance(schema, str):
        schema = json.loads(schema)
    if isinstance(schema, list):
        schema = {"type": "struct", "fields": schema}
    if not isinstance(schema, dict) or schema.get("type") != "struct":
        raise ValueError('schema must be a Delta struct type, {"type":"struct","fields":[...]}')
    return schema


def arrow_type(delta_type: Any) -> pa.DataType:
    if isinstance(delta_type, str):
        if delta_type in _PRIMITIVES:
            return _PRIMITIVES[delta_type]
        match = _DECIMAL.match(delta_type)
        if match:
            return pa.decimal128(int(match.group(1)), int(match.group(2)))
        raise ValueError(f"schema: unknown Delta type {delta_type!r}")
    kind = delta_type.get("type")
    if kind == "struct":
        return pa.struct([arrow_field(f) for f in delta_type["fields"]])
    if kind == "array":
        element = pa.field("element", arrow_type(delta_type["elementType"]), delta_type.get("containsNull", True))
        return pa.list_(element)
    if kind == "map":
        value = pa.field("value", arrow_type(delta_type["valueType"]), delta_type.get("valueContainsNull", True))
        return pa.map_(pa.field("key", arrow_type(delta_type["keyType"]), False), value)
    raise ValueError(f"schema: unknown Delta type {delta_type!r}")


def arrow_field(field: dict[str, Any]) -> pa.Field:
    return pa.field(field["name"], arrow_type(field["type"]), field.get("nullable", True))


_TIMESTAMP = re.compile(r"^([+-]?\d{4,6})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$")
_DATE = re.compile(r"^([+-]?\d{4,6})-(\d\d)-(\d\d)$")


def parse_date(text: str) -> int:
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}")
    return days_from_civil(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def parse_timestamp(text: str) -> int:
    """Microseconds since the epoch; an offset (Z or +HH:MM) is applied, none means as written."""
    match = _TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"not a timestamp (YYYY-MM-DDTHH:MM:SS.ffffff[Z]): {text!r}")
    year, month, day, hh, mm, ss = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    offset = 0
    zone = match.group(8)
    if zone and zone != "Z":
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60_000_000
    return ((days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + micros - offset


def decode_value(value: Any, t: pa.DataType) -> Any:
    """A canonical JSON value as the Python value pyarrow builds type t from."""
    if value is None:
        return None
    if pa.types.is_integer(t):
        return int(value)
    if pa.types.is_floating(t):
        return float(value)  # also "NaN", "Infinity", "-Infinity"
    if pa.types.is_decimal(t):
        return Decimal(str(value))
    if pa.types.is_binary(t):
        return base64.b64decode(value)
    if pa.types.is_date32(t):
        return parse_date(value)
    if pa.types.is_timestamp(t):
        return parse_timestamp(value) if isinstance(value, str) else int(value)
    if pa.types.is_struct(t):
        return {f.name: decode_value(value.get(f.name), f.type) for f in t}
    if pa.types.is_map(t):
        pairs = value.items() if isinstance(value, dict) else value
        return [(decode_value(k, t.key_type), decode_value(v, t.item_type)) for k, v in pairs]
    if pa.types.is_list(t):
        return [decode_value(v, t.value_type) for v in value]
    return value


def input_table(request: dict[str, Any]) -> pa.Table:
    """The rows to write: request rows or a JSON-lines file (canonical, needs a schema) or Parquet."""
    source = request.get("input") or {}
    if "parquet" in source:
        table = pq.read_table(source["parquet"])
        if "schema" in request:
            table = table.cast(pa.schema([arrow_field(f) for f in parse_schema(request["schema"])["fields"]]))
        return table
    if "schema" not in request:
        raise ValueError("write: rows need a schema (Delta schema JSON or its list of fields)")
    schema = pa.schema([arrow_field(f) for f in parse_schema(request["schema"])["fields"]])
    if "jsonl" in source:
        with open(source["jsonl"], encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    elif "rows" in request:
        rows = request["rows"]
    else:
        raise ValueError('write: give "rows", "input": {"parquet": path} or "input": {"jsonl": path}')
    row_type = pa.struct(list(schema))
    decoded = [decode_value(row, row_type) for row in rows]
    return pa.Table.from_pylist(decoded, schema=schema)


def jsonable(value: Any) -> Any:
    """History entries as JSON: datetimes as ISO text, Spark Rows and maps as objects."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "asDict"):
        return jsonable(value.asDict(recursive=True))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------


class DeltaRs:
    """delta-rs through the deltalake package."""

    name = "delta-rs"

    def __init__(self) -> None:
        import deltalake

        self.deltalake = deltalake

    def table(self, request: dict[str, Any], version: Any = None):
        dt = self.deltalake.DeltaTable(request["table"], storage_options=request.get("storage_options"))
        if request.get("timestamp") is not None:
            dt.load_as_version(request["timestamp"])
        elif version is not None:
            dt.load_as_version(int(version))
        return dt

    def read(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r, r.get("version"))
        columns = r.get("columns") or [f.name for f in dt.schema().fields]
        # delta-rs's own scan (DataFusion on delta-kernel): unlike to_pyarrow_table it applies
        # deletion vectors and column mapping, and reads v2 checkpoints.
        select = ", ".join('"' + name.replace('"', '""') + '"' for name in columns)
        result = self.deltalake.QueryBuilder().register("t", dt).execute(f"SELECT {select} FROM t")
        rows = canonical_rows(pa.table(result.read_all()))
        return {"rows": rows, "numRows": len(rows), "version": dt.version(), "schema": dt.schema().to_json()}

    def files(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r, r.get("version"))
        # add.path is a percent-encoded URI reference; report the file's real relative name.
        paths = dt.get_add_actions(flatten=True).column("path").to_pylist()
        return {"files": sorted(unquote(p) for p in paths), "version": dt.version()}

    def version(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"version": self.table(r).version()}

    def write(self, r: dict[str, Any]) -> dict[str, Any]:
        self.deltalake.write_deltalake(
            r["table"],
            input_table(r),
            mode=r.get("mode", "append"),
            partition_by=r.get("partitionBy"),
            configuration=r.get("properties"),
            predicate=r.get("replaceWhere"),
            storage_options=r.get("storage_options"),
        )
        return self.version(r)

    def history(self, r: dict[str, Any]) -> dict[str, Any]:
        entries = []
        for entry in self.table(r).history():
            entry = dict(entry)
            normalized = {
                "version": entry.pop("version", None),
                "timestamp": entry.pop("timestamp", None),
                "operation": entry.pop("operation", None),
                "operationParameters": entry.pop("operationParameters", {}),
            }
            normalized.update(entry)
            entries.append(jsonable(normalized))
        return {"entries": sorted(entries, key=lambda e: -(e["version"] or 0))}

    def optimize(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r)
        metrics = dt.optimize.compact()
        return {"version": dt.version(), "metrics": jsonable(metrics)}

    def vacuum(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r)
        deleted = dt.vacuum(
            retention_hours=r.get("retentionHours"),
            dry_run=False,
            enforce_retention_duration=r.get("enforceRetention", False),
        )
        return {"version": self.table(r).version(), "deleted": sorted(deleted)}

    def checkpoint(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r)
        dt.create_checkpoint()
        return {"version": dt.version()}

    def delete(self, r: dict[str, Any]) -> dict[str, Any]:
        dt = self.table(r)
        metrics = dt.delete(r.get("predicate"))
        return {"version": dt.version(), "metrics": jsonable(metrics)}


def peers_json(path: str | None) -> dict[str, Any]:
    if path is None:
        cache = os.environ.get("LAKEHOUSE_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lakehouse-kit"
        )
        path = os.path.join(cache, "peers.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise SystemExit(f"peer: {path} is missing; run scripts/test-env.sh (npm test runs it)") from None


class Spark:
    """Spark + Delta in one local JVM for the whole batch, offline (jars from peers.json)."""

    name = "spark"

    def __init__(self, jars: list[str]) -> None:
        from pyspark.sql import SparkSession

        missing = [j for j in jars if not os.path.exists(j)]
        if missing or not jars:
            raise SystemExit(f"peer: the Delta jars are missing ({missing or 'none listed'}); run scripts/test-env.sh")
        # Bind to loopback only, and run any Python worker with this venv's interpreter.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        scratch = os.environ.get("TMPDIR", "/tmp")
        self.spark = (
            SparkSession.builder.master("local[2]")
            .appName("lakehouse-kit-peer")
            .config("spark.jars", ",".join(jars))
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
            .config("spark.sql.session.timeZone", "UTC")
            # C1-only JIT and the serial collector: a short-lived JVM on two cores starts faster.
            .config(
                "spark.driver.extraJavaOptions",
                "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            )
            # A tiny table on two cores: Delta's defaults (50 snapshot partitions, 10 000-way file
            # listing in VACUUM) would run thousands of tasks and take minutes.
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.databricks.delta.snapshotPartitions", "2")
            .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.catalogImplementation", "in-memory")
            .config("spark.sql.warehouse.dir", os.path.join(scratch, "lakehouse-kit-spark-warehouse"))
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        from delta.tables import DeltaTable

        self.DeltaTable = DeltaTable

    @staticmethod
    def check_options(r: dict[str, Any]) -> None:
        if r.get("storage_options"):
            raise ValueError("spark peer: storage_options are not supported (local tables only)")

    def reader(self, r: dict[str, Any], version: Any = None):
        self.check_options(r)
        reader = self.spark.read.format("delta")
        if r.get("timestamp") is not None:
            reader = reader.option("timestampAsOf", r["timestamp"])
        elif version is not None:
            reader = reader.option("versionAsOf", int(version))
        return reader.load(r["table"])

    def resolved_version(self, r: dict[str, Any], version: Any = None) -> int:
        """The version a read with these options sees."""
        if version is not None and r.get("timestamp") is None:
            return int(version)
        history = self.DeltaTable.forPath(self.spark, r["table"]).history().select("version", "timestamp")
        if r.get("timestamp") is not None:
            history = history.where(f"timestamp <= timestamp'{r['timestamp']}'")
        return int(history.agg({"version": "max"}).first()[0])

    def read(self, r: dict[str, Any]) -> dict[str, Any]:
        df = self.reader(r, r.get("version"))
        if r.get("columns"):
            df = df.select(*r["columns"])
        rows = canonical_rows(df.toArrow())
        return {
            "rows": rows,
            "numRows": len(rows),
            "version": self.resolved_version(r, r.get("version")),
            "schema": df.schema.json(),
        }

    def files(self, r: dict[str, Any]) -> dict[str, Any]:
        df = self.reader(r, r.get("version"))
        jvm = self.spark.sparkContext._jvm
        root_path = jvm.org.apache.hadoop.fs.Path(r["table"])
        fs = root_path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        root = fs.makeQualified(root_path).toString().rstrip("/") + "/"
        files = []
        for path in df.inputFiles():
            if not path.startswith(root):
                raise ValueError(f"spark peer: file {path} is not under the table root {root}")
            files.append(path[len(root) :])
        return {"files": sorted(files), "version": self.resolved_version(r, r.get("version"))}

    def version(self, r: dict[str, Any]) -> dict[str, Any]:
        self.check_options(r)
        return {"version": self.resolved_version(r)}

    def write(self, r: dict[str, Any]) -> dict[str, Any]:
        self.check_options(r)
        from pyspark.sql.types import StructType

        table = input_table(r)
        if "schema" in r:
            df = self.spark.createDataFrame(table, schema=StructType.fromJson(parse_schema(r["schema"])))
        else:
            df = self.spark.createDataFrame(table)
        writer = df.write.format("delta").mode(r.get("mode", "append"))
        if r.get("partitionBy"):
            writer = writer.partitionBy(*r["partitionBy"])
        if r.get("replaceWhere"):
            writer = writer.option("replaceWhere", r["replaceWhere"])
        for key, value in (r.get("properties") or {}).items():
            writer = writer.option(key, value)
        writer.save(r["table"])
        return self.version(r)

    def history(self, r: dict[str, Any]) -> dict[str, Any]:
        self.check_options(r)
        entries = []
        for row in self.DeltaTable.forPath(self.spark, r["table"]).history().collect():
            entry = row.asDict(recursive=True)
            timestamp = entry.pop("timestamp", None)
            normalized = {
                "version": entry.pop("version", None),
                "timestamp": int(timestamp.replace(tzinfo=timezone.utc).timestamp() * 1000) if timestamp else None,
                "operation": entry.pop("operation", None),
                "operationParameters": entry.pop("operationParameters", None) or {},
            }
            normalized.update(entry)
            entries.append(jsonable(normalized))
        return {"entries": sorted(entries, key=lambda e: -(e["version"] or 0))}

    def sql_path(self, r: dict[str, Any]) -> str:
        self.check_options(r)
        return "delta.`" + r["table"].replace("`", "``") + "`"

    def optimize(self, r: dict[str, Any]) -> dict[str, Any]:
        rows = self.spark.sql(f"OPTIMIZE {self.sql_path(r)}").collect()
        return {"version": self.resolved_version(r), "metrics": jsonable([row.asDict(recursive=True) for row in rows])}

    def vacuum(self, r: dict[str, Any]) -> dict[str, Any]:
        enforce = "true" if r.get("enforceRetention", False) else "false"
        self.spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", enforce)
        retain = f" RETAIN {float(r['retentionHours'])} HOURS" if r.get("retentionHours") is not None else ""
        self.spark.sql(f"VACUUM {self.sql_path(r)}{retain}").collect()
        return {"version": self.resolved_version(r)}

    def checkpoint(self, r: dict[str, Any]) -> dict[str, Any]:
        # Delta for Spark has no public checkpoint API; DeltaLog.checkpoint() is what it runs itself.
        self.check_options(r)
        jvm = self.spark.sparkContext._jvm
        delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(self.spark._jsparkSession, r["table"])
        delta_log.checkpoint()
        return {"version": self.resolved_version(r)}

    def delete(self, r: dict[str, Any]) -> dict[str, Any]:
        self.check_options(r)
        table = self.DeltaTable.forPath(self.spark, r["table"])
        if r.get("predicate"):
            table.delete(r["predicate"])
        else:
            table.delete()
        return {"version": self.resolved_version(r)}

    def close(self) -> None:
        self.spark.stop()


OPERATIONS = ("read", "files", "version", "write", "history", "optimize", "vacuum", "checkpoint", "delete")


def error_message(error: Exception) -> str:
    """The error's type and message, without a JVM stack trace (that went to stderr)."""
    java_exception = getattr(error, "java_exception", None)  # a Py4JJavaError Spark did not convert
    if java_exception is None:
        message = str(error)
    else:  # "Exception thrown in awaitResult" and the like: the cause says what went wrong
        causes = []
        while java_exception is not None and len(causes) < 5:
            causes.append(java_exception.toString())
            java_exception = java_exception.getCause()
        message = "\ncaused by: ".join(causes)
    lines = [line for line in message.splitlines() if not line.lstrip().startswith("at ")]
    return f"{type(error).__name__}: " + "\n".join(lines).strip()[:4000]


def serve(engine: Any, requests: list[Any]) -> list[dict[str, Any]]:
    results = []
    for index, request in enumerate(requests):
        try:
            if not isinstance(request, dict) or request.get("op") not in OPERATIONS:
                raise ValueError(f"request {index}: op must be one of {', '.join(OPERATIONS)}")
            if not isinstance(request.get("table"), str):
                raise ValueError(f"request {index}: table (a path or URI) is required")
            handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(engine, request["op"])
            started = time.monotonic()
            results.append({"ok": True, **handler(request)})
            print(f"peer: {engine.name} {request['op']} {request['table']}: {time.monotonic() - started:.1f} s", file=sys.stderr)
        except Exception as error:  # one failing table must not end the batch
            traceback.print_exc(file=sys.stderr)
            results.append({"ok": False, "error": error_message(error)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("delta-rs", "spark"), required=True)
    parser.add_argument("--peers-json", help="default: $CACHE/peers.json written by scripts/test-env.sh")
    args = parser.parse_args()

    # Results go to the real stdout; anything else printed here or by the JVM goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    requests = json.load(sys.stdin)
    if not isinstance(requests, list):
        raise SystemExit("peer: stdin must hold a JSON array of requests")
    started = time.monotonic()
    engine: Any = DeltaRs() if args.engine == "delta-rs" else Spark(peers_json(args.peers_json)["jars"])
    print(f"peer: {args.engine} started in {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        results = serve(engine, requests)
    finally:
        if hasattr(engine, "close"):
            engine.close()
    json.dump(results, out, ensure_ascii=False, separators=(",", ":"))
    out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
