#!/bin/sh
# Fetch axe-core (the npm package pinned in axe-core.lock) for the console's accessibility scan.
#
#   fetch_axe_core.sh LOCK_FILE TARGET_DIR PYTHON
#
# Unpacks package/axe.min.js and the package's licence files into TARGET_DIR/package/ after
# checking the tarball against the lock's sha512 integrity.  Already there: nothing to do.
# Without npm: a note and exit 0 (the scan then skips with a message), unless CI is set,
# when it is an error (CI must scan).  Never run by the tests themselves.
set -eu
lock=$1 target=$2 python=$3
version=$(sed -n 's/^version=//p' "$lock")
integrity=$(sed -n 's/^integrity=//p' "$lock")
[ -n "$version" ] && [ -n "$integrity" ] || { echo "error: $lock names no version or integrity" >&2; exit 2; }
[ -f "$target/package/axe.min.js" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "error: CI is set but npm is missing: cannot fetch axe-core $version (.ci/run installs npm)" >&2
    exit 1
  fi
  echo "note: npm not found: axe-core $version not fetched; the console's accessibility scan will be skipped" >&2
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "axe-core@$version" --silent >/dev/null)
tarball="$work/axe-core-$version.tgz"
"$python" - "$tarball" "$integrity" <<'PY'
import base64, hashlib, sys
path, expected = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    got = "sha512-" + base64.b64encode(hashlib.sha512(fh.read()).digest()).decode()
if got != expected:
    sys.exit(f"error: {path} does not match the pinned integrity (got {got})")
PY
tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt package/package.json
mkdir -p "$(dirname "$target")"
rm -rf "$target.partial"
mkdir "$target.partial"
mv "$work/package" "$target.partial/package"
mv "$target.partial" "$target"
echo "axe-core $version fetched into $target"
