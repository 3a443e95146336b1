#include "telemetry/History.h"

#include <errno.h>
#include <sqlite3.h>

#include <algorithm>
#include <memory>

namespace sluice::telemetry {

namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  return Stmt(s);
}

}  // namespace

History::History(sqlite3* db, std::string path, uint64_t maxBytes)
    : db_(db), path_(std::move(path)), maxBytes_(maxBytes) {}

History::~History() {
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

Error History::sqliteError(const std::string& what) const {
  return Error{EIO, what + " (" + path_ + ")", sqlite3_errmsg(db_)};
}

Result<void> History::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "";
    sqlite3_free(msg);
    return makeError(EIO, std::string("history database ") + path_, text);
  }
  return {};
}

Result<std::unique_ptr<History>> History::open(const std::string& path, uint64_t maxBytes) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return makeError(EIO, "open history database " + path, msg);
  }
  std::unique_ptr<History> h(new History(db, path, maxBytes));
  sqlite3_busy_timeout(db, 2000);
  // Is this a database of something else? Any table but ours without our schema mark is.
  {
    Stmt s = prepare(db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
    if (!s || sqlite3_step(s.get()) != SQLITE_ROW) {
      return std::unexpected(h->sqliteError("read history database"));
    }
    const int tables = sqlite3_column_int(s.get(), 0);
    if (tables > 0) {
      Stmt m = prepare(db, "SELECT value FROM meta WHERE key='schema'");
      std::string schema;
      if (m && sqlite3_step(m.get()) == SQLITE_ROW) {
        schema = reinterpret_cast<const char*>(sqlite3_column_text(m.get(), 0));
      }
      if (schema != kSchema) {
        return makeError(EINVAL, "history database " + path,
                         "not a Sluice telemetry history (schema '" + schema + "', expected '" +
                             kSchema + "')");
      }
    }
  }
  auto r = h->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
      "INSERT OR IGNORE INTO meta VALUES('schema','sluice-telemetry-1');"
      "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
      " name TEXT NOT NULL, UNIQUE(kind, name));"
      "CREATE TABLE IF NOT EXISTS points(series INTEGER NOT NULL, t INTEGER NOT NULL,"
      " down_bps REAL NOT NULL, up_bps REAL NOT NULL, rtt_p50_ms REAL,"
      " PRIMARY KEY(series, t)) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS points_t ON points(t);"
      "CREATE TABLE IF NOT EXISTS circuit_minutes(series INTEGER NOT NULL, t INTEGER NOT NULL,"
      " data BLOB NOT NULL, PRIMARY KEY(series, t)) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS circuit_minutes_t ON circuit_minutes(t);");
  if (!r) {
    return std::unexpected(r.error());
  }
  return h;
}

Result<int64_t> History::seriesId(const std::string& kind, const std::string& name) {
  const std::string key = kind + '\n' + name;
  if (auto it = ids_.find(key); it != ids_.end()) {
    return it->second;
  }
  Stmt ins = prepare(db_, "INSERT OR IGNORE INTO series(kind, name) VALUES(?, ?)");
  Stmt sel = prepare(db_, "SELECT id FROM series WHERE kind=? AND name=?");
  if (!ins || !sel) {
    return std::unexpected(sqliteError("prepare series"));
  }
  for (sqlite3_stmt* s : {ins.get(), sel.get()}) {
    sqlite3_bind_text(s, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, name.c_str(), -1, SQLITE_TRANSIENT);
  }
  if (sqlite3_step(ins.get()) != SQLITE_DONE || sqlite3_step(sel.get()) != SQLITE_ROW) {
    return std::unexpected(sqliteError("series " + kind + " " + name));
  }
  int64_t id = sqlite3_column_int64(sel.get(), 0);
  ids_.emplace(key, id);
  return id;
}

