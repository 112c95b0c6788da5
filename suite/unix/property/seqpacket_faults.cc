// The SOCK_SEQPACKET message-queue property under injected faults and kills (seqpacket_faults.h).
// Rules: suite/rules/unix_property.ini.
#include "seqpacket_faults.h"

#include <fcntl.h>
#include <rapidcheck.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <ostream>
#include <string>
#include <vector>

#include "../unix_util.h"
#include "ipcsuite/fault.h"
#include "ipcsuite/result.h"
#include "property_util.h"

namespace ipc::unix_faults {

using ring::prop::Budget;
using ring::prop::CaseClass;
using ring::prop::CaseFails;
using ring::prop::Fail;
using ring::prop::FaultSpec;
using ring::prop::Infrastructure;
using ring::prop::Outcome;
using ring::prop::Report;
using ring::prop::RuleClass;
using ring::prop::Worker;
using unix_util::CountOpenFds;
using unix_util::Received;

namespace {

// The classes of cases (bits of Report::reached) and the tags rapidcheck counts them under.
enum SeqpacketClass : uint32_t {
  kSendRetried = 1u << 0,
  kRecvRetried = 1u << 1,
  kCloseFailed = 1u << 2,
  kPairInjected = 1u << 3,
  kPairEmfile = 1u << 4,
  kEmptyEagain = 1u << 5,
  kFdPassed = 1u << 6,
  kSenderKilled = 1u << 7,
  kReceiverKilledUnread = 1u << 8,
  kReceiverKilledDrained = 1u << 9,
};

constexpr const char* kTagSendRetried = "sendmsg failed (injected), took no effect, retried";
constexpr const char* kTagRecvRetried = "recvmsg failed (injected), consumed nothing, retried";
constexpr const char* kTagCloseFailed =
    "close of a passed descriptor failed (injected): no leak, no double close";
constexpr const char* kTagPairInjected = "socketpair failed (injected EMFILE/ENFILE), created nothing";
constexpr const char* kTagPairEmfile = "socketpair with one free descriptor slot: EMFILE, created nothing";
constexpr const char* kTagEmptyEagain = "recvmsg on an empty queue (MSG_DONTWAIT): EAGAIN";
constexpr const char* kTagFdPassed = "a descriptor passed and received";
constexpr const char* kTagSenderKilled =
    "sender killed mid-sequence: completed messages whole, end of file, EPIPE";
constexpr const char* kTagReceiverKilledUnread =
    "receiver killed with unread messages: ECONNRESET, end of file, EPIPE";
constexpr const char* kTagReceiverKilledDrained = "receiver killed with nothing unread: end of file, EPIPE";

const std::vector<CaseClass> kSeqpacketClasses = {
    {kSendRetried, kTagSendRetried},
    {kRecvRetried, kTagRecvRetried},
    {kCloseFailed, kTagCloseFailed},
    {kPairInjected, kTagPairInjected},
    {kPairEmfile, kTagPairEmfile},
    {kEmptyEagain, kTagEmptyEagain},
    {kFdPassed, kTagFdPassed},
    {kSenderKilled, kTagSenderKilled},
    {kReceiverKilledUnread, kTagReceiverKilledUnread},
    {kReceiverKilledDrained, kTagReceiverKilledDrained},
};

const std::vector<RuleClass> kSeqpacketRules = {
    {"unix.prop-seqpacket-no-partial-effect", kTagSendRetried},
    {"unix.prop-seqpacket-no-partial-effect", kTagRecvRetried},
    {"unix.prop-seqpacket-close-errors", kTagCloseFailed},
    {"unix.prop-socketpair-creates-nothing", kTagPairInjected},
    {"unix.prop-socketpair-creates-nothing", kTagPairEmfile},
    {"unix.socketpair-emfile", kTagPairEmfile},
    {"unix.recv-eagain", kTagEmptyEagain},
    {"unix.prop-seqpacket-fds", kTagFdPassed},
    {"unix.prop-seqpacket-killed-peer", kTagSenderKilled},
    {"unix.prop-seqpacket-killed-peer", kTagReceiverKilledUnread},
    {"unix.prop-seqpacket-killed-peer", kTagReceiverKilledDrained},
    {"unix.eof-after-peer-close", kTagSenderKilled},
    {"unix.econnreset", kTagReceiverKilledUnread},
    {"unix.epipe", kTagSenderKilled},
    {"unix.epipe", kTagReceiverKilledDrained},
};

// The sender's copies of passed descriptors are numbered from here up, so that a fault plan aims at
// their close alone (close[fd>=200]) and not at the closes the fixtures and libc make.
constexpr int kPassedFdBase = 200;
constexpr size_t kDataRoom = 256;  // every payload fits: a receive that returns less tore the message
constexpr int kMaxAttempts = 32;   // more no-effect failures in a row than faults can cause: a bug

struct SeqMsg {
  std::string payload;
  bool has_fd = false;
  char tag = 0;
};

struct SeqOp {
  bool send = false;
  SeqMsg m;
};

enum class PeerKill : uint8_t { kNone, kSender, kReceiver };

// How rapidcheck prints the kill in a counterexample.
void showValue(PeerKill k, std::ostream& os) {
  os << (k == PeerKill::kSender     ? "kill the sending peer"
         : k == PeerKill::kReceiver ? "kill the receiving peer"
                                    : "no kill");
}

struct SeqCase {
  bool one_free_slot = false;
  std::vector<SeqOp> ops;
  PeerKill kill = PeerKill::kNone;
  std::vector<SeqMsg> extra;  // what a peer killed while sending sends
  size_t after = 0;           // the peer is killed once it has reported this many operations done
};

// A number in [lo, hi) drawn from the whole range at every size (rapidcheck's inRange narrows the range at
// small sizes, which would make the first cases all sends and every kill come at once).
int AnyIn(int lo, int hi) { return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(lo, hi)); }

SeqMsg GenMsg() {
  SeqMsg m;
  m.payload = *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(1, 200), rc::gen::character<char>());
  m.has_fd = *rc::gen::arbitrary<bool>();
  m.tag = *rc::gen::character<char>();
  return m;
}

