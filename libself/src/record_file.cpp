#include "self_e/record_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "self_e/error.hpp"

namespace self_e {

namespace {

constexpr std::size_t kFixedHeaderBytes = 64;
constexpr std::uint32_t kMaxHeaderBytes = 16u << 20;
constexpr std::size_t kMaxString = 4096;
constexpr std::uint32_t kMaxSlots = 1u << 16;
constexpr std::size_t kEventBytes = 32;
constexpr std::size_t kMemslotBytes = 32;
constexpr std::size_t kRecordHead = 8;  // tag, length

// ---- encoding -------------------------------------------------------------

void put_u8(std::string& b, std::uint8_t v) { b.push_back(static_cast<char>(v)); }
void put_u16(std::string& b, std::uint16_t v)
{
    for (int i = 0; i < 2; ++i)
        put_u8(b, static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u32(std::string& b, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        put_u8(b, static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::string& b, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i)
        put_u8(b, static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_str(std::string& b, const std::string& s)
{
    const std::size_t n = std::min(s.size(), kMaxString);
    put_u16(b, static_cast<std::uint16_t>(n));
    b.append(s, 0, n);
}
void put_memslot(std::string& b, const Memslot& m)
{
    put_u64(b, m.base_gfn);
    put_u64(b, m.npages);
    put_u64(b, m.hva);
    put_u32(b, m.id);
    put_u32(b, m.flags);
}
void put_vm(std::string& b, const RecordedVm& vm)
{
    put_u16(b, vm.vm_id);
    put_u32(b, static_cast<std::uint32_t>(vm.pid));
    put_u32(b, vm.nr_vcpus);
    put_u64(b, vm.attached_ns);
    put_str(b, vm.comm);
    put_str(b, vm.name);
    put_u32(b, static_cast<std::uint32_t>(vm.memslots.size()));
    for (const Memslot& m : vm.memslots)
        put_memslot(b, m);
}
void put_event(std::string& b, const Event& ev)
{
    put_u16(b, 0);
    put_u8(b, ev.type);
    put_u8(b, ev.flags);
    put_u16(b, ev.vcpu);
    put_u16(b, ev.vm_id);
    put_u64(b, ev.ts_ns);
    put_u64(b, ev.gfn);
    put_u64(b, ev.arg);
}

// ---- decoding: a cursor over bytes whose errors name the offset -----------

class Cursor {
public:
    // base: the offset of data[0] in what messages call "where"; where: e.g.
    // "header" or "body"; source: the file.
    Cursor(std::span<const std::uint8_t> data, std::uint64_t base, std::string where,
           const std::string& source)
        : data_(data), base_(base), where_(std::move(where)), source_(source)
    {
    }

    [[noreturn]] void fail(const std::string& what) const
    {
        throw Error(ErrorKind::bad_format, source_ + ": " + what + " (" + where_ + " offset " +
                                               std::to_string(base_ + pos_) + ")");
    }
    void need(std::size_t n, const char* what) const
    {
        if (data_.size() - pos_ < n)
            fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                 std::to_string(data_.size() - pos_) + " left");
    }
    std::uint64_t get(int bytes, const char* what)
    {
        need(static_cast<std::size_t>(bytes), what);
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= std::uint64_t{data_[pos_ + i]} << (8 * i);
        pos_ += static_cast<std::size_t>(bytes);
        return v;
    }
    std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(get(1, what)); }
    std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(get(2, what)); }
    std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(get(4, what)); }
    std::uint64_t u64(const char* what) { return get(8, what); }
    std::string str(const char* what)
    {
        const std::uint16_t n = u16(what);
        if (n > kMaxString)
            fail(std::string(what) + ": length " + std::to_string(n) + " exceeds " +
                 std::to_string(kMaxString));
        need(n, what);
        std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    // A count of items of item_bytes each that must fit in what is left.
    std::uint32_t count(std::size_t item_bytes, std::uint32_t max, const char* what)
    {
        const std::uint32_t n = u32(what);
        if (n > max)
            fail(std::string(what) + ": count " + std::to_string(n) + " exceeds " + std::to_string(max));
        if (static_cast<std::uint64_t>(n) * item_bytes > data_.size() - pos_) {
            pos_ -= 4;
            fail(std::string("truncated: ") + what + ": " + std::to_string(n) + " items of " +
                 std::to_string(item_bytes) + " bytes do not fit in the " +
                 std::to_string(data_.size() - pos_ - 4) + " bytes left");
        }
        return n;
    }
    Memslot memslot()
    {
        Memslot m;
        m.base_gfn = u64("memslot base gfn");
        m.npages = u64("memslot pages");
        m.hva = u64("memslot hva");
        m.id = u32("memslot id");
        m.flags = u32("memslot flags");
        return m;
    }
    RecordedVm vm()
    {
        RecordedVm vm;
        vm.vm_id = u16("vm id");
        vm.pid = static_cast<pid_t>(u32("vm pid"));
        vm.nr_vcpus = u32("vm vcpus");
        vm.attached_ns = u64("vm attach time");
        vm.comm = str("vm comm");
        vm.name = str("vm name");
        const std::uint32_t n = count(kMemslotBytes, kMaxSlots, "vm memslots");
        vm.memslots.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i)
            vm.memslots.push_back(memslot());
        return vm;
    }
    void expect_end(const char* what) const
    {
        if (pos_ != data_.size())
            fail(std::string(what) + ": " + std::to_string(data_.size() - pos_) +
                 " bytes left over at its end");
    }
    std::size_t pos() const noexcept { return pos_; }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    std::uint64_t base_;
    std::string where_;
    const std::string& source_;
};

RecordItem parse_record(RecordTag tag, Cursor& c)
{
    switch (tag) {
    case RecordTag::vm: {
        VmAdded item{c.vm()};
        c.expect_end("VM record");
        return item;
    }
    case RecordTag::events: {
        EventBatch batch;
        const std::size_t n = c.count(kEventBytes, kMaxRecordBytes / kEventBytes, "EVENTS record");
        batch.events.resize(n);
        for (Event& ev : batch.events) {
            ev.seq = c.u16("event seq");
            ev.type = c.u8("event type");
            ev.flags = c.u8("event flags");
            ev.vcpu = c.u16("event vcpu");
            ev.vm_id = c.u16("event vm id");
            ev.ts_ns = c.u64("event ts");
            ev.gfn = c.u64("event gfn");
            ev.arg = c.u64("event arg");
        }
        c.expect_end("EVENTS record");
        return batch;
    }
    case RecordTag::memslots: {
        MemslotUpdate update;
        update.vm_id = c.u16("MEMSLOTS vm id");
        const std::uint32_t n = c.count(kMemslotBytes, kMaxSlots, "MEMSLOTS record");
        for (std::uint32_t i = 0; i < n; ++i)
            update.memslots.push_back(c.memslot());
        c.expect_end("MEMSLOTS record");
        return update;
    }
    case RecordTag::seed: {
        SeedStart seed;
        seed.vm_id = c.u16("SEED vm id");
        seed.pid = c.u32("SEED pid");
        const std::uint8_t trusted = c.u8("SEED ksm_flag_trusted");
        if (trusted > 1)
            c.fail("SEED record: ksm_flag_trusted is " + std::to_string(trusted) + ", not 0 or 1");
        seed.ksm_flag_trusted = trusted;
        const std::uint32_t n = c.count(26, kMaxSlots, "SEED record slots");
        for (std::uint32_t i = 0; i < n; ++i) {
            GuestMemslot s;
            s.id = c.u16("SEED slot id");
            s.base_gfn = c.u64("SEED slot base gfn");
            s.npages = c.u64("SEED slot pages");
            s.hva = c.u64("SEED slot hva");
            seed.slots.push_back(s);
        }
        c.expect_end("SEED record");
        return seed;
    }
    case RecordTag::pages: {
        SeedPages pages;
        pages.vm_id = c.u16("PAGES vm id");
        pages.first_hva = c.u64("PAGES first hva");
        const std::uint32_t n = c.count(9, kMaxRecordBytes / 9, "PAGES record");
        pages.pages.resize(n);
        for (PageInfo& p : pages.pages) {
            const std::uint8_t bits = c.u8("PAGES class");
            if ((bits & 0xf) > static_cast<std::uint8_t>(PageClass::shared) || (bits & 0x80))
                c.fail("PAGES record: page class byte " + std::to_string(bits) + " is no class");
            p.page_class = static_cast<PageClass>(bits & 0xf);
            p.thp = bits & 0x10;
            p.hugetlb = bits & 0x20;
            p.file = bits & 0x40;
        }
        for (PageInfo& p : pages.pages)
            p.pfn = c.u64("PAGES pfn");
        c.expect_end("PAGES record");
        return pages;
    }
    case RecordTag::end: {
        RecordEnd end;
        end.seeded_mono_ns = c.u64("END seeded time");
        end.end_mono_ns = c.u64("END monotonic time");
        end.end_real_ns = c.u64("END realtime");
        const std::uint32_t n = c.count(19, kMaxSlots, "END record VMs");
        for (std::uint32_t i = 0; i < n; ++i) {
            VmEndStats s;
            s.vm_id = c.u16("END vm id");
            s.produced = c.u64("END produced");
            s.dropped = c.u64("END dropped");
            const std::uint8_t ended = c.u8("END ended");
            if (ended > 1)
                c.fail("END record: ended is " + std::to_string(ended) + ", not 0 or 1");
            s.ended = ended;
            end.vms.push_back(s);
        }
        c.expect_end("END record");
        return end;
    }
    }
    c.fail("unknown record tag " + std::to_string(static_cast<std::uint32_t>(tag)) +
           " (a newer format version?)");
}

}  // namespace

// ---- writer ---------------------------------------------------------------

struct RecordWriter::Zstd {
    struct Free {
        void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
    };
    std::unique_ptr<ZSTD_CCtx, Free> cctx;
    std::vector<char> out;
};

RecordWriter::RecordWriter(const std::string& path, const RecordHeader& header, int zstd_level)
    : path_(path), zstd_(std::make_unique<Zstd>())
{
    fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_)
        throw system_error("open " + path, errno);
    zstd_->cctx.reset(ZSTD_createCCtx());
    if (!zstd_->cctx)
        throw Error(ErrorKind::io, path + ": cannot create a zstd context");
    ZSTD_CCtx_setParameter(zstd_->cctx.get(), ZSTD_c_compressionLevel, zstd_level);
    // A checksum per frame: corruption of the body is then always noticed.
    ZSTD_CCtx_setParameter(zstd_->cctx.get(), ZSTD_c_checksumFlag, 1);
    zstd_->out.resize(ZSTD_CStreamOutSize());

