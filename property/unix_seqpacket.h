// A model-based property of a SOCK_SEQPACKET socketpair used as a message queue with descriptor passing
// (rapidcheck state machine): random sequences of sends (a payload, sometimes a descriptor: the read end of
// a fresh pipe holding a tag byte) and receives, checked against a FIFO model: every message arrives whole,
// in order, with exactly the descriptor it carried (which reads back its tag), and no descriptor is leaked
// or duplicated (the process's open descriptors stay as they were after every command).
// Flaws make a deliberately broken user of the socket that the property must catch.
// Rules: suite/rules/unix_property.ini.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/state.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "../suite/unix/unix_util.h"

namespace ipc::unix_prop {

enum class Flaw {
  kNone,
  kSenderKeepsItsCopy,  // the sender never closes its copy of the descriptor it passed: a leak
  kNoControlBuffer,     // the receiver gives no room for ancillary data: descriptors are lost
  kShortDataBuffer,     // the receiver reads into a buffer too small for the message: torn messages
};

struct Msg {
  std::string payload;
  bool has_fd = false;
  char tag = 0;
};

struct Model {
  std::deque<Msg> queue;
};

struct Sut {
  Flaw flaw = Flaw::kNone;
  unix_util::SocketPair pair;
  int baseline = -1;
  std::vector<int> kept;  // what a kSenderKeepsItsCopy sender leaked, closed when the case ends
  Sut() = default;
  Sut(const Sut&) = delete;
  Sut& operator=(const Sut&) = delete;
  ~Sut() {
    for (int fd : kept) close(fd);
  }
};

using Cmd = rc::state::Command<Model, Sut>;

inline constexpr size_t kMaxQueued = 16;

struct SendCmd : Cmd {
  Msg m;
  SendCmd() {
    m.payload =
        *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(1, 200), rc::gen::character<char>());
    m.has_fd = *rc::gen::arbitrary<bool>();
    m.tag = *rc::gen::character<char>();
  }
  void checkPreconditions(const Model& s) const override { RC_PRE(s.queue.size() < kMaxQueued); }
  void apply(Model& s) const override { s.queue.push_back(m); }
  void run(const Model&, Sut& sut) const override {
    std::vector<int> fds;
    int p[2] = {-1, -1};
    if (m.has_fd) {
      RC_ASSERT(pipe(p) == 0);
      RC_ASSERT(write(p[1], &m.tag, 1) == 1);
      close(p[1]);
      fds.push_back(p[0]);
    }
    ssize_t r = unix_util::SendFds(sut.pair.a.get(), fds, m.payload, MSG_DONTWAIT);
    if (m.has_fd) {
      if (sut.flaw == Flaw::kSenderKeepsItsCopy)
        sut.kept.push_back(p[0]);
      else
        close(p[0]);
    }
    RC_ASSERT(r == static_cast<ssize_t>(m.payload.size()));
    RC_ASSERT(unix_util::CountOpenFds() == sut.baseline);
  }
  void show(std::ostream& os) const override {
    os << "Send(" << m.payload.size() << " bytes" << (m.has_fd ? ", fd" : "") << ")";
  }
};

struct RecvCmd : Cmd {
  void checkPreconditions(const Model& s) const override { RC_PRE(!s.queue.empty()); }
  void apply(Model& s) const override { s.queue.pop_front(); }
  void run(const Model& s, Sut& sut) const override {
    const Msg& want = s.queue.front();
    size_t data_len = sut.flaw == Flaw::kShortDataBuffer ? 64 : 256;
    long control_len = sut.flaw == Flaw::kNoControlBuffer ? 0 : -1;
    {
      unix_util::Received r = unix_util::RecvFds(sut.pair.b.get(), 4, data_len, MSG_DONTWAIT, control_len);
      RC_ASSERT(r.n == static_cast<ssize_t>(want.payload.size()));
      RC_ASSERT(r.data == want.payload);
      RC_ASSERT(r.fds.size() == (want.has_fd ? 1u : 0u));
      if (want.has_fd) {
        char got = 0;
        RC_ASSERT(read(r.fds[0].get(), &got, 1) == 1);
        RC_ASSERT(got == want.tag);
      }
    }
    RC_ASSERT(unix_util::CountOpenFds() == sut.baseline);
  }
  void show(std::ostream& os) const override { os << "Recv"; }
};

// Runs the property; true when every generated sequence matched the model.
inline bool CheckSeqpacketQueue(Flaw flaw, const std::string& name) {
  return rc::check(name, [flaw] {
    Sut sut;
    sut.flaw = flaw;
    auto created = unix_util::SocketPair::Create(SOCK_SEQPACKET);
    RC_ASSERT(created.ok());
    sut.pair = std::move(created).value();
    sut.baseline = unix_util::CountOpenFds();
    Model m0;
    rc::state::check(m0, sut, rc::state::gen::execOneOfWithArgs<SendCmd, SendCmd, RecvCmd>());
  });
}

}  // namespace ipc::unix_prop
