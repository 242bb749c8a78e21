// Recordings: the module's event stream saved to a file (`self-e record`),
// with what is needed to read it back as if live (`report --from`, `trace
// --from`, `heatmap`). RecordWriter writes one, RecordReader reads one as a
// stream of items; read_recording() parses a whole file held in memory (the
// entry point for fuzzing: any bytes give items or a self_e::Error, never a
// crash).
//
// Layout, format version 1. Integers are little-endian; a "str" is a u16
// length and that many bytes; [N]x is N times x.
//
//   header (uncompressed)
//     0   8  magic "SELFEREC"
//     8   2  format version (1)
//    10   2  flags (0)
//    12   4  header length in bytes, from offset 0 (the body starts there)
//    16   4  compression: 1 = zstd
//    20   4  page size of the recording host (bytes)
//    24   4  SELF_E_ABI_VERSION of the module
//    28   4  clock of every timestamp: 1 = CLOCK_MONOTONIC (ns)
//    32   8  start, CLOCK_MONOTONIC ns   } taken together before attaching,
//    40   8  start, CLOCK_REALTIME ns    } so ts_ns - start_mono + start_real
//                                           is wall time
//    48   8  event mask the rings were attached with (0: every type)
//    56   4  access sampling interval in ms (0: not sampled), 60 4 its
//            budget in pages a pass (0: the module's default)
//    64      str kernel release (uname -r), str host name
//            u32 VM count, [count] vm   (the VMs attached at the start)
//   body: one zstd stream (frames follow each other) of records
//     u32 tag, u32 payload length, payload:
//     1 VM        vm: a VM attached later (created while recording)
//     2 EVENTS    [length / 32] event: one drain of the rings, in the order
//                 drained (lane by lane, VM by VM): each event is struct
//                 self_e_event with seq 0
//     3 MEMSLOTS  u16 vm id, u32 count, [count] memslot: a VM's memslots
//                 read after a drain that held MEMSLOT events of that VM
//                 (written before that drain's EVENTS record)
//     4 SEED      u16 vm id, u32 pid, u8 ksm_flag_trusted, u32 count,
//                 [count] (u16 slot id, u64 base gfn, u64 pages, u64 hva):
//                 the snapshot of a VM's guest RAM starts (Aggregator::
//                 seed_vm() with these address-space-0 slots)
//     5 PAGES     u16 vm id, u64 first hva, u32 count, [count] u8 class |
//                 thp << 4 | hugetlb << 5 | file << 6, [count] u64 pfn: a run
//                 of snapshot pages as the aggregator was seeded with them
//                 (seed_view() applied; Aggregator::seed_pages())
//     6 END       u64 seeded (monotonic ns: the first seeds done), u64 end
//                 monotonic ns, u64 end realtime ns, u32 count, [count]
//                 (u16 vm id, u64 produced, u64 dropped, u8 ended): the
//                 rings' counters at the end; nothing may follow
//   vm      = u16 id, u32 pid, u32 vcpus, u64 attached (monotonic ns),
//             str comm, str name (QEMU -name, or empty), u32 count,
//             [count] memslot
//   memslot = u64 base gfn, u64 pages, u64 hva, u32 id (slot | as << 15),
//             u32 flags
//
// Replaying the items in order through an Aggregator (push() each EVENTS
// record's events then release(); seed_vm()/seed_pages() for SEED/PAGES;
// flush() at END) gives the state a live Watcher attached at the same
// moment reaches: the recorder drains, seeds and releases as it does.
// A reader checks every length and count against what remains and against
// limits (a record holds at most kMaxRecordBytes), and names the offset of
// what is wrong: header offsets are file offsets; body offsets count
// decompressed bytes, with the compressed file offset read so far.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "self_e/event.hpp"
#include "self_e/memslot.hpp"
#include "self_e/page_class.hpp"
#include "self_e/unique_fd.hpp"
#include "self_e/vm_pages.hpp"