    std::string h(kRecordMagic, sizeof kRecordMagic);
    put_u16(h, header.version);
    put_u16(h, 0);
    put_u32(h, 0);  // header length, set below
    put_u32(h, kRecordCompressionZstd);
    put_u32(h, header.page_size);
    put_u32(h, header.abi_version);
    put_u32(h, kRecordClockMonotonic);
    put_u64(h, header.start_mono_ns);
    put_u64(h, header.start_real_ns);
    put_u64(h, header.event_mask);
    put_u32(h, header.sample_interval_ms);
    put_u32(h, header.sample_budget_pages);
    put_str(h, header.kernel_release);
    put_str(h, header.hostname);
    put_u32(h, static_cast<std::uint32_t>(header.vms.size()));
    for (const RecordedVm& vm : header.vms)
        put_vm(h, vm);
    std::string len;
    put_u32(len, static_cast<std::uint32_t>(h.size()));
    h.replace(12, 4, len);
    write_out(h.data(), h.size());
}

RecordWriter::~RecordWriter()
{
    if (finished_ || !fd_)
        return;
    // Close the zstd frame so what was written stays readable (up to the
    // missing END record, which readers report).
    try {
        compress(nullptr, 0, ZSTD_e_end);
    } catch (const Error&) {
    }
}

