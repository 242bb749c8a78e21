#include "self_e/ksm_pages.hpp"

#include <algorithm>

namespace self_e {

void KsmSharers::add(std::uint16_t vm_id)
{
    ++mappers_;
    for (std::size_t i = 0; i < nr_inline_; ++i) {
        if (vm_ids_[i] == vm_id) {
            ++pages_[i];
            return;
        }
    }
    if (more_) {
        for (KsmSharer& s : *more_) {
            if (s.vm_id == vm_id) {
                ++s.pages;
                return;
            }
        }
    }
    if (nr_inline_ < kInline) {
        vm_ids_[nr_inline_] = vm_id;
        pages_[nr_inline_] = 1;
        ++nr_inline_;
        return;
    }
    if (!more_)
        more_ = std::make_unique<std::vector<KsmSharer>>();
    more_->push_back({vm_id, 1});
}

void KsmSharers::erase_at(std::size_t i) noexcept
{
    // Keep the inline slots filled first: the last sharer takes i's place.
    if (more_) {
        const KsmSharer last = more_->back();
        more_->pop_back();
        if (more_->empty())
            more_.reset();
        if (i < nr_inline_) {
            vm_ids_[i] = last.vm_id;
            pages_[i] = last.pages;
        } else if (i - nr_inline_ < (more_ ? more_->size() : 0)) {
            (*more_)[i - nr_inline_] = last;
        }
        return;
    }
    --nr_inline_;
    vm_ids_[i] = vm_ids_[nr_inline_];
    pages_[i] = pages_[nr_inline_];
}

bool KsmSharers::remove(std::uint16_t vm_id) noexcept
{
    for (std::size_t i = 0; i < nr_inline_; ++i) {
        if (vm_ids_[i] != vm_id)
            continue;
        --mappers_;
        if (--pages_[i] == 0)
            erase_at(i);
        return true;
    }
    if (!more_)
        return false;
    for (std::size_t j = 0; j < more_->size(); ++j) {
        if ((*more_)[j].vm_id != vm_id)
            continue;
        --mappers_;
        if (--(*more_)[j].pages == 0)
            erase_at(nr_inline_ + j);
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