Result<void> History::append(const std::vector<HistoryRow>& rows) {
  if (auto r = exec("BEGIN"); !r) {
    return r;
  }
  Stmt ins = prepare(db_, "INSERT OR REPLACE INTO points VALUES(?, ?, ?, ?, ?)");
  if (!ins) {
    exec("ROLLBACK");
    return std::unexpected(sqliteError("prepare points"));
  }
  for (const HistoryRow& row : rows) {
    auto id = seriesId(row.kind, row.name);
    if (!id) {
      exec("ROLLBACK");
      return std::unexpected(id.error());
    }
    sqlite3_reset(ins.get());
    sqlite3_bind_int64(ins.get(), 1, *id);
    sqlite3_bind_int64(ins.get(), 2, row.t);
    sqlite3_bind_double(ins.get(), 3, row.downBps);
    sqlite3_bind_double(ins.get(), 4, row.upBps);
    if (row.rttMs) {
      sqlite3_bind_double(ins.get(), 5, *row.rttMs);
    } else {
      sqlite3_bind_null(ins.get(), 5);
    }
    if (sqlite3_step(ins.get()) != SQLITE_DONE) {
      Error e = sqliteError("insert history point");
      exec("ROLLBACK");
      ids_.clear();  // series rows of this transaction are gone
      return std::unexpected(e);
    }
  }
  if (auto r = exec("COMMIT"); !r) {
    ids_.clear();
    return r;
  }
  return enforceBound();
}