void RecordWriter::write_out(const void* data, std::size_t size)
{
    const char* p = static_cast<const char*>(data);
    while (size) {
        const ssize_t n = ::write(fd_.get(), p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw system_error("write " + path_, errno);
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        file_bytes_ += static_cast<std::uint64_t>(n);
    }
}

void RecordWriter::compress(const void* data, std::size_t size, int mode)
{
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
        ZSTD_outBuffer out{zstd_->out.data(), zstd_->out.size(), 0};
        const std::size_t left = ZSTD_compressStream2(zstd_->cctx.get(), &out, &in,
                                                      static_cast<ZSTD_EndDirective>(mode));
        if (ZSTD_isError(left))
            throw Error(ErrorKind::io, path_ + ": zstd: " + ZSTD_getErrorName(left));
        write_out(zstd_->out.data(), out.pos);
        const bool done = mode == ZSTD_e_continue ? in.pos == in.size : left == 0;
        if (done)
            return;
    }
}

void RecordWriter::put_record(RecordTag tag, const std::string& payload)
{
    if (finished_)
        throw Error(ErrorKind::invalid_argument, path_ + ": record written after the END record");
    if (payload.size() > kMaxRecordBytes)
        throw Error(ErrorKind::invalid_argument,
                    path_ + ": record of " + std::to_string(payload.size()) + " bytes is too large");
    std::string head;
    put_u32(head, static_cast<std::uint32_t>(tag));
    put_u32(head, static_cast<std::uint32_t>(payload.size()));
    compress(head.data(), head.size(), ZSTD_e_continue);
    compress(payload.data(), payload.size(), ZSTD_e_continue);
}

