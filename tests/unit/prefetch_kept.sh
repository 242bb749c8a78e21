#!/bin/sh
# The aggregator's look-ahead must still load ahead: GCC once compiled
# Aggregator::prefetch to a bare ret (self_e/prefetch.hpp says how), and
# only the bench's wall-clock times, noisy on shared hosts, would show it.
# The look-ahead is inlined into Aggregator::apply(span) twice (the batch's
# first events, then the loop). Each copy loads a page word for page events
# and a shared-page record for faults and KSM events, each on the slot
# lookup cache's path and on the slot search's: 8 prefetch instructions at
# least. GCC 12 emits exactly 8 (12 while the type switch gave the ACCESS
# case copies of its own); without prefetch.hpp's guard, 4.
#   prefetch_kept.sh LIBRARY
lib=$1
case $(uname -m) in
x86_64) ;;
*) echo "not x86-64: skipped"; exit 77 ;;
esac
command -v objdump >/dev/null || { echo "objdump not found: skipped"; exit 77; }
body=$(objdump -d --no-show-raw-insn -C "$lib" |
	awk '/<self_e::Aggregator::apply\(std::span<self_e_event const, [0-9]+ul>\)>:$/ { on = 1; next } on && /^$/ { exit } on')
[ -n "$body" ] || { echo "FAIL: no Aggregator::apply(span) in $lib"; exit 1; }
n=$(printf '%s\n' "$body" | grep -cE '^[[:space:]]*[0-9a-f]+:[[:space:]]+prefetch')
echo "Aggregator::apply(span) issues $n prefetch instructions"
[ "$n" -ge 8 ] || { echo "FAIL: fewer than 8: the compiler dropped some"; exit 1; }