SeqCase GenSeqCase() {
  SeqCase c;
  c.one_free_slot = *rc::gen::arbitrary<bool>();
  const int n = *rc::gen::inRange(1, 25);
  size_t queued = 0;
  for (int i = 0; i < n; ++i) {
    SeqOp op;
    op.send = queued < 16 && AnyIn(0, 3) < 2;
    if (op.send) {
      op.m = GenMsg();
      ++queued;
    } else if (queued > 0) {
      --queued;
    }
    c.ops.push_back(op);
  }
  c.kill = *rc::gen::element(PeerKill::kNone, PeerKill::kSender, PeerKill::kReceiver);
  if (c.kill == PeerKill::kSender) {
    const int extra = *rc::gen::inRange(1, 7);
    for (int i = 0; i < extra; ++i) c.extra.push_back(GenMsg());
    c.after = static_cast<size_t>(AnyIn(0, extra + 1));
  } else if (c.kill == PeerKill::kReceiver) {
    c.after = static_cast<size_t>(AnyIn(0, static_cast<int>(queued) + 1));
  }
  return c;
}

std::string ShowMsg(const SeqMsg& m) {
  return "<" + std::to_string(m.payload.size()) + " bytes" + (m.has_fd ? ", fd" : "") + ">";
}

std::string ShowSeqCase(const SeqCase& c) {
  std::string s = c.one_free_slot ? "socketpair first with one free descriptor slot; " : "";
  for (const SeqOp& op : c.ops) s += op.send ? "Send" + ShowMsg(op.m) + " " : "Recv ";
  if (c.kill == PeerKill::kSender) {
    s += "; a peer sends";
    for (const SeqMsg& m : c.extra) s += " " + ShowMsg(m);
    s += " and is killed after " + std::to_string(c.after);
  } else if (c.kill == PeerKill::kReceiver) {
    s += "; a peer receives the queue and is killed after " + std::to_string(c.after) + " receives";
  }
  return s;
}

bool IsSendFault(int err) { return err == EINTR || err == ENOBUFS || err == ENOMEM || err == EAGAIN; }

// The user of the socket (the system under test), with its flaw. Every no-effect failure it retries is
// counted in the shared report, across the case's processes.
class SocketUser {
 public:
  SocketUser(UserFlaw flaw, Report* rep, int max_spurious)
      : flaw_(flaw), rep_(rep), max_spurious_(max_spurious) {}

  void Reached(uint32_t bits) const { __atomic_or_fetch(&rep_->reached, bits, __ATOMIC_SEQ_CST); }

  // A failure that took no effect: allowed only as often as faults were planned.
  void NoEffect(const std::string& call, int err) const {
    const int n = __atomic_add_fetch(&rep_->spurious, 1, __ATOMIC_SEQ_CST);
    if (n > max_spurious_)
      Fail(call + " failed with " + fault::ErrnoName(err) + ": " + std::to_string(n) +
           " no-effect failures, but only " + std::to_string(max_spurious_) + " faults were planned");
  }