void RecordWriter::write_vm(const RecordedVm& vm)
{
    std::string b;
    put_vm(b, vm);
    put_record(RecordTag::vm, b);
}

void RecordWriter::write_events(std::span<const Event> events)
{
    // Split so that no record exceeds the limit.
    constexpr std::size_t kPerRecord = (kMaxRecordBytes - 4) / kEventBytes;
    while (!events.empty()) {
        const std::size_t n = std::min(events.size(), kPerRecord);
        std::string b;
        b.reserve(4 + n * kEventBytes);
        put_u32(b, static_cast<std::uint32_t>(n));
        for (const Event& ev : events.first(n))
            put_event(b, ev);
        put_record(RecordTag::events, b);
        events_ += n;
        events = events.subspan(n);
    }
}

void RecordWriter::write_memslots(std::uint16_t vm_id, std::span<const Memslot> memslots)
{
    std::string b;
    put_u16(b, vm_id);
    put_u32(b, static_cast<std::uint32_t>(memslots.size()));
    for (const Memslot& m : memslots)
        put_memslot(b, m);
    put_record(RecordTag::memslots, b);
}

void RecordWriter::write_seed(const SeedStart& seed)
{
    std::string b;
    put_u16(b, seed.vm_id);
    put_u32(b, seed.pid);
    put_u8(b, seed.ksm_flag_trusted ? 1 : 0);
    put_u32(b, static_cast<std::uint32_t>(seed.slots.size()));
    for (const GuestMemslot& s : seed.slots) {
        put_u16(b, s.id);
        put_u64(b, s.base_gfn);
        put_u64(b, s.npages);
        put_u64(b, s.hva);
    }
    put_record(RecordTag::seed, b);
}

void RecordWriter::write_pages(std::uint16_t vm_id, std::uint64_t first_hva,
                               std::span<const PageInfo> pages)
{
    constexpr std::size_t kPerRecord = 1u << 20;
    while (!pages.empty()) {
        const std::size_t n = std::min(pages.size(), kPerRecord);
        std::string b;
        b.reserve(14 + n * 9);
        put_u16(b, vm_id);
        put_u64(b, first_hva);
        put_u32(b, static_cast<std::uint32_t>(n));
        for (const PageInfo& p : pages.first(n))
            put_u8(b, static_cast<std::uint8_t>(static_cast<unsigned>(p.page_class) | (p.thp << 4) |
                                                (p.hugetlb << 5) | (p.file << 6)));
        for (const PageInfo& p : pages.first(n))
            put_u64(b, p.pfn);
        put_record(RecordTag::pages, b);
        first_hva += n * 4096;
        pages = pages.subspan(n);
    }
}

void RecordWriter::flush()
{
    if (!finished_)
        compress(nullptr, 0, ZSTD_e_flush);
}

