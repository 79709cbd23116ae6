#!/usr/bin/env bash
# Build the real runtime of `virtual-device --runtime micropython`: MicroPython's
# unix port with the NimBLE host, 32-bit, single-precision floats, asyncio and
# our chip shim frozen in (variant/).  Sources come from registries only:
#   - MicroPython: Debian's `micropython` source package, pinned, fetched by
#     `apt-get source` through a private sources list (the system's apt
#     configuration is left alone);
#   - NimBLE, which no registry carries: the archive in ../shared/third_party,
#     unpacked into the build tree only, never into the repository.
# The build is cached: it reruns only when one of its inputs changes.
#
#   build.sh OUT_DIR     -> OUT_DIR/micropython, OUT_DIR/mpy-cross
set -euo pipefail

out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
third_party=${TWITCHLOG_THIRD_PARTY:-$repo/../shared/third_party}
mp_version=1.25.0+ds-1
nimble=mynewt-nimble-42849560-subset.tar.gz
jobs=$(nproc 2>/dev/null || echo 2)

[ -f "$third_party/$nimble" ] || {
  echo "build.sh: $third_party/$nimble is missing (set TWITCHLOG_THIRD_PARTY to the folder that holds it)" >&2
  exit 1
}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Everything the binary depends on, hashed: a change to any input rebuilds.
inputs=$( (echo "$mp_version"; sha256sum "$third_party/$nimble";
           cd "$here" && sha256sum build.sh variant/* chip/*.py) | sha256sum | cut -d' ' -f1)
if [ -x "$out/micropython" ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$inputs" ]; then
  echo "build.sh: $out/micropython is up to date"
  exit 0
fi

for tool in apt-get dpkg-source gcc make python3; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing" >&2; exit 1; }
done
echo 'int main(void){return 0;}' > "$out/m32-check.c"
gcc -m32 -o "$out/m32-check" "$out/m32-check.c" 2>/dev/null || {
  echo "build.sh: gcc cannot build 32-bit programs; install Debian's gcc-multilib" >&2
  exit 1
}
rm -f "$out/m32-check" "$out/m32-check.c"

work="$out/work"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
cat > "$work/apt/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
apt_private=(
  -o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root
)
echo "build.sh: fetching Debian's micropython $mp_version source"
apt-get "${apt_private[@]}" -qq update
(cd "$work" && apt-get "${apt_private[@]}" -qq source --download-only "micropython=$mp_version")
# apt checked the .dsc against the signed Release file; dpkg-source cannot
# check the uploader's signature without debian-keyring, and says so.
(cd "$work" && dpkg-source -q -x "micropython_$mp_version.dsc" src) >/dev/null 2>&1

echo "build.sh: unpacking NimBLE from $third_party"
(cd "$third_party" && grep " $nimble\$" SHA256SUMS | sha256sum -c --quiet -)
tar xzf "$third_party/$nimble" -C "$work/src/lib/mynewt-nimble"

echo "build.sh: building (about a minute on two cores)"
make -s -C "$work/src/mpy-cross" -j"$jobs" >/dev/null
make -s -C "$work/src/ports/unix" -j"$jobs" VARIANT_DIR="$here/variant" BUILD="$work/build" \
  PROG=micropython >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }

# Renamed into place: a running interpreter keeps its old file ("text file busy" for cp).
cp "$work/build/micropython" "$out/micropython.new" && mv -f "$out/micropython.new" "$out/micropython"
cp "$work/src/mpy-cross/build/mpy-cross" "$out/mpy-cross.new" && mv -f "$out/mpy-cross.new" "$out/mpy-cross"
"$out/micropython" -c "import sys, bluetooth, asyncio, vfs; print('build.sh: built', sys.implementation)"
echo "$inputs" > "$out/inputs.sha256"
rm -rf "$work"