  // socketpair(AF_UNIX, SOCK_SEQPACKET); with `one_free_slot`, first once with a single free descriptor
  // slot below RLIMIT_NOFILE (EMFILE: it needs two). A failed call must create no descriptor.
  void CreatePair(bool one_free_slot, int sv[2]) const {
    if (one_free_slot) {
      const int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free number
      if (lowest < 0) throw Infrastructure(std::string(InfrastructureTag(errno)) + "open /dev/null");
      close(lowest);
      rlimit old{};
      getrlimit(RLIMIT_NOFILE, &old);
      const int before = CountOpenFds();
      rlimit tight = {static_cast<rlim_t>(lowest) + 1, old.rlim_max};
      if (setrlimit(RLIMIT_NOFILE, &tight) != 0) Fail("setrlimit(RLIMIT_NOFILE) failed");
      int tv[2] = {-1, -1};
      const int r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tv);
      const int err = errno;
      setrlimit(RLIMIT_NOFILE, &old);
      if (r == 0)
        Fail("socketpair succeeded with one free descriptor slot (descriptors " + std::to_string(tv[0]) +
             ", " + std::to_string(tv[1]) + "), expected EMFILE");
      if (err != EMFILE && err != ENFILE)
        Fail("socketpair with one free descriptor slot failed with " + fault::ErrnoName(err) +
             ", expected EMFILE");
      if (CountOpenFds() != before || tv[0] != -1 || tv[1] != -1)
        Fail("socketpair failed with " + fault::ErrnoName(err) + " but left descriptors behind");
      if (err == EMFILE) Reached(kPairEmfile);
    }
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      const int before = CountOpenFds();
      sv[0] = sv[1] = -1;
      if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) return;
      const int err = errno;
      if (err != EMFILE && err != ENFILE) Fail("socketpair failed with " + fault::ErrnoName(err));
      if (CountOpenFds() != before || sv[0] != -1 || sv[1] != -1)
        Fail("socketpair failed with " + fault::ErrnoName(err) + " but left descriptors behind");
      NoEffect("socketpair", err);
      Reached(kPairInjected);
    }
    Fail("socketpair keeps failing");
  }

  // Sends `m` (with the read end of a fresh pipe holding m.tag when m.has_fd); 0, or the errno of a
  // failure that is not a no-effect one (EPIPE, ECONNRESET: the peer is gone).
  int Send(int sock, const SeqMsg& m) const {
    std::vector<int> fds;
    if (m.has_fd) fds.push_back(TagPipe(m.tag));
    const int before = CountOpenFds();
    for (int attempt = 0;; ++attempt) {
      const ssize_t n = unix_util::SendFds(sock, fds, m.payload, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(m.payload.size())) break;
      if (n >= 0)
        Fail("sendmsg sent " + std::to_string(n) + " of the " + std::to_string(m.payload.size()) +
             " bytes of a SOCK_SEQPACKET message");
      const int err = errno;
      if (!IsSendFault(err) || attempt == kMaxAttempts) {
        for (int fd : fds) CloseCopy(fd);
        return err;
      }
      // No effect: the descriptors are as they were, the one to pass still the sender's.
      if (CountOpenFds() != before)
        Fail("a sendmsg that failed with " + fault::ErrnoName(err) + " changed the open descriptors");
      for (int fd : fds)
        if (fcntl(fd, F_GETFD) == -1)
          Fail("a sendmsg that failed with " + fault::ErrnoName(err) + " closed the descriptor it carried");
      NoEffect("sendmsg", err);
      Reached(kSendRetried);
      if (flaw_ == UserFlaw::kFailedSendCountsAsSent) break;
    }
    for (int fd : fds) CloseCopy(fd);
    return 0;
  }

  // One message (room for 4 descriptors and kDataRoom bytes). `queue_may_be_empty`: EAGAIN is the answer
  // (MSG_DONTWAIT on an empty queue), not a no-effect failure to retry.
  Received Recv(int sock, int flags, bool queue_may_be_empty) const {
    const int before = CountOpenFds();
    for (int attempt = 0;; ++attempt) {
      Received r = unix_util::RecvFds(sock, 4, kDataRoom, flags | MSG_CMSG_CLOEXEC);
      const bool no_effect = r.err == EINTR || r.err == ENOMEM || (r.err == EAGAIN && !queue_may_be_empty);
      if (r.n >= 0 || !no_effect || attempt == kMaxAttempts) return r;
      if (CountOpenFds() != before)
        Fail("a recvmsg that failed with " + fault::ErrnoName(r.err) + " changed the open descriptors");
      NoEffect("recvmsg", r.err);
      Reached(kRecvRetried);
      if (flaw_ == UserFlaw::kFailedRecvCountsAsRecv) return r;
    }
  }

  // The received message is `want`, whole, with its descriptor reading back its tag.
  void ExpectMessage(const Received& r, const SeqMsg& want, const std::string& what) const {
    if (r.n < 0)
      Fail(what + ": recvmsg failed with " + fault::ErrnoName(r.err) + ", expected " + ShowMsg(want));
    if (r.n == 0 && r.fds.empty()) Fail(what + ": end of file, expected " + ShowMsg(want));
    if (r.n != static_cast<ssize_t>(want.payload.size()) || r.data != want.payload)
      Fail(what + ": received " + std::to_string(r.n) + " bytes that are not the oldest message " +
           ShowMsg(want) + " (torn, merged, lost or reordered)");
    if ((r.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
      Fail(what + ": msg_flags " + std::to_string(r.msg_flags) + " (MSG_TRUNC/MSG_CTRUNC)");
    if (r.fds.size() != (want.has_fd ? 1u : 0u))
      Fail(what + ": " + std::to_string(r.fds.size()) + " descriptors arrived with " + ShowMsg(want));
    if (want.has_fd) {
      char got = 0;
      if (read(r.fds[0].get(), &got, 1) != 1 || got != want.tag)
        Fail(what + ": the descriptor that arrived is not the pipe the sender passed");
      Reached(kFdPassed);
    }
  }

 private:
  // The read end of a fresh pipe holding `tag`, numbered from kPassedFdBase up.
  static int TagPipe(char tag) {
    int p[2];
    if (pipe(p) != 0)
      throw Infrastructure(std::string(InfrastructureTag(errno)) + "pipe: " + strerror(errno));
    if (write(p[1], &tag, 1) != 1) Fail("writing the tag into a fresh pipe failed");
    close(p[1]);
    const int high = fcntl(p[0], F_DUPFD_CLOEXEC, kPassedFdBase);
    const int err = errno;
    close(p[0]);
    if (high < 0) throw Infrastructure(std::string(InfrastructureTag(err)) + "F_DUPFD: " + strerror(err));
    return high;
  }

  // Closes the sender's copy of a passed descriptor. After a failed close the descriptor is released
  // (Linux) or still open (POSIX: unspecified; an injected failure leaves it open): a single-threaded
  // user closes it again only if fcntl(F_GETFD) says it is still open (its number cannot have been reused).
  void CloseCopy(int fd) const {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (close(fd) == 0) return;
      const int err = errno;
      if (err != EINTR && err != EIO)
        Fail("close of a passed descriptor failed with " + fault::ErrnoName(err));
      Reached(kCloseFailed);
      if (flaw_ == UserFlaw::kCloseErrorForgetsTheFd) return;
      if (fcntl(fd, F_GETFD) == -1) return;
    }
    Fail("close of a passed descriptor keeps failing");
  }

  UserFlaw flaw_;
  Report* rep_;
  int max_spurious_;
};

