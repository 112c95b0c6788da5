// proc(5) /proc/sysvipc: the files ipcs(1) reads list the objects that exist in the reader's IPC
// namespace, one line each, and agree with what shmctl(2) and semctl(2) report (IPC_STAT, SHM_INFO /
// SHM_STAT, SEM_INFO / SEM_STAT). /proc/sysvipc/msg has its tests in suite/msg/msg_proc_test.cc. Counts are
// taken in a new IPC namespace of the test's own, where no other test adds objects. Rules:
// suite/rules/sysv.ini.
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"

namespace ipc {
namespace {

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* __buf;
};

long Octal(const std::string& s) { return std::stol(s, nullptr, 8); }

// --- /proc/sysvipc/shm ----------------------------------------------------------------------------------

void ExpectShmRowMatches(const ProcSysvipcRow& row, const struct shmid_ds& ds, key_t key) {
  EXPECT_EQ(row.at("key"), std::to_string(key));
  EXPECT_EQ(Octal(row.at("perms")), static_cast<long>(ds.shm_perm.mode));
  EXPECT_EQ(row.at("size"), std::to_string(ds.shm_segsz));
  EXPECT_EQ(row.at("cpid"), std::to_string(ds.shm_cpid));
  EXPECT_EQ(row.at("lpid"), std::to_string(ds.shm_lpid));
  EXPECT_EQ(row.at("nattch"), std::to_string(ds.shm_nattch));
  EXPECT_EQ(row.at("uid"), std::to_string(ds.shm_perm.uid));
  EXPECT_EQ(row.at("gid"), std::to_string(ds.shm_perm.gid));
  EXPECT_EQ(row.at("cuid"), std::to_string(ds.shm_perm.cuid));
  EXPECT_EQ(row.at("cgid"), std::to_string(ds.shm_perm.cgid));
  EXPECT_EQ(row.at("atime"), std::to_string(ds.shm_atime));
  EXPECT_EQ(row.at("dtime"), std::to_string(ds.shm_dtime));
  EXPECT_EQ(row.at("ctime"), std::to_string(ds.shm_ctime));
}

IPC_TEST(SysvProcShm, RowAgreesWithIpcStat, "sysv.proc-sysvipc-shm", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = 0x53590001;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, 3 * Page(), IPC_CREAT | IPC_EXCL | 0640));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  struct shmid_ds ds {};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallSucceeds());
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("shm", &rows));
  const ProcSysvipcRow* row = FindProcSysvipcRow(rows, "shmid", seg.id());
  ASSERT_NE(row, nullptr) << "segment " << seg.id() << " is not listed";
  EXPECT_EQ(Octal(row->at("perms")), 0640);
  EXPECT_EQ(row->at("nattch"), "1");
  EXPECT_EQ(row->at("lpid"), std::to_string(getpid()));
  ExpectShmRowMatches(*row, ds, key);
}

IPC_TEST(SysvProcShm, MarkedSegmentIsListedWithKeyZeroUntilDetached, "sysv.proc-sysvipc-shm",
         "shm.ctl-rmid-shm-dest") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = 0x53590002;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  const int id = seg.id();
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  struct shmid_ds ds {};
  ASSERT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  EXPECT_TRUE((ds.shm_perm.mode & SHM_DEST) != 0) << "mode 0" << std::oct << ds.shm_perm.mode;
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("shm", &rows));
  const ProcSysvipcRow* row = FindProcSysvipcRow(rows, "shmid", id);
  ASSERT_NE(row, nullptr) << "an attached segment marked for destruction still exists";
  ExpectShmRowMatches(*row, ds, IPC_PRIVATE);
  ASSERT_THAT(at.Detach(), SyscallSucceeds());
  ASSERT_TRUE(ReadProcSysvipc("shm", &rows));
  EXPECT_EQ(FindProcSysvipcRow(rows, "shmid", id), nullptr) << "destroyed on its last detach";
}

IPC_TEST(SysvProcShm, RowsAreTheSegmentsThatShmInfoAndShmStatSee, "sysv.proc-sysvipc-shm", "shm.ctl-shm-info",
         "shm.ctl-shm-stat") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        std::vector<ShmSegment> segs;
        for (size_t pages : {1u, 2u, 5u}) {
          ASSERT_OK_AND_ASSIGN(ShmSegment s, ShmSegment::Create(IPC_PRIVATE, pages * Page()));
          segs.push_back(std::move(s));
        }
        ASSERT_THAT(segs[1].Remove(), SyscallSucceeds());  // leaves a hole in the indices
        std::vector<ProcSysvipcRow> rows;
        ASSERT_TRUE(ReadProcSysvipc("shm", &rows));
        struct shm_info info {};
        const int max_index = shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(max_index, SyscallSucceeds());
        EXPECT_EQ(rows.size(), 2u);
        EXPECT_EQ(info.used_ids, static_cast<int>(rows.size()));
        std::set<std::string> listed, stated;
        for (const ProcSysvipcRow& r : rows) listed.insert(r.at("shmid"));
        for (int index = 0; index <= max_index; ++index) {
          struct shmid_ds ds {};
          const int id = shmctl(index, SHM_STAT, &ds);
          if (id < 0) {
            EXPECT_EQ(errno, EINVAL) << "index " << index;
            continue;
          }
          stated.insert(std::to_string(id));
          const ProcSysvipcRow* row = FindProcSysvipcRow(rows, "shmid", id);
          ASSERT_NE(row, nullptr) << "SHM_STAT index " << index << " gave id " << id << ", not listed";
          ExpectShmRowMatches(*row, ds, IPC_PRIVATE);
        }
        EXPECT_EQ(listed, stated);
      },
      {.what = "comparing /proc/sysvipc/shm with SHM_INFO and SHM_STAT in a new IPC namespace"})
      .ExpectExited(0);
}

