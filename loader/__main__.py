from __future__ import annotations

import os
import signal
import sys

from loader.cli import main

if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader of the output stopped reading (`... | head`): not a failure to report.
        # stdout goes to /dev/null so the interpreter's own flush at exit does not fail too;
        # the exit status is a pipe's usual one (128 + SIGPIPE).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 128 + signal.SIGPIPE
    sys.exit(status)
