#!/bin/sh
# The Debian packages the tests need, named on the command line (postgresql, chromium, wrk, nginx): say which are
# missing and why, then as root install them with one apt-get; otherwise print the command and fail.
# Used by `make test` (all three), `make postgres-server`, `make chromium` and `make wrk`.
set -eu
PG_LIB=${PG_LIB:-/usr/lib/postgresql}
missing=""
for package in "$@"; do
    case "$package" in
        postgresql)
            # A PostgreSQL server's binaries: Debian's, any initdb on PATH, or a folder the tests are given.
            if ls "$PG_LIB"/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || [ -n "${CDS_TEST_PG_BINDIR:-}" ]
            then continue; fi
            why="the storage tests start a throw-away PostgreSQL server (tests/storage/pgserver.py)" ;;
        chromium)
            if [ -x /usr/bin/chromium ]; then continue; fi
            why="the browser tests drive Debian's chromium through Playwright (never a browser Playwright downloads)" ;;
        wrk)
            if command -v wrk >/dev/null; then continue; fi
            why="the load test and \`make load\` drive the service with wrk" ;;
        nginx)
            if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then continue; fi
            why="the proxy tests run the deploy files' nginx in front of gunicorn (tests/deploy/test_proxy.py)"
            package=nginx-light ;;
        *) echo "system_packages.sh: unknown package $package" >&2; exit 2 ;;
    esac
    echo "make: needs Debian's $package: $why"
    missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "make: not root, so not installing them: run  sudo apt-get install$missing  (then make again)"
    exit 1
fi
echo "make: installing$missing with apt-get (as root; apt-get update first, about a minute)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$missing >/dev/null
echo "make: installed$missing"
