#!/usr/bin/env bash
# The static build (`make static`, the rig's binaries) needs cpp-httplib as a
# header-only library, but Debian's libcpp-httplib-dev ships the header split
# from its implementation, which is only in a shared library. Debian's source
# package of the same library has the whole header: fetch it with
# `apt-get source` (a private apt configuration with deb-src entries for the
# mirrors the host's apt already uses; nothing is installed) and unpack it,
# Debian's patches applied.
#
#   httplib-source.sh DIR    prints the folder that holds httplib.h
set -euo pipefail

dir=${1:?usage: httplib-source.sh CACHE-DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
exec 9>"$dir/.lock"
flock 9

found() { find "$dir/src" -mindepth 2 -maxdepth 2 -name httplib.h -printf '%h\n' 2>/dev/null | head -n1; }
if [ -n "$(found)" ]; then
	found
	exit 0
fi

apt="$dir/apt"
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dir/src"
# deb-src twins of the host's main-archive entries (the suites it builds on).
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
	awk '$3 == "deb" { print "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " $1 " " $2 " main" }' |
	sort -u >"$apt/sources.list"
[ -s "$apt/sources.list" ] || { echo "httplib-source.sh: no Debian apt sources on this host" >&2; exit 1; }
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives" -o Debug::NoLocking=1
      -o APT::Sandbox::User=root -q)
apt-get "${opts[@]}" update >&2
(cd "$dir/src" && apt-get "${opts[@]}" source --download-only cpp-httplib >&2)
dsc=$(ls -t "$dir"/src/cpp-httplib_*.dsc | head -n1)
(cd "$dir/src" && dpkg-source --no-check -x "$dsc" >&2)
rm -rf "$apt/lists"  # the indexes are big; the unpacked source is all we keep
found=$(found)
[ -n "$found" ] || { echo "httplib-source.sh: no httplib.h in $dsc" >&2; exit 1; }
echo "$found"
