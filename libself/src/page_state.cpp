#include "self_e/page_state.hpp"

namespace self_e {

std::string_view page_state_name(PageState s) noexcept
{
    switch (s) {
    case PageState::untouched: return "untouched";
    case PageState::private_page: return "private";
    case PageState::ksm: return "ksm";
    case PageState::zero: return "zero";
    case PageState::cow_broken: return "cow_broken";
    case PageState::unmapped: return "unmapped";
    }
    return "unknown";
}

}  // namespace self_e