namespace self_e {

inline constexpr char kRecordMagic[8] = {'S', 'E', 'L', 'F', 'E', 'R', 'E', 'C'};
inline constexpr std::uint16_t kRecordFormatVersion = 1;
inline constexpr std::uint32_t kRecordCompressionZstd = 1;
inline constexpr std::uint32_t kRecordClockMonotonic = 1;
inline constexpr std::uint32_t kMaxRecordBytes = 64u << 20;

enum class RecordTag : std::uint32_t {
    vm = 1,
    events = 2,
    memslots = 3,
    seed = 4,
    pages = 5,
    end = 6,
};

struct RecordedVm {
    std::uint16_t vm_id = 0;
    pid_t pid = 0;
    std::uint32_t nr_vcpus = 0;
    std::uint64_t attached_ns = 0;  // CLOCK_MONOTONIC
    std::string comm;               // the process name
    std::string name;               // QEMU's -name, or empty
    std::vector<Memslot> memslots;  // at attach
};

struct RecordHeader {
    std::uint16_t version = kRecordFormatVersion;
    std::uint32_t page_size = 4096;
    std::uint32_t abi_version = SELF_E_ABI_VERSION;
    std::uint64_t start_mono_ns = 0;
    std::uint64_t start_real_ns = 0;
    std::uint64_t event_mask = 0;  // 0: every type
    std::uint32_t sample_interval_ms = 0;  // access sampling asked for (0: none)
    std::uint32_t sample_budget_pages = 0;
    std::string kernel_release;
    std::string hostname;
    std::vector<RecordedVm> vms;  // attached at the start
};

// Body items, one per record.
struct VmAdded {
    RecordedVm vm;
};
struct EventBatch {
    std::vector<Event> events;  // one drain, in drain order
};
struct MemslotUpdate {
    std::uint16_t vm_id = 0;
    std::vector<Memslot> memslots;
};
struct SeedStart {
    std::uint16_t vm_id = 0;
    std::uint32_t pid = 0;
    bool ksm_flag_trusted = true;
    std::vector<GuestMemslot> slots;
};
struct SeedPages {
    std::uint16_t vm_id = 0;
    std::uint64_t first_hva = 0;
    std::vector<PageInfo> pages;
};
struct VmEndStats {
    std::uint16_t vm_id = 0;
    std::uint64_t produced = 0;
    std::uint64_t dropped = 0;
    bool ended = false;  // its VM_DESTROY was recorded
};
struct RecordEnd {
    std::uint64_t seeded_mono_ns = 0;
    std::uint64_t end_mono_ns = 0;
    std::uint64_t end_real_ns = 0;
    std::vector<VmEndStats> vms;
};
using RecordItem = std::variant<VmAdded, EventBatch, MemslotUpdate, SeedStart, SeedPages, RecordEnd>;

// Writes a recording: the header at once, then records through zstd. Not
// finished (finish() not called), the file ends without its END record and
// readers say so. Throws self_e::Error naming the file on failure.
class RecordWriter {
public:
    RecordWriter(const std::string& path, const RecordHeader& header, int zstd_level = 3);
    ~RecordWriter();
    RecordWriter(const RecordWriter&) = delete;
    RecordWriter& operator=(const RecordWriter&) = delete;

    void write_vm(const RecordedVm& vm);
    void write_events(std::span<const Event> events);
    void write_memslots(std::uint16_t vm_id, std::span<const Memslot> memslots);
    void write_seed(const SeedStart& seed);
    void write_pages(std::uint16_t vm_id, std::uint64_t first_hva, std::span<const PageInfo> pages);
    // Writes what is compressed so far to the file (a reader then sees it).
    void flush();
    // The END record, the end of the zstd frame, and close.
    void finish(const RecordEnd& end);

    std::uint64_t events_written() const noexcept { return events_; }
    std::uint64_t file_bytes() const noexcept { return file_bytes_; }  // written to the file so far
    const std::string& path() const noexcept { return path_; }

private:
    struct Zstd;
    void put_record(RecordTag tag, const std::string& payload);
    void compress(const void* data, std::size_t size, int mode);
    void write_out(const void* data, std::size_t size);

    std::string path_;
    UniqueFd fd_;
    std::unique_ptr<Zstd> zstd_;
    std::uint64_t events_ = 0;
    std::uint64_t file_bytes_ = 0;
    bool finished_ = false;
};

// Reads a recording from a stream. The header is read (and checked) by the
// constructor; next() gives the body's items in order, then nullopt after
// the END record. Throws self_e::Error (bad_format) naming source, what is
// wrong and where: "rec.bin: truncated: the body ends inside a record (body
// offset 1234, file offset 567)".
class RecordReader {
public:
    RecordReader(std::istream& in, std::string source);
    ~RecordReader();
    RecordReader(const RecordReader&) = delete;
    RecordReader& operator=(const RecordReader&) = delete;

    const RecordHeader& header() const noexcept { return header_; }
    std::optional<RecordItem> next();

    std::uint64_t body_offset() const noexcept { return body_offset_; }
    std::uint64_t file_offset() const noexcept { return file_offset_; }

private:
    struct Zstd;
    void read_header();
    // Decompresses until n bytes are buffered; false at a clean end of input
    // with nothing buffered.
    bool fill(std::size_t n, bool at_record_start);
    [[noreturn]] void fail_body(const std::string& what, std::uint64_t at) const;

    std::istream& in_;
    std::string source_;
    RecordHeader header_;
    std::unique_ptr<Zstd> zstd_;
    std::vector<std::uint8_t> out_;  // decompressed, not consumed yet
    std::size_t out_pos_ = 0;
    std::uint64_t body_offset_ = 0;  // decompressed bytes consumed
    std::uint64_t file_offset_ = 0;  // compressed bytes read from in_
    bool frame_open_ = false;        // inside a zstd frame
    bool input_done_ = false;
    bool ended_ = false;             // END read
};

// A whole recording held in memory, parsed: the header and every item.
// Throws self_e::Error (bad_format) as RecordReader does.
struct Recording {
    RecordHeader header;
    std::vector<RecordItem> items;
};
Recording read_recording(std::span<const std::uint8_t> bytes, const std::string& source = "recording");

// Opens path for reading; throws self_e::Error naming it.
std::unique_ptr<std::istream> open_recording(const std::string& path);

}  // namespace self_e
