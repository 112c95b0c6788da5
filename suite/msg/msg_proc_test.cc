// proc(5): /proc/sysvipc/msg lists the message queues that exist (in the reader's IPC namespace).
// Rules: suite/rules/msg.ini.
#include <sys/msg.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// proc(5): /proc/sysvipc/msg lists the queues that exist (in the reader's IPC namespace).

IPC_TEST(MsgProc, ProcSysvipcMsgListsTheQueue, "msg.proc-sysvipc-msg") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 15;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0640));
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 3, "twelve bytes"), SyscallSucceeds()); },
                         {.what = "sending one message"});
  const pid_t sender = c.pid();
  c.ExpectExited(0);
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("msg", &rows));
  const ProcSysvipcRow* mine = FindProcSysvipcRow(rows, "msqid", q.id());
  ASSERT_NE(mine, nullptr) << "queue " << q.id() << " is not listed";
  EXPECT_EQ(mine->at("key"), std::to_string(key));
  EXPECT_EQ(std::stol(mine->at("perms"), nullptr, 8), 0640);
  EXPECT_EQ(mine->at("cbytes"), "12");
  EXPECT_EQ(mine->at("qnum"), "1");
  EXPECT_EQ(mine->at("lspid"), std::to_string(sender));
  EXPECT_EQ(mine->at("lrpid"), "0");
  EXPECT_EQ(mine->at("uid"), std::to_string(geteuid()));
  EXPECT_EQ(mine->at("cuid"), std::to_string(geteuid()));
}

IPC_TEST(MsgProc, ProcSysvipcMsgDropsARemovedQueue, "msg.proc-sysvipc-msg", "msg.ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(MsgQueue keep, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(MsgQueue gone, MsgQueue::Create(IPC_PRIVATE));
  const std::string keep_id = std::to_string(keep.id()), gone_id = std::to_string(gone.id());
  ASSERT_THAT(gone.Remove(), SyscallSucceeds());
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("msg", &rows));
  int keep_rows = 0, gone_rows = 0;
  for (const auto& r : rows) {
    if (r.count("msqid") && r.at("msqid") == keep_id) ++keep_rows;
    if (r.count("msqid") && r.at("msqid") == gone_id) ++gone_rows;
  }
  EXPECT_EQ(keep_rows, 1);
  EXPECT_EQ(gone_rows, 0);
}

}  // namespace
}  // namespace ipc
