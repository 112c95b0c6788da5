// pipe(7) "PIPE_BUF": writes of at most PIPE_BUF bytes are atomic, also when several processes write
// to the same pipe at once; readv(2): the data of one writev() is not intermingled with other writes.
//
// Several writer children start together and each writes many self-describing records (writer id,
// sequence number, length, checksum). The parent reads the stream and checks that every record is
// whole and that each writer's records arrive in its own order. A write that is split in two (by the
// kernel or by a library in between) lets another writer's record land in the middle, which breaks
// the record framing or its checksum.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

constexpr uint32_t kMagic = 0x50495045;  // "PIPE"
constexpr int kMaxWriters = 8;

struct Header {
  uint32_t magic;
  uint32_t writer;
  uint32_t seq;
  uint32_t len;  // whole record, header included
  uint32_t sum;  // of the body
};

enum class Mode {
  kPipeBufRecords,      // write(), every record PIPE_BUF bytes
  kMixedSizeRecords,    // write(), sizes from sizeof(Header) to PIPE_BUF
  kWritevRecords,       // writev() of header + body, PIPE_BUF bytes in all
  kNonblockingRecords,  // O_NONBLOCK write(), PIPE_BUF bytes: all or EAGAIN, never partial
};

uint32_t RecordLength(Mode mode, uint32_t writer, uint32_t seq) {
  if (mode != Mode::kMixedSizeRecords) return PIPE_BUF;
  uint32_t h = (writer * 2654435761u) ^ (seq * 40503u);
  h ^= h >> 13;
  return static_cast<uint32_t>(sizeof(Header)) + h % (PIPE_BUF - sizeof(Header) + 1);
}

uint8_t BodyByte(uint32_t writer, uint32_t seq, size_t i) {
  return static_cast<uint8_t>(writer * 61 + seq * 7 + i * 13 + (i >> 8));
}

uint32_t Checksum(const uint8_t* p, size_t n) {
  uint32_t s = 2166136261u;
  for (size_t i = 0; i < n; ++i) s = (s ^ p[i]) * 16777619u;
  return s;
}

void BuildRecord(uint32_t writer, uint32_t seq, uint32_t len, std::vector<uint8_t>* rec) {
  rec->resize(len);
  uint8_t* body = rec->data() + sizeof(Header);
  size_t body_len = len - sizeof(Header);
  for (size_t i = 0; i < body_len; ++i) body[i] = BodyByte(writer, seq, i);
  Header h{kMagic, writer, seq, len, Checksum(body, body_len)};
  std::memcpy(rec->data(), &h, sizeof h);
}

// Waits for room (poll) and writes one record without O_NONBLOCK retries hiding partial writes.
// Returns false when the reader has gone (EPIPE): the parent already failed and stopped reading.
bool WriteRecord(Mode mode, int fd, const std::vector<uint8_t>& rec) {
  if (mode == Mode::kWritevRecords) {
    struct iovec iov[2] = {{const_cast<uint8_t*>(rec.data()), sizeof(Header)},
                           {const_cast<uint8_t*>(rec.data()) + sizeof(Header), rec.size() - sizeof(Header)}};
    ssize_t n = writev(fd, iov, 2);
    if (n < 0 && errno == EPIPE) return false;
    EXPECT_THAT(n, SyscallSucceedsWithValue(rec.size())) << "writev of one record";
    return n == static_cast<ssize_t>(rec.size());
  }
  for (;;) {
    ssize_t n = write(fd, rec.data(), rec.size());
    if (n < 0 && errno == EPIPE) return false;
    if (mode == Mode::kNonblockingRecords && n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      poll(&pfd, 1, 1000);
      continue;
    }
    // Blocking: all n bytes. Non-blocking: all n bytes or EAGAIN, never a part.
    EXPECT_THAT(n, SyscallSucceedsWithValue(rec.size())) << "write of one " << rec.size() << "-byte record";
    return n == static_cast<ssize_t>(rec.size());
  }
}

