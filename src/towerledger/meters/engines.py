"""Where the one job definition (``job.STEPS``) runs: DuckDB in this process (the default) or
Apache Spark (local mode here, a cluster in production). An engine registers Parquet inputs
as views, runs the rendered SQL steps as they are, returns an output's rows as dicts and
writes a view to Parquet. Nothing in the SQL differs between them."""

from collections.abc import Callable
from pathlib import Path


class Engine:
    name = "?"

    def register(self, view: str, paths: list[str]) -> None:
        raise NotImplementedError

    def step(self, name: str, sql: str, keep: bool) -> None:
        raise NotImplementedError

    def rows(self, view: str) -> list[dict]:
        raise NotImplementedError

    def batches(self, view: str, size: int = 100_000):
        """The view's rows as lists of dicts, ``size`` at a time (bounded memory)."""
        raise NotImplementedError

    def write(self, view: str, directory: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def run(self, steps, progress: Callable[[str], None] | None = None) -> None:
        for name, sql, keep in steps:
            self.step(name, sql, keep)
            if progress:
                progress(name)


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None):
        import duckdb

        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")

    def register(self, view, paths):
        files = [p if p.endswith(".parquet") else f"{p.rstrip('/')}/*.parquet" for p in paths]
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM "
                         f"read_parquet([{listed}], hive_partitioning = false)")

    def step(self, name, sql, keep):
        kind = "TABLE" if keep else "VIEW"
        self.con.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {sql}")

    def rows(self, view):
        cur = self.con.execute(f"SELECT * FROM {view}")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def batches(self, view, size=100_000):
        cur = self.con.execute(f"SELECT * FROM {view}")
        cols = [d[0] for d in cur.description]
        while chunk := cur.fetchmany(size):
            yield [dict(zip(cols, r, strict=True)) for r in chunk]

    def count(self, view) -> int:
        return self.con.execute(f"SELECT COUNT(*) FROM {view}").fetchone()[0]

    def write(self, view, directory):
        Path(directory).mkdir(parents=True, exist_ok=True)
        for old in Path(directory).glob("*.parquet"):
            old.unlink()
        target = str(Path(directory) / "part-0.parquet").replace("'", "''")
        self.con.execute(f"COPY (SELECT * FROM {view}) TO '{target}' (FORMAT PARQUET)")

    def close(self):
        self.con.close()


# Small data in local mode (the tests): compiling generated code for each of the job's
# queries costs more than running them interpreted.
SMALL = {"spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "1",
         "spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "false",
         # a short-lived JVM: the quick JIT tier only, one GC thread
         "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def spark_session(master: str = "local[1]", app: str = "towerledger-meters",
                  small: bool = False, **conf):
    """A Spark session for the job: local mode by default (small shuffles, no UI, UTC); on a
    cluster pass its master URL (or use spark-submit's session, see docs/meters.md)."""
    from pyspark.sql import SparkSession

    settings = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
                "spark.sql.session.timeZone": "UTC",
                "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
                "spark.driver.memory": "1g", **(SMALL if small else {}), **conf}
    builder = SparkSession.builder.master(master).appName(app)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, session=None, master: str = "local[1]", cache: bool = True):
        self.own = session is None
        self.spark = session or spark_session(master)
        self.cache = cache   # keep the steps read more than once (off for tiny data)
        self.cached = []

    def register(self, view, paths):
        self.spark.read.parquet(*paths).createOrReplaceTempView(view)

    def step(self, name, sql, keep):
        df = self.spark.sql(sql)
        if keep and self.cache:
            df = df.cache()
            self.cached.append(df)
        df.createOrReplaceTempView(name)

    def rows(self, view):
        return [r.asDict() for r in self.spark.table(view).collect()]

    def batches(self, view, size=100_000):
        chunk = []
        for r in self.spark.table(view).toLocalIterator():
            chunk.append(r.asDict())
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def count(self, view) -> int:
        return self.spark.table(view).count()

    def write(self, view, directory):
        self.spark.table(view).write.mode("overwrite").parquet(directory)

    def close(self):
        for df in self.cached:
            df.unpersist()
        self.cached.clear()
        for view in self.spark.catalog.listTables():
            if view.isTemporary:
                self.spark.catalog.dropTempView(view.name)
        if self.own:
            self.spark.stop()


def engine(name: str, **kw) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(**kw)
    if name == "spark":
        return SparkEngine(**kw)
    raise ValueError(f"未知引擎 unknown engine {name!r} (duckdb | spark)")
