# The host's apt sources, read so that private apt configurations (the rig's
# fetch.sh, the bench's QEMU source) reuse its mirrors and never name a host
# in the repo. Sourced (bash), not run.
# shellcheck shell=bash

# "URI SUITE" for every enabled deb entry of the host's apt sources, in both
# the one-line (.list) and the deb822 (.sources) formats.
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" | awk '$1 == "deb" { print $2, $3 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
		function flush(  n, m, i, j, U, S) {
			if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
				n = split(uris, U, /[ \t]+/); m = split(suites, S, /[ \t]+/)
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
					if (U[i] != "" && S[j] != "") print U[i], S[j]
			}
			types = uris = suites = last = ""; enabled = "yes"
		}
		BEGIN { enabled = "yes" }
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ {  # continuation line
			v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (last == "uris") uris = uris " " v
			else if (last == "suites") suites = suites " " v
			else if (last == "types") types = types " " v
			next
		}
		{
			k = tolower($0); sub(/:.*/, "", k)
			v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
			last = k
			if (k == "types") types = v
			else if (k == "uris") uris = v
			else if (k == "suites") suites = v
			else if (k == "enabled") enabled = tolower(v)
		}
		END { flush() }' "$f"
	done
}

# The first host URI that serves SUITE, without a trailing slash.
uri_for() {
	host_sources | awk -v s="$1" '$2 == s { sub(/\/+$/, "", $1); print $1; exit }'
}