void RecordWriter::finish(const RecordEnd& end)
{
    std::string b;
    put_u64(b, end.seeded_mono_ns);
    put_u64(b, end.end_mono_ns);
    put_u64(b, end.end_real_ns);
    put_u32(b, static_cast<std::uint32_t>(end.vms.size()));
    for (const VmEndStats& s : end.vms) {
        put_u16(b, s.vm_id);
        put_u64(b, s.produced);
        put_u64(b, s.dropped);
        put_u8(b, s.ended ? 1 : 0);
    }
    put_record(RecordTag::end, b);
    compress(nullptr, 0, ZSTD_e_end);
    finished_ = true;
    fd_.reset();
}

// ---- reader ---------------------------------------------------------------

struct RecordReader::Zstd {
    struct Free {
        void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
    };
    std::unique_ptr<ZSTD_DCtx, Free> dctx;
    std::vector<char> in;
    ZSTD_inBuffer in_buf{nullptr, 0, 0};
    bool flush_pending = false;  // the last call filled its output: more may come
    std::uint64_t header_bytes = 0;
};

RecordReader::RecordReader(std::istream& in, std::string source)
    : in_(in), source_(std::move(source)), zstd_(std::make_unique<Zstd>())
{
    read_header();
    zstd_->dctx.reset(ZSTD_createDCtx());
    if (!zstd_->dctx)
        throw Error(ErrorKind::io, source_ + ": cannot create a zstd context");
    zstd_->in.resize(ZSTD_DStreamInSize());
}

RecordReader::~RecordReader() = default;

void RecordReader::read_header()
{
    std::uint8_t fixed[16];
    in_.read(reinterpret_cast<char*>(fixed), sizeof fixed);
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (got >= sizeof kRecordMagic && std::memcmp(fixed, kRecordMagic, sizeof kRecordMagic) != 0)
        throw Error(ErrorKind::bad_format,
                    source_ + ": not a self-e recording (no SELFEREC magic at offset 0)");
    if (got < sizeof fixed)
        throw Error(ErrorKind::bad_format, source_ + ": truncated: the file has " + std::to_string(got) +
                                               " bytes, less than a header (file offset " +
                                               std::to_string(got) + ")");
    Cursor f({fixed, sizeof fixed}, 0, "file", source_);
    f.get(8, "magic");
    const std::uint16_t version = f.u16("format version");
    if (version != kRecordFormatVersion)
        throw Error(ErrorKind::bad_format,
                    source_ + ": format version " + std::to_string(version) + ", this self-e reads " +
                        std::to_string(kRecordFormatVersion) + " (file offset 8)");
    f.u16("flags");
    const std::uint32_t length = f.u32("header length");
    if (length < kFixedHeaderBytes + 6 || length > kMaxHeaderBytes)
        throw Error(ErrorKind::bad_format, source_ + ": header length " + std::to_string(length) +
                                               " is out of range (file offset 12)");
    std::vector<std::uint8_t> rest(length - sizeof fixed);
    in_.read(reinterpret_cast<char*>(rest.data()), static_cast<std::streamsize>(rest.size()));
    const auto rest_got = static_cast<std::size_t>(in_.gcount());
    if (rest_got < rest.size())
        throw Error(ErrorKind::bad_format,
                    source_ + ": truncated: the header is " + std::to_string(length) +
                        " bytes, the file ends at offset " + std::to_string(sizeof fixed + rest_got));
    file_offset_ = length;
    zstd_->header_bytes = length;

    Cursor c(rest, sizeof fixed, "file", source_);
    if (c.u32("compression") != kRecordCompressionZstd)
        c.fail("unknown compression (only 1 = zstd is known)");
    header_.version = version;
    header_.page_size = c.u32("page size");
    header_.abi_version = c.u32("ABI version");
    if (c.u32("clock") != kRecordClockMonotonic)
        c.fail("unknown clock (only 1 = CLOCK_MONOTONIC is known)");
    header_.start_mono_ns = c.u64("start monotonic time");
    header_.start_real_ns = c.u64("start realtime");
    header_.event_mask = c.u64("event mask");
    header_.sample_interval_ms = c.u32("sampling interval");
    header_.sample_budget_pages = c.u32("sampling budget");
    header_.kernel_release = c.str("kernel release");
    header_.hostname = c.str("host name");
    const std::uint32_t nvms = c.count(26, kMaxSlots, "header VMs");
    for (std::uint32_t i = 0; i < nvms; ++i)
        header_.vms.push_back(c.vm());
    c.expect_end("header");
}

