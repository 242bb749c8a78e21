// Starting to load memory a caller will soon write, ahead of time.
//
// GCC takes __builtin_prefetch for free of side effects. A function whose
// only work is prefetching, with a loop in it (C++ lets GCC assume loops
// end), it then marks pure, and it drops every call to it, prefetches and
// all: the aggregator's page-word prefetch was compiled to nothing that
// way (GCC 12, -O2). The empty asm volatile is a side effect it must keep,
// at no cost: it emits no instruction.
#pragma once

namespace self_e {

inline void prefetch_for_write(const void* p) noexcept
{
    __builtin_prefetch(p, 1);
    asm volatile("" : : "r"(p));
}

}  // namespace self_e
