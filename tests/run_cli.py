"""Run the real `localthink` command in a child process, as a user would."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys


def localthink(*args, home=None, env=None, stdin=None, timeout=300, max_file_bytes=None):
    """`python -m localthink ARGS`, with LOCALTHINK_HOME set to `home` when given.

    `max_file_bytes` caps every file the command writes (RLIMIT_FSIZE): a write past it
    fails with EFBIG, as a full disk fails a write with ENOSPC, in that process only.
    """
    env = {**(env or os.environ), **({"LOCALTHINK_HOME": str(home)} if home else {})}

    def cap_file_size():  # Python ignores SIGXFSZ, so the write fails instead of killing it
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "localthink", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap_file_size if max_file_bytes is not None else None,
    )


def can_mount_tmpfs() -> bool:
    """A private mount namespace (as root, or through a user namespace) for a small disk."""
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d && rmdir $d"
    return subprocess.run(["unshare", "-Urm", "sh", "-c", probe]).returncode == 0


def on_small_disk(script: str, env=None, timeout=300):
    """Run a shell script in its own mount namespace, where it may mount a small tmpfs
    (`mount -t tmpfs -o size=4m tmpfs DIR`) to meet a really full disk; nothing leaks out."""
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def as_from_a_terminal() -> None:
    """Ctrl+C reaches the child as it would from a user's terminal. In the full suite under
    CI the pull ignored SIGINT and ran on (an ignored or blocked SIGINT is inherited by
    children; a job started in the background ignores it), so both are undone."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