// --- /proc/sysvipc/sem ----------------------------------------------------------------------------------

void ExpectSemRowMatches(const ProcSysvipcRow& row, const struct semid_ds& ds, key_t key) {
  EXPECT_EQ(row.at("key"), std::to_string(key));
  EXPECT_EQ(Octal(row.at("perms")), static_cast<long>(ds.sem_perm.mode));
  EXPECT_EQ(row.at("nsems"), std::to_string(ds.sem_nsems));
  EXPECT_EQ(row.at("uid"), std::to_string(ds.sem_perm.uid));
  EXPECT_EQ(row.at("gid"), std::to_string(ds.sem_perm.gid));
  EXPECT_EQ(row.at("cuid"), std::to_string(ds.sem_perm.cuid));
  EXPECT_EQ(row.at("cgid"), std::to_string(ds.sem_perm.cgid));
  EXPECT_EQ(row.at("otime"), std::to_string(ds.sem_otime));
  EXPECT_EQ(row.at("ctime"), std::to_string(ds.sem_ctime));
}

IPC_TEST(SysvProcSem, RowAgreesWithIpcStat, "sysv.proc-sysvipc-sem", "sem.semctl-ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = 0x53590003;
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(key, 4, IPC_CREAT | IPC_EXCL | 0604));
  struct sembuf op = {2, 1, 0};
  ASSERT_THAT(semop(set.id(), &op, 1), SyscallSucceeds());  // sets sem_otime
  struct semid_ds ds {};
  semun arg{};
  arg.buf = &ds;
  ASSERT_THAT(semctl(set.id(), 0, IPC_STAT, arg), SyscallSucceeds());
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("sem", &rows));
  const ProcSysvipcRow* row = FindProcSysvipcRow(rows, "semid", set.id());
  ASSERT_NE(row, nullptr) << "set " << set.id() << " is not listed";
  EXPECT_EQ(Octal(row->at("perms")), 0604);
  EXPECT_EQ(row->at("nsems"), "4");
  EXPECT_NE(row->at("otime"), "0");
  ExpectSemRowMatches(*row, ds, key);
}

IPC_TEST(SysvProcSem, RemovedSetIsNoLongerListed, "sysv.proc-sysvipc-sem", "sem.semctl-ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet keep, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(SemSet gone, SemSet::Create(IPC_PRIVATE, 2));
  const int gone_id = gone.id();
  ASSERT_THAT(gone.Remove(), SyscallSucceeds());
  std::vector<ProcSysvipcRow> rows;
  ASSERT_TRUE(ReadProcSysvipc("sem", &rows));
  EXPECT_NE(FindProcSysvipcRow(rows, "semid", keep.id()), nullptr);
  EXPECT_EQ(FindProcSysvipcRow(rows, "semid", gone_id), nullptr);
}

IPC_TEST(SysvProcSem, RowsAreTheSetsThatSemInfoAndSemStatSee, "sysv.proc-sysvipc-sem", "sem.semctl-sem-info",
         "sem.semctl-sem-stat") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        std::vector<SemSet> sets;
        for (int nsems : {3, 1, 4}) {
          ASSERT_OK_AND_ASSIGN(SemSet s, SemSet::Create(IPC_PRIVATE, nsems));
          sets.push_back(std::move(s));
        }
        ASSERT_THAT(sets[1].Remove(), SyscallSucceeds());
        std::vector<ProcSysvipcRow> rows;
        ASSERT_TRUE(ReadProcSysvipc("sem", &rows));
        struct seminfo info {};
        semun arg{};
        arg.__buf = &info;
        const int max_index = semctl(0, 0, SEM_INFO, arg);
        ASSERT_THAT(max_index, SyscallSucceeds());
        EXPECT_EQ(rows.size(), 2u);
        EXPECT_EQ(info.semusz, static_cast<int>(rows.size())) << "SEM_INFO semusz: the number of sets";
        long nsems = 0;
        for (const ProcSysvipcRow& r : rows) nsems += std::stol(r.at("nsems"));
        EXPECT_EQ(info.semaem, nsems) << "SEM_INFO semaem: the number of semaphores in all sets";
        std::set<std::string> listed, stated;
        for (const ProcSysvipcRow& r : rows) listed.insert(r.at("semid"));
        for (int index = 0; index <= max_index; ++index) {
          struct semid_ds ds {};
          semun sarg{};
          sarg.buf = &ds;
          const int id = semctl(index, 0, SEM_STAT, sarg);
          if (id < 0) {
            EXPECT_EQ(errno, EINVAL) << "index " << index;
            continue;
          }
          stated.insert(std::to_string(id));
          const ProcSysvipcRow* row = FindProcSysvipcRow(rows, "semid", id);
          ASSERT_NE(row, nullptr) << "SEM_STAT index " << index << " gave id " << id << ", not listed";
          ExpectSemRowMatches(*row, ds, IPC_PRIVATE);
        }
        EXPECT_EQ(listed, stated);
      },
      {.what = "comparing /proc/sysvipc/sem with SEM_INFO and SEM_STAT in a new IPC namespace"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
