#!/bin/sh
# The aggregator's look-ahead must still load ahead: GCC once compiled
# Aggregator::prefetch to a bare ret (self_e/prefetch.hpp says how), and
# only the bench's wall-clock times, noisy on shared hosts, would show it.
# It loads a page word for page events and a shared-page record for faults
# and KSM events, each on the slot lookup cache's path and on the slot
# search's: 4 prefetch instructions at least (GCC 12 emits 6).
#   prefetch_kept.sh LIBRARY
lib=$1
case $(uname -m) in
x86_64) ;;
*) echo "not x86-64: skipped"; exit 77 ;;
esac
command -v objdump >/dev/null || { echo "objdump not found: skipped"; exit 77; }
body=$(objdump -d --no-show-raw-insn -C "$lib" |
	awk '/<self_e::Aggregator::prefetch\(self_e_event const&\) const>:$/ { on = 1; next } on && /^$/ { exit } on')
[ -n "$body" ] || { echo "FAIL: no Aggregator::prefetch in $lib"; exit 1; }
n=$(printf '%s\n' "$body" | grep -cE '^[[:space:]]*[0-9a-f]+:[[:space:]]+prefetch')
echo "Aggregator::prefetch issues $n prefetch instructions"
[ "$n" -ge 4 ] || { echo "FAIL: fewer than 4: the compiler dropped some"; exit 1; }
