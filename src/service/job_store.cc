#include "service/job_store.h"

#include <sqlite3.h>

#include <chrono>
#include <mutex>

#include "core/error.h"

namespace m4h::service {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  workflow TEXT NOT NULL,
  cpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  device TEXT NOT NULL,
  executor TEXT NOT NULL,
  external_id TEXT NOT NULL DEFAULT '',
  workdir TEXT NOT NULL DEFAULT '',
  exit_code INTEGER NOT NULL DEFAULT -1,
  reason TEXT NOT NULL DEFAULT '',
  published TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, id);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
)sql";

constexpr const char* kColumns =
    "id, owner, name, state, workflow, cpus, memory_mb, device, executor, external_id, workdir, exit_code, "
    "reason, published, created_ms, started_ms, finished_ms";

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& where) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::kInternal, "job store: " + where + ": " + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while there is a row; throws on an error.
  bool step(const std::string& where) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(ErrorCode::kIo, "job store: " + where + ": " + sqlite3_errmsg(db_));
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Job job_of(const Statement& s) {
  Job j;
  j.id = s.integer(0);
  j.owner = s.text(1);
  j.name = s.text(2);
  j.state = job_state_from_name(s.text(3));
  j.workflow = s.text(4);
  j.resources.cpus = static_cast<int>(s.integer(5));
  j.resources.memory_mb = s.integer(6);
  j.resources.device = s.text(7);
  j.executor = s.text(8);
  j.external_id = s.text(9);
  j.workdir = s.text(10);
  j.exit_code = static_cast<int>(s.integer(11));
  j.reason = s.text(12);
  j.published = s.text(13);
  j.created_ms = s.integer(14);
  j.started_ms = s.integer(15);
  j.finished_ms = s.integer(16);
  return j;
}

}  // namespace

std::string_view job_state_name(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

JobState job_state_from_name(std::string_view name) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled})
    if (job_state_name(s) == name) return s;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown job state '" + std::string(name) + "' (queued, running, succeeded, failed, cancelled)");
}

bool is_final(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kCancelled;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct JobStore::Impl {
  std::string path;
  sqlite3* db = nullptr;
  std::mutex mutex;

  void exec(const char* sql, const std::string& where) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : sqlite3_errmsg(db);
      sqlite3_free(msg);
      throw Error(ErrorCode::kIo, "job store " + path + ": " + where + ": " + m);
    }
  }

  // BEGIN IMMEDIATE ... COMMIT around fn(); ROLLBACK when it throws.
  template <typename Fn>
  auto transaction(Fn&& fn) {
    exec("BEGIN IMMEDIATE", "begin");
    try {
      auto r = fn();
      exec("COMMIT", "commit");
      return r;
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  int64_t insert(const Job& job) {
    Statement s(db,
                "INSERT INTO jobs (owner, name, state, workflow, cpus, memory_mb, device, executor, workdir, "
                "created_ms) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                "insert");
    s.bind(1, job.owner).bind(2, job.name).bind(3, job.workflow).bind(4, int64_t{job.resources.cpus});
    s.bind(5, job.resources.memory_mb).bind(6, job.resources.device).bind(7, job.executor).bind(8, job.workdir);
    s.bind(9, job.created_ms ? job.created_ms : now_ms());
    s.step("insert");
    return sqlite3_last_insert_rowid(db);
  }

  std::optional<Job> get(int64_t id) {
    Statement s(db, std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?1", "get");
    s.bind(1, id);
    if (!s.step("get")) return std::nullopt;
    return job_of(s);
  }

  int64_t count(std::optional<JobState> state) {
    Statement s(db, state ? "SELECT count(*) FROM jobs WHERE state = ?1" : "SELECT count(*) FROM jobs", "count");
    if (state) s.bind(1, std::string(job_state_name(*state)));
    s.step("count");
    return s.integer(0);
  }
};

JobStore::JobStore(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const int rc = sqlite3_open_v2(path.c_str(), &impl_->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = impl_->db ? sqlite3_errmsg(impl_->db) : sqlite3_errstr(rc);
    sqlite3_close(impl_->db);
    throw Error(ErrorCode::kIo, "job store " + path + ": cannot open: " + m);
  }
  try {
    sqlite3_busy_timeout(impl_->db, 10000);  // another process holding the write lock briefly
    if (path != ":memory:") impl_->exec("PRAGMA journal_mode = WAL", "journal mode");
    // FULL: a job is on disk, not only in the OS's cache, before the server answers 201.
    impl_->exec("PRAGMA synchronous = FULL", "synchronous");
    impl_->exec("PRAGMA foreign_keys = ON", "foreign keys");
    Statement v(impl_->db, "PRAGMA user_version", "schema version");
    v.step("schema version");
    const int64_t version = v.integer(0);
    if (version > kSchemaVersion)
      throw Error(ErrorCode::kUnsupported, "job store " + path + ": schema version " + std::to_string(version) +
                                               " is newer than this server's (" + std::to_string(kSchemaVersion) + ")");
    impl_->exec(kSchema, "create tables");
    impl_->exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(), "schema version");
  } catch (Error& e) {
    sqlite3_close(impl_->db);
    if (e.message().find("file is not a database") != std::string::npos)
      throw Error(ErrorCode::kIo, "job store " + path + ": not an SQLite database");
    throw;
  }
}

JobStore::~JobStore() { sqlite3_close(impl_->db); }

Job JobStore::create(const Job& job) {
  std::lock_guard lock(impl_->mutex);
  return impl_->transaction([&] { return *impl_->get(impl_->insert(job)); });
}

std::optional<Job> JobStore::create_if_queue_below(const Job& job, int64_t max_queued) {
  std::lock_guard lock(impl_->mutex);
  return impl_->transaction([&]() -> std::optional<Job> {
    if (impl_->count(JobState::kQueued) >= max_queued) return std::nullopt;
    return impl_->get(impl_->insert(job));
  });
}

std::optional<Job> JobStore::get(int64_t id) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->get(id);
}

std::vector<Job> JobStore::list(const JobFilter& f) const {
  std::lock_guard lock(impl_->mutex);
  std::string sql = std::string("SELECT ") + kColumns + " FROM jobs WHERE (?1 = '' OR owner = ?1)"
                    " AND (?2 = '' OR state = ?2) AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4";
  Statement s(impl_->db, sql, "list");
  s.bind(1, f.owner).bind(2, f.state ? std::string(job_state_name(*f.state)) : std::string());
  s.bind(3, f.before_id).bind(4, f.limit);
  std::vector<Job> jobs;
  while (s.step("list")) jobs.push_back(job_of(s));
  return jobs;
}

int64_t JobStore::count(std::optional<JobState> state) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->count(state);
}

