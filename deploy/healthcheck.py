"""Container health check: exit 0 when GET /healthz on this container's gunicorn answers 200.

Standard library only (the slim image has no curl). The port is the one gunicorn binds (CDS_BIND).
"""

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("CDS_BIND", "0.0.0.0:8080").rsplit(":", 1)[1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