// --- a peer process's reports: one per operation, empty when it went as the model says ---------------

void PeerReport(int to, const std::string& text) {
  const auto n = static_cast<uint32_t>(text.size());
  (void)WriteAll(to, &n, sizeof n);
  (void)WriteAll(to, text.data(), n);
}

// false at the end of the reports (the peer died or ended).
bool NextPeerReport(const Worker& w, std::string* text) {
  uint32_t n = 0;
  if (!ReadAll(w.fd(), &n, sizeof n)) return false;
  text->assign(n, '\0');
  return ReadAll(w.fd(), text->data(), n);
}

void ExpectKilled(Worker& w, const std::string& what) {
  const ExitStatus st = w.KillAndWait();
  if (!st.KilledBy(SIGKILL)) Fail(what + ": the peer process " + st.Describe() + " before it was killed");
}

// --- one case ---------------------------------------------------------------------------------------

void RunSeqCase(const SeqCase& c, UserFlaw flaw, Report* rep, int max_spurious,
                std::chrono::milliseconds deadline) {
  const SocketUser user(flaw, rep, max_spurious);
  int sv[2];
  user.CreatePair(c.one_free_slot, sv);
  FileDescriptor a(sv[0]), b(sv[1]);
  const int baseline = CountOpenFds();
  std::deque<SeqMsg> model;
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const std::string what = "command " + std::to_string(i + 1);
    if (c.ops[i].send) {
      const int err = user.Send(a.get(), c.ops[i].m);
      if (err != 0) Fail(what + ": sendmsg failed with " + fault::ErrnoName(err));
      model.push_back(c.ops[i].m);
    } else if (model.empty()) {
      const Received r = user.Recv(b.get(), MSG_DONTWAIT, true);
      if (r.n >= 0 || r.err != EAGAIN)
        Fail(what + ": receive on an empty queue returned " + std::to_string(r.n) +
             (r.n < 0 ? " (" + fault::ErrnoName(r.err) + ")" : "") + ", expected EAGAIN");
      user.Reached(kEmptyEagain);
    } else {
      const Received r = user.Recv(b.get(), MSG_DONTWAIT, false);
      user.ExpectMessage(r, model.front(), what);
      model.pop_front();
    }
    const int open_now = CountOpenFds();
    if (open_now != baseline)
      Fail(what + ": " + std::to_string(open_now) + " descriptors open, " + std::to_string(baseline) +
           " before (a descriptor leaked or was closed)");
  }
  // Sent once the peer is dead: fails with EPIPE, and the descriptor it carried stays the sender's (closed
  // then by the sender), so the process ends with one end of the pair fewer and nothing else.
  const SeqMsg probe{"after the peer died", true, 'p'};
  if (c.kill == PeerKill::kSender) {
    // A peer process holds the only sending end and sends c.extra; it is killed once it has reported
    // c.after of them done (it may be inside sendmsg then). Each message it completed arrives whole.
    Worker w = Worker::Start(
        [&](int to) {
          close(b.get());
          for (const SeqMsg& m : c.extra) {
            std::string text;
            try {
              const int err = user.Send(a.get(), m);
              if (err != 0) text = "sendmsg failed with " + fault::ErrnoName(err);
            } catch (const std::exception& e) {
              text = e.what();
            }
            PeerReport(to, text);
            if (!text.empty()) break;
          }
          for (;;) pause();  // until killed
        },
        "a peer that sends until it is killed", deadline);
    a.reset();
    std::string text;
    for (size_t k = 0; k < c.after; ++k) {
      if (!NextPeerReport(w, &text))
        Fail("the sending peer ended before its report " + std::to_string(k + 1));
      if (!text.empty()) Fail("the sending peer: " + text);
    }
    ExpectKilled(w, "the sending peer");
    while (NextPeerReport(w, &text))
      if (!text.empty()) Fail("the sending peer: " + text);
    size_t extra = 0;
    for (;;) {
      const Received r = user.Recv(b.get(), MSG_DONTWAIT, false);
      if (r.n == 0 && r.fds.empty()) break;  // end of file (every payload has a byte at least)
      const std::string what = "draining after the sender was killed";
      if (!model.empty()) {
        user.ExpectMessage(r, model.front(), what);
        model.pop_front();
      } else {
        if (extra == c.extra.size()) Fail(what + ": more messages arrived than the peer sent");
        user.ExpectMessage(r, c.extra[extra++], what);
      }
    }
    if (!model.empty()) Fail("end of file with " + std::to_string(model.size()) + " messages still queued");
    if (extra < c.after)
      Fail("the killed peer had completed " + std::to_string(c.after) + " sends, but only " +
           std::to_string(extra) + " arrived");
    const int err = user.Send(b.get(), probe);
    if (err != EPIPE)
      Fail("send to the killed sender's end gave " + fault::ErrnoName(err) + ", expected EPIPE");
    user.Reached(kSenderKilled);
  } else if (c.kill == PeerKill::kReceiver) {
    // A peer process holds the only receiving end, receives the queue (checked against its copy of the
    // model), then blocks in recvmsg; it is killed once it has reported c.after receives.
    const size_t queued = model.size();
    Worker w = Worker::Start(
        [&](int to) {
          close(a.get());
          for (;;) {
            std::string text;
            try {
              const Received r = user.Recv(b.get(), 0, false);
              if (model.empty()) {
                text = "a receive with nothing sent returned " + std::to_string(r.n);
              } else {
                user.ExpectMessage(r, model.front(), "the receiving peer");
                model.pop_front();
              }
            } catch (const std::exception& e) {
              text = e.what();
            }
            PeerReport(to, text);
            if (!text.empty())
              for (;;) pause();
          }
        },
        "a peer that receives until it is killed", deadline);
    b.reset();
    std::string text;
    size_t reported = 0;
    for (; reported < c.after; ++reported) {
      if (!NextPeerReport(w, &text))
        Fail("the receiving peer ended before its report " + std::to_string(reported + 1));
      if (!text.empty()) Fail("the receiving peer: " + text);
    }
    ExpectKilled(w, "the receiving peer");
    for (; NextPeerReport(w, &text); ++reported)
      if (!text.empty()) Fail("the receiving peer: " + text);
    // It consumed `reported` messages, or one more that it had no time to report.
    Received r = user.Recv(a.get(), MSG_DONTWAIT, false);
    if (r.n < 0 && r.err == ECONNRESET) {
      if (reported >= queued)
        Fail("ECONNRESET although the killed receiver had read all " + std::to_string(queued) + " messages");
      r = user.Recv(a.get(), MSG_DONTWAIT, false);
      if (r.n != 0)
        Fail("after ECONNRESET the receive returned " + std::to_string(r.n) + ", expected end of file");
      user.Reached(kReceiverKilledUnread);
    } else if (r.n == 0) {
      if (reported + 1 < queued)
        Fail("end of file without ECONNRESET although the receiver died with " +
             std::to_string(queued - reported - 1) + " or more messages unread");
      if (reported == queued) user.Reached(kReceiverKilledDrained);
    } else {
      Fail("receive after the receiver was killed returned " + std::to_string(r.n) +
           (r.n < 0 ? " (" + fault::ErrnoName(r.err) + ")" : "") + ", expected ECONNRESET or end of file");
    }
    const int err = user.Send(a.get(), probe);
    if (err != EPIPE)
      Fail("send to the killed receiver's end gave " + fault::ErrnoName(err) + ", expected EPIPE");
  }
  if (c.kill != PeerKill::kNone && CountOpenFds() != baseline - 1)
    Fail("after the peer was killed: " + std::to_string(CountOpenFds()) + " descriptors open, expected " +
         std::to_string(baseline - 1) + " (a descriptor leaked or was closed)");
}

}  // namespace

