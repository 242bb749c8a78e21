#include "self_e/control.hpp"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "control_parse.hpp"
#include "self_e/error.hpp"
#include "uapi/self_e.h"

namespace self_e {

namespace {

constexpr const char* kModuleHint =
    "the self_e module is not loaded (insmod self_e.ko); `self-e snapshot` works without it";

// An Error for a libnl call; its codes are positive NLE_*, not errnos.
Error nl_error(const std::string& what, int nle)
{
    if (nle < 0)
        nle = -nle;
    if (nle == NLE_PERM)
        return Error(ErrorKind::permission,
                     what + ": " + nl_geterror(nle) + ": the self_e netlink family needs root (CAP_SYS_ADMIN)",
                     EPERM);
    return Error(ErrorKind::io, what + ": " + nl_geterror(nle));
}

// An Error for the kernel's own answer (-errno in an NLMSG_ERROR).
Error kernel_error(const std::string& what, int err)
{
    if (err == EPERM || err == EACCES)
        return Error(ErrorKind::permission,
                     what + ": " + std::strerror(err) + ": the self_e netlink family needs root (CAP_SYS_ADMIN)",
                     err);
    return system_error(what, err);
}

NlSockPtr connect_genl(const char* purpose)
{
    NlSockPtr sock(nl_socket_alloc());
    if (!sock)
        throw Error(ErrorKind::io, std::string("netlink ") + purpose + ": cannot allocate a socket");
    if (const int err = genl_connect(sock.get()); err < 0)
        throw nl_error(std::string("netlink ") + purpose + ": connect", err);
    return sock;
}

int resolve_family(nl_sock* sock)
{
    const int family = genl_ctrl_resolve(sock, SELF_E_GENL_NAME);
    if (family == -NLE_OBJ_NOTFOUND)
        throw Error(ErrorKind::unsupported,
                    std::string("generic netlink family '") + SELF_E_GENL_NAME + "' not found: " +
                        kModuleHint);
    if (family < 0)
        throw nl_error(std::string("resolve generic netlink family ") + SELF_E_GENL_NAME, family);
    return family;
}

using Attrs = nlattr* [SELF_E_A_MAX + 1];

// Parsed without a policy, so each getter checks the attribute's length
// itself: a short attribute reads as 0 (or a string up to its end), never
// past it.
std::uint32_t get_u32(nlattr* const* tb, int attr)
{
    return tb[attr] && nla_len(tb[attr]) >= 4 ? nla_get_u32(tb[attr]) : 0;
}
std::uint64_t get_u64(nlattr* const* tb, int attr)
{
    return tb[attr] && nla_len(tb[attr]) >= 8 ? nla_get_u64(tb[attr]) : 0;
}
std::uint8_t get_u8(nlattr* const* tb, int attr)
{
    return tb[attr] && nla_len(tb[attr]) >= 1 ? nla_get_u8(tb[attr]) : 0;
}
std::string get_string(nlattr* const* tb, int attr)
{
    if (!tb[attr] || nla_len(tb[attr]) <= 0)
        return std::string();
    const auto* text = static_cast<const char*>(nla_data(tb[attr]));
    return std::string(text, ::strnlen(text, static_cast<std::size_t>(nla_len(tb[attr]))));
}

Memslot parse_slot(nlattr* nest)
{
    nlattr* st[SELF_E_SLOT_A_MAX + 1];
    Memslot slot;
    if (nla_parse_nested(st, SELF_E_SLOT_A_MAX, nest, nullptr) < 0)
        return slot;
    slot.id = get_u32(st, SELF_E_SLOT_A_ID);
    slot.base_gfn = get_u64(st, SELF_E_SLOT_A_BASE_GFN);
    slot.npages = get_u64(st, SELF_E_SLOT_A_NPAGES);
    slot.hva = get_u64(st, SELF_E_SLOT_A_HVA);
    slot.flags = get_u32(st, SELF_E_SLOT_A_FLAGS);
    return slot;
}

VmDescription parse_vm(nlattr* const* tb)
{
    VmDescription vm;
    vm.vm_id = get_u32(tb, SELF_E_A_VM_ID);
    vm.pid = static_cast<pid_t>(get_u32(tb, SELF_E_A_PID));
    vm.comm = get_string(tb, SELF_E_A_COMM);
    vm.nr_vcpus = get_u32(tb, SELF_E_A_NR_VCPUS);
    vm.events = get_u64(tb, SELF_E_A_EVENTS);
    vm.dropped = get_u64(tb, SELF_E_A_DROPPED);
    vm.readers = get_u32(tb, SELF_E_A_READERS);
    vm.sample_interval_ms = get_u32(tb, SELF_E_A_SAMPLE_INTERVAL_MS);
    vm.sample_budget = get_u32(tb, SELF_E_A_SAMPLE_BUDGET);
    vm.sample_passes = get_u64(tb, SELF_E_A_SAMPLE_PASSES);
    vm.sample_ns = get_u64(tb, SELF_E_A_SAMPLE_NS);
    if (tb[SELF_E_A_MEMSLOTS]) {
        nlattr* nest;
        int rem;
        nla_for_each_nested(nest, tb[SELF_E_A_MEMSLOTS], rem) vm.memslots.push_back(parse_slot(nest));
    }
    return vm;
}

// What one request's callbacks collect. libnl calls C callbacks: nothing
// may throw through them, so they only record.
struct Reply {
    std::vector<VmDescription> vms;
    ModuleStats module;
    bool got_module = false;
    int kernel_errno = 0;
};

int on_reply(nl_msg* msg, void* arg)
{
    auto* reply = static_cast<Reply*>(arg);
    return detail::parse_reply_message(nlmsg_hdr(msg), reply->vms, reply->module, reply->got_module)
               ? NL_OK
               : NL_SKIP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg)
{
    static_cast<Reply*>(arg)->kernel_errno = -err->error;
    return NL_STOP;
}

Reply request(nl_sock* sock, int family, std::uint8_t cmd, int flags,
              std::optional<std::uint32_t> vm_id, const std::string& what)
{
    struct MsgDeleter {
        void operator()(nl_msg* m) const noexcept { nlmsg_free(m); }
    };
    std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
    if (!msg || !genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
                             SELF_E_GENL_VERSION) ||
        (vm_id && nla_put_u32(msg.get(), SELF_E_A_VM_ID, *vm_id) < 0))
        throw Error(ErrorKind::io, what + ": cannot build the netlink message");

