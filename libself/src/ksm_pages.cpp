#include "self_e/ksm_pages.hpp"

#include <algorithm>

namespace self_e {

KsmSharer* KsmSharers::find(std::uint16_t vm_id) noexcept
{
    for (std::size_t i = 0; i < size(); ++i)
        if (at(i).vm_id == vm_id)
            return &at(i);
    return nullptr;
}

void KsmSharers::add(std::uint16_t vm_id)
{
    ++mappers_;
    if (KsmSharer* s = find(vm_id)) {
        ++s->pages;
        return;
    }
    if (nr_inline_ < kInline) {
        inline_[nr_inline_++] = {vm_id, 1};
        return;
    }
    if (!more_)
        more_ = std::make_unique<std::vector<KsmSharer>>();
    more_->push_back({vm_id, 1});
}

void KsmSharers::erase_at(std::size_t i) noexcept
{
    // Keep the inline slots filled first: the last sharer takes i's place.
    const std::size_t last = size() - 1;
    at(i) = at(last);
    if (last >= nr_inline_) {
        more_->pop_back();
        if (more_->empty())
            more_.reset();
    } else {
        --nr_inline_;
    }
}

bool KsmSharers::remove(std::uint16_t vm_id) noexcept
{
    for (std::size_t i = 0; i < size(); ++i) {
        KsmSharer& s = at(i);
        if (s.vm_id != vm_id)
            continue;
        --mappers_;
        if (s.pages == 1)
            erase_at(i);
        else
            --s.pages;
        return true;
    }
    return false;
}

std::vector<KsmSharer> KsmSharers::list() const
{
    std::vector<KsmSharer> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i)
        out.push_back((*this)[i]);
    std::sort(out.begin(), out.end(),
              [](const KsmSharer& a, const KsmSharer& b) { return a.vm_id < b.vm_id; });
    return out;
}

void KsmPages::join(std::uint64_t pfn, std::uint16_t vm_id)
{
    pages_.try_emplace(pfn).first->add(vm_id);
}

bool KsmPages::leave(std::uint64_t pfn, std::uint16_t vm_id) noexcept
{
    KsmSharers* page = pages_.find(pfn);
    if (!page || !page->remove(vm_id))
        return false;
    if (page->mappers() == 0)
        pages_.erase(pfn);
    return true;
}

}  // namespace self_e
