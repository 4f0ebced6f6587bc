"""`solveloop serve`: gunicorn on loopback, sync workers by default, threads on request."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import CSRF_META


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
        # No job consumer in the served processes: its minute sweep would write to the
        # test database while the next test empties it.
        "SOLVELOOP_JOBS_IN_PROCESS": "false",
    }
    command = [str(Path(sys.executable).parent / "solveloop"), "--instance", str(tmp_path / "i")]

    def start(*options, settings=None):
        port = free_port()
        with (tmp_path / "serve.log").open("ab") as log:
            process = subprocess.Popen(
                [*command, "serve", "--port", str(port), *options],
                env={**env, **(settings or {})},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "solveloop serve exited"
            # Listening is not enough: the master binds before its workers
            # have loaded the app. Wait for an answer, so that stopping it
            # later does not catch a worker mid-boot.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/login")
                connection.getresponse().read()
                return port
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                connection.close()
        raise AssertionError("solveloop serve did not answer within 60 s")

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # gunicorn waits up to its graceful timeout for busy workers.
            os.killpg(process.pid, signal.SIGKILL)
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


def request(port, method, path, body=None, headers=None):
    """Send one request on a new connection; return (status, headers, text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def failed_sign_ins(port, forwarded_for):
    """Sign in with a wrong password once per X-Forwarded-For value; return the statuses."""
    status, headers, page = request(port, "GET", "/login")
    assert status == 200
    assert headers["Server"] == "gunicorn"  # no version for a scanner to match
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = CSRF_META.search(page).group(1)
    statuses = []
    for number, address in enumerate(forwarded_for):
        body = urlencode({"csrf_token": token, "username": f"name{number}", "password": "nope"})
        status, _, _ = request(
            port,
            "POST",
            "/login",
            body,
            {
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": address,
            },
        )
        statuses.append(status)
    return statuses


ADDRESSES = ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"]


def test_behind_a_trusted_proxy_each_client_address_has_its_own_login_budget(serve):
    port = serve(
        "--workers",
        "1",
        settings={"SOLVELOOP_TRUSTED_PROXIES": "1", "SOLVELOOP_LOGIN_RATE_LIMIT": "2 per minute"},
    )
    assert failed_sign_ins(port, ADDRESSES) == [401, 401, 429, 401]


def test_without_trusted_proxies_a_forwarded_address_is_ignored(serve):
    port = serve("--workers", "1", settings={"SOLVELOOP_LOGIN_RATE_LIMIT": "2 per minute"})
    # The header is anyone's to send: it must not buy a fresh budget.
    assert failed_sign_ins(port, ADDRESSES) == [401, 401, 429, 429]


def test_serve_starts_and_searches_on_a_zeroed_index(serve, make_article, database_url, tmp_path):
    article = make_article("Cannot connect to the VPN", body="Restart the VPN client.")
    instance = tmp_path / "i"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOLVELOOP_")},
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_JOBS_IN_PROCESS": "false",
    }
    solveloop = str(Path(sys.executable).parent / "solveloop")
    subprocess.run(
        [solveloop, "--instance", str(instance), "index", "rebuild"], env=env, check=True
    )
    root = instance / "index"
    live = root / (root / "current").read_text().strip()
    for path in live.iterdir():
        if path.suffix in (".seg", ".toc"):
            path.write_bytes(b"\0" * path.stat().st_size)
    port = serve("--workers", "1")
    status, _, page = request(port, "GET", "/search?q=vpn+client")
    assert status == 200
    assert f"/articles/{article.id}" in page
    assert "being rebuilt" in page
    # The worker rebuilt it in the background: search is back on the index.
    deadline = time.monotonic() + 60
    while "being rebuilt" in page and time.monotonic() < deadline:
        time.sleep(0.5)
        status, _, page = request(port, "GET", "/search?q=vpn+client")
    assert status == 200 and f"/articles/{article.id}" in page
    assert "being rebuilt" not in page
    checked = subprocess.run(
        [solveloop, "--instance", str(instance), "index", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
