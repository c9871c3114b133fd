# longrun-env.sh — sourced by crash.sh and soak.sh: set up, build the tests,
# and run them in a private temporary folder with a private copy of the
# binary (so a rebuild during a long run does not swap it underneath).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
scripts/setup.sh --test >/dev/null
make -s -j"$(nproc)" tests >/dev/null
export TMPDIR
TMPDIR=$(mktemp -d /tmp/assetd-long-XXXXXX)
trap 'rm -rf "$TMPDIR"' EXIT
cp build/assetd "$TMPDIR/assetd"
export ASSETD_BIN="$TMPDIR/assetd" ASSETD_TESTDATA="$ROOT/deps/testdata"