    Reply reply;
    nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_reply, &reply);
    nl_socket_modify_err_cb(sock, NL_CB_CUSTOM, on_error, &reply);
    if (const int err = nl_send_auto(sock, msg.get()); err < 0)
        throw nl_error(what + ": send", err);
    const int err = nl_recvmsgs_default(sock);
    if (reply.kernel_errno)
        throw kernel_error(what, reply.kernel_errno);
    if (err < 0)
        throw nl_error(what + ": receive", err);
    return reply;
}

}  // namespace

namespace detail {

bool parse_reply_message(nlmsghdr* hdr, std::vector<VmDescription>& vms, ModuleStats& module,
                         bool& got_module)
{
    Attrs tb;
    if (genlmsg_parse(hdr, 0, tb, SELF_E_A_MAX, nullptr) < 0)
        return false;
    if (tb[SELF_E_A_VM_ID]) {
        vms.push_back(parse_vm(tb));
    } else {
        module.nr_vms = get_u32(tb, SELF_E_A_NR_VMS);
        module.readers = get_u32(tb, SELF_E_A_READERS);
        got_module = true;
    }
    return true;
}

}  // namespace detail

void NlSockDeleter::operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }

ControlClient::ControlClient() : sock_(connect_genl("control"))
{
    // Replies end a request by themselves (a doit's one message, a dump's
    // DONE); errors come back without asking. No ACK left in the queue.
    nl_socket_disable_auto_ack(sock_.get());
    family_ = resolve_family(sock_.get());
}

std::vector<VmDescription> ControlClient::list_vms(std::optional<std::uint32_t> vm_id)
{
    return request(sock_.get(), family_, SELF_E_CMD_LIST_VMS, NLM_F_DUMP, vm_id, "netlink LIST_VMS").vms;
}

ModuleStats ControlClient::module_stats()
{
    Reply reply = request(sock_.get(), family_, SELF_E_CMD_GET_STATS, 0, std::nullopt,
                          "netlink GET_STATS");
    if (!reply.got_module)
        throw Error(ErrorKind::bad_format, "netlink GET_STATS: the reply has no module counters");
    return reply.module;
}

