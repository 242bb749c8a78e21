// An allocator that leaves trivially constructible elements uninitialised on
// resize(): for buffers (the reorder buffer's) that are sized first and
// written right after, where zeroing them first would be a pass over memory
// for nothing.
#pragma once

#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace self_e {

template <typename T>
class DefaultInitAllocator : public std::allocator<T> {
public:
    template <typename U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };

    DefaultInitAllocator() = default;
    template <typename U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept
    {
    }

    // Default-initialised: for a trivial U, nothing is written.
    template <typename U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>)
    {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args)
    {
        std::allocator_traits<std::allocator<T>>::construct(*this, p, std::forward<Args>(args)...);
    }
};

}  // namespace self_e
