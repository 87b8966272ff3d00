"""Run the real `localthink` command in a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def localthink(*args, home=None, env=None, stdin=None, timeout=300):
    """`python -m localthink ARGS`, with LOCALTHINK_HOME set to `home` when given."""
    env = {**(env or os.environ), **({"LOCALTHINK_HOME": str(home)} if home else {})}
    return subprocess.run(
        [sys.executable, "-m", "localthink", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
