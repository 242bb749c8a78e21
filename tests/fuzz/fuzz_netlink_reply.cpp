// libFuzzer: replies and notifications of the "self_e" generic-netlink family
// as libself parses them (libself/src/control_parse.hpp). The input is the
// message after its netlink header: the genl header and attributes, any
// length, any contents; the command byte picks the notification kind. The
// results are also printed as `self-e list --json` would.
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "control_parse.hpp"
#include "json_text.hpp"
#include "list_output.hpp"
#include "notification_output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 65536)
        return 0;
    // A buffer of exactly the message: reading past it is a bug ASan sees.
    std::vector<std::uint8_t> buf(NLMSG_HDRLEN + size);
    auto* hdr = reinterpret_cast<nlmsghdr*>(buf.data());
    hdr->nlmsg_len = static_cast<std::uint32_t>(buf.size());
    hdr->nlmsg_type = 0x20;
    std::memcpy(buf.data() + NLMSG_HDRLEN, data, size);
    if (size < GENL_HDRLEN)
        return 0;  // libnl's callbacks never see a family message shorter than this

    std::vector<self_e::VmDescription> vms;
    self_e::ModuleStats module;
    bool got_module = false;
    self_e::detail::parse_reply_message(hdr, vms, module, got_module);
    // What `self-e list` prints of them, as it prints it.
    std::vector<self_e::tool::ListedVm> listed;
    for (auto& vm : vms)
        listed.push_back({std::move(vm), std::nullopt});
    (void)self_e::tool::json_text(self_e::tool::list_to_json(listed), 2);
    (void)self_e::tool::list_to_text(listed);

    std::vector<self_e::Notification> notes;
    self_e::detail::parse_notification(hdr, notes);
    for (const auto& note : notes) {
        (void)self_e::tool::json_text(self_e::tool::notification_to_json(note));
        (void)self_e::tool::notification_to_text(note);
    }
    return 0;
}