void RecordReader::fail_body(const std::string& what, std::uint64_t at) const
{
    const std::uint64_t consumed =
        zstd_->header_bytes + (file_offset_ - zstd_->header_bytes) - (zstd_->in_buf.size - zstd_->in_buf.pos);
    throw Error(ErrorKind::bad_format, source_ + ": " + what + " (body offset " + std::to_string(at) +
                                           ", file offset " + std::to_string(consumed) + ")");
}

bool RecordReader::fill(std::size_t n, bool at_record_start)
{
    const std::size_t chunk = ZSTD_DStreamOutSize();
    while (out_.size() - out_pos_ < n) {
        if (out_pos_ > 0 && out_pos_ >= out_.size() / 2) {
            out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_pos_));
            out_pos_ = 0;
        }
        ZSTD_inBuffer& in = zstd_->in_buf;
        if (in.pos == in.size && !zstd_->flush_pending) {
            if (input_done_) {
                const std::size_t have = out_.size() - out_pos_;
                if (have == 0 && at_record_start && !frame_open_)
                    return false;
                if (frame_open_)
                    fail_body("truncated: the file ends inside a zstd frame", body_offset_ + have);
                fail_body("truncated: the body ends inside a record (" + std::to_string(have) + " of " +
                              std::to_string(n) + " bytes there)",
                          body_offset_ + have);
            }
            in_.read(zstd_->in.data(), static_cast<std::streamsize>(zstd_->in.size()));
            const auto got = static_cast<std::size_t>(in_.gcount());
            if (got == 0) {
                input_done_ = true;
                continue;
            }
            file_offset_ += got;
            in = ZSTD_inBuffer{zstd_->in.data(), got, 0};
        }
        const std::size_t old = out_.size();
        out_.resize(old + chunk);
        ZSTD_outBuffer out{out_.data() + old, chunk, 0};
        const std::size_t r = ZSTD_decompressStream(zstd_->dctx.get(), &out, &in);
        out_.resize(old + out.pos);
        if (ZSTD_isError(r))
            fail_body(std::string("corrupt compressed body: zstd: ") + ZSTD_getErrorName(r),
                      body_offset_ + (out_.size() - out_pos_));
        frame_open_ = r != 0;
        zstd_->flush_pending = out.pos == out.size;
    }
    return true;
}

std::optional<RecordItem> RecordReader::next()
{
    if (ended_) {
        if (fill(1, true))
            fail_body("data after the END record", body_offset_);
        return std::nullopt;
    }
    const std::uint64_t at = body_offset_;
    if (!fill(kRecordHead, true))
        fail_body("truncated: no END record (the recorder did not finish)", at);
    Cursor head({out_.data() + out_pos_, kRecordHead}, at, "body", source_);
    const std::uint32_t tag = head.u32("record tag");
    const std::uint32_t length = head.u32("record length");
    if (tag < static_cast<std::uint32_t>(RecordTag::vm) || tag > static_cast<std::uint32_t>(RecordTag::end))
        fail_body("unknown record tag " + std::to_string(tag) + " (a newer format version, or corrupt)", at);
    if (length > kMaxRecordBytes)
        fail_body("record length " + std::to_string(length) + " exceeds " + std::to_string(kMaxRecordBytes), at);
    if (!fill(kRecordHead + length, false))
        fail_body("truncated record", at);  // unreachable: fill() throws
    Cursor c({out_.data() + out_pos_ + kRecordHead, length}, at + kRecordHead, "body", source_);
    RecordItem item = parse_record(static_cast<RecordTag>(tag), c);
    out_pos_ += kRecordHead + length;
    body_offset_ += kRecordHead + length;
    if (std::holds_alternative<RecordEnd>(item))
        ended_ = true;
    return item;
}

Recording read_recording(std::span<const std::uint8_t> bytes, const std::string& source)
{
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    RecordReader reader(in, source);
    Recording rec;
    rec.header = reader.header();
    while (auto item = reader.next())
        rec.items.push_back(std::move(*item));
    return rec;
}

std::unique_ptr<std::istream> open_recording(const std::string& path)
{
    auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*in)
        throw system_error("open " + path, errno);
    return in;
}

}  // namespace self_e