VmDescription ControlClient::vm_stats(std::uint32_t vm_id)
{
    const std::string what = "netlink GET_STATS of VM " + std::to_string(vm_id);
    Reply reply;
    try {
        reply = request(sock_.get(), family_, SELF_E_CMD_GET_STATS, 0, vm_id, what);
    } catch (const Error& e) {
        if (e.sys_errno() == ENOENT)
            throw Error(ErrorKind::no_such_process,
                        "no VM " + std::to_string(vm_id) + " (it ended or never existed; see `self-e list`)",
                        ENOENT);
        throw;
    }
    if (reply.vms.size() != 1)
        throw Error(ErrorKind::bad_format, what + ": the reply describes no VM");
    return std::move(reply.vms.front());
}

// ---- notifications ---------------------------------------------------------

namespace {

struct Received {
    std::vector<Notification> notes;
};

int on_notification(nl_msg* msg, void* arg)
{
    auto* received = static_cast<Received*>(arg);
    return detail::parse_notification(nlmsg_hdr(msg), received->notes) ? NL_OK : NL_SKIP;
}

}  // namespace

namespace detail {

bool parse_notification(nlmsghdr* hdr, std::vector<Notification>& notes)
{
    const auto* gh = static_cast<const genlmsghdr*>(nlmsg_data(hdr));
    Attrs tb;
    if (genlmsg_parse(hdr, 0, tb, SELF_E_A_MAX, nullptr) < 0)
        return false;
    const std::uint32_t vm_id = get_u32(tb, SELF_E_A_VM_ID);
    switch (gh->cmd) {
    case SELF_E_CMD_VM_NEW:
        notes.emplace_back(VmCreated{vm_id, static_cast<pid_t>(get_u32(tb, SELF_E_A_PID)),
                                     get_string(tb, SELF_E_A_COMM)});
        break;
    case SELF_E_CMD_VM_DEL:
        notes.emplace_back(VmDestroyed{vm_id, static_cast<pid_t>(get_u32(tb, SELF_E_A_PID)),
                                       get_string(tb, SELF_E_A_COMM)});
        break;
    case SELF_E_CMD_MEMSLOT:
        notes.emplace_back(MemslotChanged{
            vm_id, get_u8(tb, SELF_E_A_CHANGE),
            tb[SELF_E_A_MEMSLOT] ? parse_slot(tb[SELF_E_A_MEMSLOT]) : Memslot{}});
        break;
    case SELF_E_CMD_OVERFLOW:
        notes.emplace_back(RingOverflow{vm_id, get_u64(tb, SELF_E_A_DROPPED)});
        break;
    default:
        break;  // a newer module's notification: not ours to guess at
    }
    return true;
}

}  // namespace detail

NotificationListener::NotificationListener() : sock_(connect_genl("events"))
{
    resolve_family(sock_.get());  // says "module not loaded" when it is not
    const int group = genl_ctrl_resolve_grp(sock_.get(), SELF_E_GENL_NAME, SELF_E_GENL_MCGRP);
    if (group < 0)
        throw nl_error(std::string("resolve multicast group ") + SELF_E_GENL_NAME + "/" + SELF_E_GENL_MCGRP,
                       group);
    // Notifications are not answers to requests: no sequence numbers.
    nl_socket_disable_seq_check(sock_.get());
    if (const int err = nl_socket_add_membership(sock_.get(), group); err < 0)
        throw nl_error(std::string("join multicast group ") + SELF_E_GENL_MCGRP, err);
    if (const int err = nl_socket_set_nonblocking(sock_.get()); err < 0)
        throw nl_error("netlink events: set non-blocking", err);
}

int NotificationListener::fd() const { return nl_socket_get_fd(sock_.get()); }

std::vector<Notification> NotificationListener::receive(std::chrono::milliseconds timeout)
{
    Received received;
    nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, on_notification, &received);
    pollfd pfd{fd(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR)
        throw system_error("netlink events: poll", errno);
    if (n <= 0)
        return {};
    for (;;) {
        const int err = nl_recvmsgs_default(sock_.get());
        if (err == -NLE_AGAIN)
            break;
        if (err < 0)
            throw nl_error("netlink events: receive", err);
    }
    return std::move(received.notes);
}

const char* memslot_change_name(std::uint8_t change) noexcept
{
    static const char* const names[] = {"create", "delete", "move", "flags"};
    return change < 4 ? names[change] : "unknown";
}

}  // namespace self_e
