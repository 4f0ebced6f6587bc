"""`solveloop serve`: gunicorn on loopback, sync workers by default, threads on request."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve(database_url, tmp_path):
    """Start `solveloop serve` with extra options; yield a function returning its port."""
    processes = []
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOLVELOOP_")},
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_INDEXER_THREAD": "false",
    }
    command = [str(Path(sys.executable).parent / "solveloop"), "--instance", str(tmp_path / "i")]

    def start(*options):
        port = free_port()
        with (tmp_path / "serve.log").open("ab") as log:
            process = subprocess.Popen(
                [*command, "serve", "--port", str(port), *options],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "solveloop serve exited"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return port
            except OSError:
                time.sleep(0.2)
        raise AssertionError("solveloop serve did not listen within 60 s")

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def get_twice(port):
    """GET /login twice through one client connection; return both responses' headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answers = []
    try:
        for _ in range(2):
            connection.request("GET", "/login")
            response = connection.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Connection")))
    finally:
        connection.close()
    return answers


def test_serve_answers_with_sync_workers_that_close_each_connection(serve):
    port = serve()
    assert get_twice(port) == [(200, "close"), (200, "close")]


def test_serve_with_threads_keeps_the_connection_open(serve):
    port = serve("--threads", "2")
    assert get_twice(port) == [(200, "keep-alive"), (200, "keep-alive")]


def test_serve_warns_that_memory_rate_limits_count_per_worker(serve, tmp_path):
    serve()
    assert (
        "rate limits are counted in each of the 2 worker processes"
        in (tmp_path / "serve.log").read_text()
    )


def test_serve_refuses_zero_threads(database_url, tmp_path):
    done = subprocess.run(
        [str(Path(sys.executable).parent / "solveloop"), "serve", "--threads", "0"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SOLVELOOP_DATABASE_URL": database_url},
    )
    assert done.returncode == 2
    assert "--threads" in done.stderr