std::vector<Job> JobStore::queued(int64_t limit) const {
  std::lock_guard lock(impl_->mutex);
  Statement s(impl_->db, std::string("SELECT ") + kColumns + " FROM jobs WHERE state = 'queued' ORDER BY id LIMIT ?1",
              "queued");
  s.bind(1, limit);
  std::vector<Job> jobs;
  while (s.step("queued")) jobs.push_back(job_of(s));
  return jobs;
}

namespace {

// "SET a = ?, b = ?" for the fields an update sets, binding from index `first`.
struct UpdateSql {
  std::string set;
  std::vector<std::string> texts;  // bound in order
  std::optional<int64_t> exit_code;
};

UpdateSql update_sql(const JobUpdate& u) {
  UpdateSql r;
  auto add = [&](const char* column, const std::optional<std::string>& v) {
    if (!v) return;
    r.set += std::string(", ") + column + " = ?" + std::to_string(10 + r.texts.size());
    r.texts.push_back(*v);
  };
  add("external_id", u.external_id);
  add("reason", u.reason);
  add("published", u.published);
  add("workdir", u.workdir);
  if (u.exit_code) {
    r.set += ", exit_code = ?9";
    r.exit_code = *u.exit_code;
  }
  return r;
}

void bind_update(Statement& s, const UpdateSql& u) {
  for (size_t i = 0; i < u.texts.size(); ++i) s.bind(static_cast<int>(10 + i), u.texts[i]);
  if (u.exit_code) s.bind(9, *u.exit_code);
}

}  // namespace

bool JobStore::transition(int64_t id, std::initializer_list<JobState> from, JobState to, const JobUpdate& update) {
  std::string states;
  for (JobState s : from) states += std::string(states.empty() ? "'" : ", '") + std::string(job_state_name(s)) + "'";
  if (states.empty()) return false;
  const UpdateSql u = update_sql(update);
  std::string sql = "UPDATE jobs SET state = ?2" + u.set;
  if (to == JobState::kRunning) sql += ", started_ms = ?3";
  if (is_final(to)) sql += ", finished_ms = ?3";
  sql += " WHERE id = ?1 AND state IN (" + states + ")";
  std::lock_guard lock(impl_->mutex);
  return impl_->transaction([&] {
    Statement s(impl_->db, sql, "transition");
    s.bind(1, id).bind(2, std::string(job_state_name(to))).bind(3, now_ms());
    bind_update(s, u);
    s.step("transition");
    return sqlite3_changes(impl_->db) == 1;
  });
}

void JobStore::update(int64_t id, const JobUpdate& update) {
  const UpdateSql u = update_sql(update);
  if (u.set.empty()) return;
  std::lock_guard lock(impl_->mutex);
  impl_->transaction([&] {
    Statement s(impl_->db, "UPDATE jobs SET id = id" + u.set + " WHERE id = ?1", "update");
    s.bind(1, id);
    bind_update(s, u);
    s.step("update");
    return 0;
  });
}

bool JobStore::remove(int64_t id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->transaction([&] {
    Statement s(impl_->db, "DELETE FROM jobs WHERE id = ?1 AND state IN ('succeeded', 'failed', 'cancelled')",
                "remove");
    s.bind(1, id);
    s.step("remove");
    return sqlite3_changes(impl_->db) == 1;
  });
}

}  // namespace m4h::service