Result<void> History::appendMinuteBlocks(const std::vector<MinuteBlockRow>& rows) {
  if (auto r = exec("BEGIN"); !r) {
    return r;
  }
  Stmt ins = prepare(db_, "INSERT OR REPLACE INTO circuit_minutes VALUES(?, ?, ?)");
  if (!ins) {
    exec("ROLLBACK");
    return std::unexpected(sqliteError("prepare circuit_minutes"));
  }
  for (const MinuteBlockRow& row : rows) {
    auto id = seriesId("circuit", row.circuit);
    if (!id) {
      exec("ROLLBACK");
      ids_.clear();
      return std::unexpected(id.error());
    }
    sqlite3_reset(ins.get());
    sqlite3_bind_int64(ins.get(), 1, *id);
    sqlite3_bind_int64(ins.get(), 2, row.t);
    sqlite3_bind_blob(ins.get(), 3, row.blob.data(), static_cast<int>(row.blob.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(ins.get()) != SQLITE_DONE) {
      Error e = sqliteError("insert circuit minutes");
      exec("ROLLBACK");
      ids_.clear();
      return std::unexpected(e);
    }
  }
  if (auto r = exec("COMMIT"); !r) {
    ids_.clear();
    return r;
  }
  return enforceBound();
}

Result<void> History::readMinuteBlocks(
    const std::string& circuit, int64_t from, int64_t to,
    const std::function<void(int64_t, std::string_view)>& onBlock) {
  std::lock_guard lock(readerMutex_);
  if (reader_ == nullptr) {
    if (sqlite3_open_v2(path_.c_str(), &reader_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = reader_ ? sqlite3_errmsg(reader_) : "out of memory";
      sqlite3_close(reader_);
      reader_ = nullptr;
      return makeError(EIO, "open history database " + path_ + " for reading", msg);
    }
    sqlite3_busy_timeout(reader_, 2000);
  }
  Stmt s = prepare(reader_,
                   "SELECT m.t, m.data FROM circuit_minutes m JOIN series s ON s.id = m.series"
                   " WHERE s.kind = 'circuit' AND s.name = ? AND m.t > ? AND m.t < ?"
                   " ORDER BY m.t");
  if (!s) {
    return makeError(EIO, "read circuit minutes (" + path_ + ")", sqlite3_errmsg(reader_));
  }
  sqlite3_bind_text(s.get(), 1, circuit.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 2, from - 3600);
  sqlite3_bind_int64(s.get(), 3, to);
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const void* data = sqlite3_column_blob(s.get(), 1);
    const int bytes = sqlite3_column_bytes(s.get(), 1);
    onBlock(sqlite3_column_int64(s.get(), 0),
            std::string_view(static_cast<const char*>(data), static_cast<size_t>(bytes)));
  }
  if (rc != SQLITE_DONE) {
    return makeError(EIO, "read circuit minutes (" + path_ + ")", sqlite3_errmsg(reader_));
  }
  return {};
}

Result<uint64_t> History::usedBytes() {
  auto pragma = [&](const char* sql) -> int64_t {
    Stmt s = prepare(db_, sql);
    return s && sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : -1;
  };
  int64_t pages = pragma("PRAGMA page_count");
  int64_t freePages = pragma("PRAGMA freelist_count");
  int64_t pageSize = pragma("PRAGMA page_size");
  if (pages < 0 || freePages < 0 || pageSize < 0) {
    return std::unexpected(sqliteError("read database size"));
  }
  return static_cast<uint64_t>((pages - freePages) * pageSize);
}

Result<uint64_t> History::rowCount() {
  Stmt s = prepare(db_, "SELECT count(*) FROM points");
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) {
    return std::unexpected(sqliteError("count history points"));
  }
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

// Deleted space goes to SQLite's free list and is reused by later inserts, so bounding the pages
// in use bounds the file (plus the WAL, which checkpoints keep near its default 4 MiB).
Result<void> History::enforceBound() {
  for (int round = 0; round < 64; ++round) {
    auto used = usedBytes();
    if (!used) {
      return std::unexpected(used.error());
    }
    if (*used <= maxBytes_) {
      return {};
    }
    // Drop the oldest tenth of the time span (at least one interval).
    Stmt span = prepare(db_,
                        "SELECT min(lo), max(hi) FROM (SELECT min(t) lo, max(t) hi FROM points"
                        " UNION ALL SELECT min(t), max(t) FROM circuit_minutes)");
    if (!span || sqlite3_step(span.get()) != SQLITE_ROW ||
        sqlite3_column_type(span.get(), 0) == SQLITE_NULL) {
      return {};
    }
    int64_t lo = sqlite3_column_int64(span.get(), 0);
    int64_t hi = sqlite3_column_int64(span.get(), 1);
    int64_t cut = lo + std::max<int64_t>((hi - lo) / 10, 1);
    for (const char* sql : {"DELETE FROM points WHERE t < ?",
                            "DELETE FROM circuit_minutes WHERE t < ?"}) {
      Stmt del = prepare(db_, sql);
      sqlite3_bind_int64(del.get(), 1, cut);
      if (!del || sqlite3_step(del.get()) != SQLITE_DONE) {
        return std::unexpected(sqliteError("drop oldest history"));
      }
    }
  }
  return {};
}

Result<void> History::load(int64_t since, const std::function<void(const HistoryRow&)>& onRow) {
  Stmt s = prepare(db_,
                   "SELECT s.kind, s.name, p.t, p.down_bps, p.up_bps, p.rtt_p50_ms FROM points p"
                   " JOIN series s ON s.id = p.series WHERE p.t >= ? ORDER BY p.t");
  if (!s) {
    return std::unexpected(sqliteError("prepare history load"));
  }
  sqlite3_bind_int64(s.get(), 1, since);
  HistoryRow row;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    row.kind = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    row.name = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
    row.t = sqlite3_column_int64(s.get(), 2);
    row.downBps = sqlite3_column_double(s.get(), 3);
    row.upBps = sqlite3_column_double(s.get(), 4);
    row.rttMs.reset();
    if (sqlite3_column_type(s.get(), 5) != SQLITE_NULL) {
      row.rttMs = sqlite3_column_double(s.get(), 5);
    }
    onRow(row);
  }
  if (rc != SQLITE_DONE) {
    return std::unexpected(sqliteError("load history"));
  }
  return {};
}

}  // namespace sluice::telemetry
