"""The store in S3: moto's S3 server on a loopback port, the recorder writing to it, and
the files read back with pyarrow's own S3 filesystem."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from recorder_helpers import CONFIG, Written, recording, wait_for
from rtastream.redis_server import free_port
from rtastream.store import Store
from test_store_roundtrip import write_session

pytestmark = pytest.mark.slow


@pytest.fixture
def s3(monkeypatch):
    """(store URL, pyarrow S3 filesystem) of bucket `rta` on a private moto server."""
    if shutil.which("moto_server", path=sys.prefix + "/bin") is None:
        pytest.skip("moto's server is not installed (pip install 'moto[server]')")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    port = free_port()
    server = subprocess.Popen(
        [sys.prefix + "/bin/moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"127.0.0.1:{port}"
        filesystem = pafs.S3FileSystem(
            endpoint_override=endpoint,
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
        )

        def bucket_made() -> bool:
            try:
                filesystem.create_dir("rta")
                return True
            except OSError:  # not answering yet
                return False

        wait_for(bucket_made, what="moto's server")
        yield (
            f"s3://rta/store?endpoint_override={endpoint}&scheme=http&region=us-east-1",
            filesystem,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_session_recorded_into_s3_reads_back_with_pyarrow(s3, redis_url, r):
    url, filesystem = s3
    r.set("configs:cfg-1", json.dumps(CONFIG))
    written = Written()
    store = Store(url)

    def complete() -> bool:
        record = store.session("s3-1")
        return bool(record and record["complete"])

    with recording(redis_url, url):
        write_session(redis_url, "s3-1", written)
        wait_for(complete, what="the session compacted in S3")
    table = pq.read_table(
        "rta/store/sessions/s3-1/timestamped.uint8.parquet", filesystem=filesystem
    )
    expected = written.samples[("timestamped", 11)]
    assert list(zip(table["timestamp"].to_pylist(), table["value"].to_pylist(), strict=True)) == [
        (t, v[0]) for t, v in expected
    ]
    assert json.loads(store.config("cfg-1")) == CONFIG
    got = store.read("s3-1", channels=[12])[12]
    assert [(int(t), v.tobytes()) for t, v in zip(*got, strict=True)] == written.samples[
        ("timestamped", 12)
    ]
    assert store.position("car") is not None


def test_serve_answers_from_a_store_in_s3_with_redis_forgetting(s3, redis_url, r):
    from test_rest_store import every_sample

    url, _ = s3
    r.set("configs:cfg-1", json.dumps(CONFIG))
    written = Written()
    store = Store(url)
    with recording(redis_url, url):
        write_session(redis_url, "s3-2", written)
        wait_for(lambda: (store.session("s3-2") or {}).get("complete"), what="compacted in S3")
    r.flushall()
    assert asyncio.run(every_sample(redis_url, url, "s3-2")) == written.samples