Outcome SeqpacketUnderFaultsAndKills(UserFlaw flaw, const Budget& budget, const std::string& id) {
  return ring::prop::CheckProperty(id, budget, kSeqpacketRules, [&] {
    const auto faults = *rc::gen::container<std::vector<FaultSpec>>(
        static_cast<size_t>(*rc::gen::inRange(0, 6)),
        rc::gen::oneOf(
            rc::gen::construct<FaultSpec>(rc::gen::just<std::string>("sendmsg"),
                                          rc::gen::element(EINTR, ENOBUFS, ENOMEM, EAGAIN),
                                          rc::gen::inRange(1, 16)),
            rc::gen::construct<FaultSpec>(rc::gen::just<std::string>("recvmsg"),
                                          rc::gen::element(EINTR, ENOMEM, EAGAIN), rc::gen::inRange(1, 16)),
            rc::gen::construct<FaultSpec>(rc::gen::just<std::string>("close[fd>=200]"),
                                          rc::gen::element(EINTR, EIO), rc::gen::inRange(1, 8)),
            rc::gen::construct<FaultSpec>(rc::gen::just<std::string>("socketpair"),
                                          rc::gen::element(EMFILE, ENFILE), rc::gen::inRange(1, 3))));
    const SeqCase c = GenSeqCase();
    const int planned = static_cast<int>(faults.size());
    ring::prop::CaseResult r = ring::prop::RunCase(
        ring::prop::MakePlan(faults),
        [&](Report* rep) { RunSeqCase(c, flaw, rep, planned, budget.deadline); }, budget.deadline,
        "running socket commands under faults and kills");
    const std::string where =
        "faults: " + ring::prop::ShowFaults(faults) + "; case: " + ShowSeqCase(c) + "\n";
    if (!r.ok) CaseFails(where + "failure: " + r.message, r.infrastructure);
    if (static_cast<size_t>(r.spurious) > r.faults)
      CaseFails(where + "failure: the user retried " + std::to_string(r.spurious) +
                " no-effect failures, but only " + std::to_string(r.faults) + " faults were injected");
    ring::prop::TagReached(r.reached, kSeqpacketClasses);
  });
}

}  // namespace ipc::unix_faults
