"""What the client scripts share: the server address from the command line
(SCRIPT PORT [HOST], HOST defaulting to 127.0.0.1) and a check counter that exits 1
on the first failure."""
import sys


def server():
    """(host, port) from the command line."""
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    return host, port


class Checks:
    """Counts passed checks; prints FAILED and exits 1 on the first that fails."""

    def __init__(self):
        self.passed = 0

    def __call__(self, cond, what):
        if not cond:
            print("FAILED:", what)
            sys.exit(1)
        self.passed += 1
