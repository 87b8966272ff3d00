"""`localthink pull` against a stand-in Hub on 127.0.0.1 serving the real SmolLM2 GGUF."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localthink.config import paths
from localthink.errors import LocalthinkError
from tests.hub_server import HubFile, StandInHub
from tests.run_cli import as_from_a_terminal, localthink

REPO, FILE = "localthink-test/tiny-GGUF", "tiny-Q4_1.gguf"


@pytest.fixture
def hub(smollm2_path):
    h = StandInHub({(REPO, FILE): HubFile(smollm2_path.read_bytes())})
    h.url = h.start()
    yield h
    h.stop()


@pytest.fixture
def env(hub, isolated_home, tmp_path):
    """A user registry naming the stand-in repo, and an HF cache of the test's own."""
    cfg = paths().user_registry_path
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        f'["tiny"]\nrepo = "{REPO}"\ndefault_quant = "Q4_1"\nparams = "135M"\n'
        f'["tiny".quants.Q4_1]\nfile = "{FILE}"\nsize_gb = 0.098\n'
    )
    return {
        **os.environ,
        "LOCALTHINK_HOME": str(isolated_home),
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_DISABLE_XET": "1",
    }


def blobs(env) -> Path:
    return Path(env["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs"


def test_pull_then_ask_by_name_works_offline(env, hub, smollm2_path):
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    assert "ready:" in r.stderr
    [blob] = [p for p in blobs(env).iterdir() if not p.name.endswith(".localthink-partial")]
    assert blob.read_bytes() == smollm2_path.read_bytes()
    listing = localthink("models", env=env).stdout
    assert any(line.startswith("tiny ") and " yes " in line for line in listing.splitlines())
    offline = {**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    r = localthink("ask", "--model", "tiny", "--max-tokens", "8", "--json", "Say hi", env=offline)
    assert r.returncode == 0, r.stderr
    assert '"model": "tiny"' in r.stdout


def test_interrupted_pull_resumes_without_refetching(env, hub, smollm2_path):
    size = len(smollm2_path.read_bytes())
    hub.pause_after = 20_000_000  # the server holds the rest back until the interrupt is in
    proc = subprocess.Popen(
        [sys.executable, "-m", "localthink", "pull", "tiny", "--quiet"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.time() + 120
    partial = 0
    # the client writes whole MiB chunks: 19 MiB of the 20 MB sent reach the disk
    while time.time() < deadline and partial < 16_000_000 and proc.poll() is None:
        time.sleep(0.2)
        partial = (
            sum(p.stat().st_size for p in blobs(env).glob("*.localthink-partial"))
            if blobs(env).exists()
            else 0
        )
    masks = Path(f"/proc/{proc.pid}/status")  # for the message, should SIGINT go unheard
    masks = (
        [ln for ln in masks.read_text().splitlines() if ln.startswith("Sig")]
        if (masks.exists())
        else []
    )
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        hub.resume.set()
        raise AssertionError(f"the pull did not stop on SIGINT: {masks}") from None
    hub.resume.set()
    found = sorted(str(p) for p in Path(env["HF_HOME"]).rglob("*"))
    assert proc.returncode == 2 and "run the same command again to resume" in err, (err, found)
    kept = sum(p.stat().st_size for p in blobs(env).glob("*.localthink-partial"))
    assert 16_000_000 <= kept < size, found

    hub.bytes_per_second = None
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    resumed = [entry for entry in hub.log if entry[0] == "GET"][-1]
    assert resumed[2] == f"bytes={kept}-"  # asked only for the rest
    assert resumed[3] == size - kept
    [blob] = [p for p in blobs(env).iterdir() if not p.name.endswith(".localthink-partial")]
    assert blob.read_bytes() == smollm2_path.read_bytes()


def test_corrupt_download_is_rejected_and_removed(env, hub, smollm2_path):
    data = bytearray(smollm2_path.read_bytes())
    data[5_000_000] ^= 0xFF
    hub.files[(REPO, FILE)] = HubFile(bytes(data), sha256=HubFile(smollm2_path.read_bytes()).sha256)
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 2
    assert (
        "checksum mismatch" in r.stderr and r.stderr.count("\n") == 2
    )  # the "pulling" line + error
    assert not [p for p in blobs(env).iterdir() if p.stat().st_size > 0]
    r = localthink("ask", "--model", "tiny", "hi", env=env)
    assert r.returncode == 2 and "not downloaded" in r.stderr


def test_offline_pull_is_one_line_error(env):
    r = localthink("pull", "tiny", env={**env, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "HF_HUB_OFFLINE" in r.stderr.splitlines()[-1]


def test_unreachable_hub_is_one_line_error(env):
    r = localthink("pull", "tiny", env={**env, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 2 and "cannot reach" in r.stderr.splitlines()[-1]
    assert "Traceback" not in r.stderr


def test_missing_repo_and_missing_file(env, hub):
    hub.files = {("someone/else", FILE): hub.files[(REPO, FILE)]}
    r = localthink("pull", "tiny", env=env)
    assert r.returncode == 2 and f"repository {REPO} not found" in r.stderr
    hub.files = {(REPO, "other.gguf"): HubFile(b"x")}
    r = localthink("pull", "tiny", env=env)
    assert r.returncode == 2 and f"{FILE} not found in {REPO}" in r.stderr


def test_full_disk_is_refused_before_downloading(env, hub, monkeypatch):
    from localthink.models import hub as hub_module
    from localthink.models.registry import load_registry

    for key in ("HF_ENDPOINT", "HF_HOME"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setattr(
        hub_module.shutil, "disk_usage", lambda p: type("U", (), {"free": 10_000_000})()
    )
    entry = load_registry()["tiny"]
    with pytest.raises(LocalthinkError, match="not enough disk space"):
        hub_module.pull(entry, entry.quant(None), progress=False)
    assert not any(e[0] == "GET" for e in hub.log)


def test_dropped_connection_keeps_bytes_and_next_pull_finishes(env, hub, smollm2_path):
    size = len(smollm2_path.read_bytes())
    hub.drop_after = 30_000_000
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 2 and "run the same command to resume" in r.stderr
    kept = sum(p.stat().st_size for p in blobs(env).glob("*.localthink-partial"))
    assert kept > 28_000_000  # all but the last, unfinished chunk
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    last = [entry for entry in hub.log if entry[0] == "GET"][-1]
    assert last[2] == f"bytes={kept}-" and last[3] == size - kept


def test_a_server_error_mid_pull_is_one_line_and_the_next_pull_resumes(env, hub, smollm2_path):
    size = len(smollm2_path.read_bytes())
    hub.drop_after = 10_000_000
    assert localthink("pull", "tiny", "--quiet", env=env).returncode == 2
    hub.fail_gets = [503]  # the CDN refuses the resume: before, an httpx traceback
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "HTTP 503" in r.stderr and "run the same command to resume" in r.stderr
    kept = sum(p.stat().st_size for p in blobs(env).glob("*.localthink-partial"))
    assert kept > 8_000_000  # what arrived before the error is still there
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    last = [entry for entry in hub.log if entry[0] == "GET"][-1]
    assert last[2] == f"bytes={kept}-" and last[3] == size - kept


def test_a_partial_already_whole_is_finished_without_a_request(env, hub, smollm2_path):
    """A kill between the last byte and the rename: a Range request would get HTTP 416."""
    hub.drop_after = 10_000_000
    assert localthink("pull", "tiny", "--quiet", env=env).returncode == 2
    (part,) = blobs(env).glob("*.localthink-partial")
    part.write_bytes(smollm2_path.read_bytes())
    gets = sum(1 for entry in hub.log if entry[0] == "GET")
    r = localthink("pull", "tiny", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    assert sum(1 for entry in hub.log if entry[0] == "GET") == gets
    assert not list(blobs(env).glob("*.localthink-partial"))