void RunConcurrentWriters(Mode mode, int writers_count, int records_per_writer) {
  ASSERT_LE(writers_count, kMaxWriters);
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(mode == Mode::kNonblockingRecords ? O_NONBLOCK : 0));
  ASSERT_OK_AND_ASSIGN(Pipe start, Pipe::Create());
  std::vector<Child> writers;
  for (uint32_t w = 0; w < static_cast<uint32_t>(writers_count); ++w) {
    writers.push_back(Child::Spawn(
        [&, w] {
          p.read.Close();
          start.write.Close();
          ScopedSigaction ign(SIGPIPE, SIG_IGN);  // the reader may stop early after a failure
          char b;
          ASSERT_THAT(read(start.read.get(), &b, 1), SyscallSucceedsWithValue(0));  // all start together
          std::vector<uint8_t> rec;
          for (int seq = 0; seq < records_per_writer; ++seq) {
            BuildRecord(w, static_cast<uint32_t>(seq), RecordLength(mode, w, static_cast<uint32_t>(seq)),
                        &rec);
            if (!WriteRecord(mode, p.write.get(), rec)) return;
          }
        },
        {.deadline = milliseconds(10000), .what = "writing records concurrently"}));
  }
  p.write.Close();
  start.read.Close();
  start.write.Close();  // go

  std::vector<uint32_t> next_seq(writers_count, 0);
  std::vector<uint8_t> stream;
  size_t pos = 0;
  std::vector<uint8_t> buf(1 << 16);
  std::string failure;
  long records = 0;
  const int timeout_ms = static_cast<int>(ScaledDeadline(milliseconds(10000)).count());
  while (failure.empty()) {
    struct pollfd pfd = {p.read.get(), POLLIN, 0};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr == 0) {
      failure = "no data and no end of file within the deadline";
      break;
    }
    ssize_t n = read(p.read.get(), buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      failure = "read failed with " + DescribeErrno(errno);
      break;
    }
    if (n == 0) break;
    stream.insert(stream.end(), buf.begin(), buf.begin() + n);
    // Check every complete record.
    while (failure.empty() && stream.size() - pos >= sizeof(Header)) {
      Header h;
      std::memcpy(&h, stream.data() + pos, sizeof h);
      if (h.magic != kMagic || h.writer >= static_cast<uint32_t>(writers_count) || h.len < sizeof(Header) ||
          h.len > PIPE_BUF) {
        failure = "garbled record header at stream offset " + std::to_string(pos) + " after " +
                  std::to_string(records) + " good records (another write landed inside a record)";
        break;
      }
      if (stream.size() - pos < h.len) break;
      const uint8_t* body = stream.data() + pos + sizeof(Header);
      if (Checksum(body, h.len - sizeof(Header)) != h.sum) {
        failure = "record " + std::to_string(h.seq) + " of writer " + std::to_string(h.writer) +
                  " is not contiguous (checksum mismatch) at stream offset " + std::to_string(pos);
        break;
      }
      if (h.seq != next_seq[h.writer]) {
        failure = "writer " + std::to_string(h.writer) + ": record " + std::to_string(h.seq) +
                  " arrived, expected " + std::to_string(next_seq[h.writer]);
        break;
      }
      if (h.len != RecordLength(mode, h.writer, h.seq)) {
        failure = "record length " + std::to_string(h.len) + " differs from the written length";
        break;
      }
      ++next_seq[h.writer];
      ++records;
      pos += h.len;
    }
    if (pos > (1u << 20)) {
      stream.erase(stream.begin(), stream.begin() + static_cast<long>(pos));
      pos = 0;
    }
  }
  p.read.Close();  // writers still running after a failure get EPIPE and stop
  for (auto& c : writers) c.ExpectExited(0);
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(stream.size(), pos) << "a partial record at end of file";
  for (int w = 0; w < writers_count; ++w)
    EXPECT_EQ(next_seq[w], static_cast<uint32_t>(records_per_writer)) << "records of writer " << w;
}

IPC_TEST(PipeAtomic, ConcurrentPipeBufWritesAreNeverInterleaved, "pipe.atomic-blocking-small") {
  RunConcurrentWriters(Mode::kPipeBufRecords, 4, 5000);
}

IPC_TEST(PipeAtomic, ConcurrentSmallWritesOfMixedSizesAreNeverInterleaved, "pipe.atomic-blocking-small") {
  RunConcurrentWriters(Mode::kMixedSizeRecords, 4, 8000);
}

IPC_TEST(PipeAtomic, ConcurrentWritevRecordsAreNeverInterleaved, "pipe.writev-atomic",
         "pipe.atomic-blocking-small") {
  RunConcurrentWriters(Mode::kWritevRecords, 4, 5000);
}

IPC_TEST(PipeAtomic, ConcurrentNonblockingPipeBufWritesAreWholeOrEagain, "pipe.nonblock-small-room",
         "pipe.nonblock-small-eagain") {
  RunConcurrentWriters(Mode::kNonblockingRecords, 4, 8000);
}

}  // namespace
}  // namespace ipc
