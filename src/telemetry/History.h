#pragma once
// The persisted, downsampled telemetry history: one SQLite file with the averages of every
// persistence interval for the totals, each node and each circuit, bounded in size.
//
// Schema (version in meta 'schema' = kSchema):
//   meta(key TEXT PRIMARY KEY, value TEXT)
//   series(id INTEGER PRIMARY KEY, kind TEXT, name TEXT, UNIQUE(kind, name))
//   points(series INTEGER, t INTEGER, down_bps REAL, up_bps REAL, rtt_p50_ms REAL NULL,
//          PRIMARY KEY(series, t)) WITHOUT ROWID
//   circuit_minutes(series INTEGER, t INTEGER, data BLOB, PRIMARY KEY(series, t)) WITHOUT ROWID
// t is unix seconds (start of the interval; for circuit_minutes the first minute of the blob).
// circuit_minutes holds the circuits' 1 min history (48 h of it is what the API serves): one row
// per circuit and hour it carried traffic, `data` = consecutive minutes, 6 bytes each
// (MinuteBlock::blob: little-endian log16 codes of down, up and RTT p50; 0xFFFF = no point).
// Circuits' 5-minute averages are not in `points` when their minutes are here.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/Error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::telemetry {

struct HistoryRow {
  std::string kind;  ///< "total", "node", "circuit"
  std::string name;
  int64_t t = 0;
  double downBps = 0;
  double upBps = 0;
  std::optional<double> rttMs;
};

/// One circuit's consecutive minute points (MinuteBlock::blob) starting at minute t.
struct MinuteBlockRow {
  std::string circuit;  ///< circuit ID
  int64_t t = 0;
  std::string blob;
};

class History {
 public:
  static constexpr const char* kSchema = "sluice-telemetry-1";

  /// Opens or creates `path`. Errors: SQLite's message with the path; EINVAL when the file is a
  /// database of something else (no or another 'schema' in meta while it has tables).
  static Result<std::unique_ptr<History>> open(const std::string& path, uint64_t maxBytes);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  /// Appends rows in one transaction (a row with an existing (series, t) replaces it), then
  /// deletes the oldest rows while the database's used pages exceed maxBytes. Errors: SQLite.
  Result<void> append(const std::vector<HistoryRow>& rows);

  /// Calls `onRow` for every row with t ≥ since, in time order. Errors: SQLite.
  Result<void> load(int64_t since, const std::function<void(const HistoryRow&)>& onRow);

  /// Writes circuits' minute blocks in one transaction (an existing (circuit, t) is replaced),
  /// then bounds the database as append(). Errors: SQLite.
  Result<void> appendMinuteBlocks(const std::vector<MinuteBlockRow>& rows);

  /// Calls onBlock(t, blob) for the blocks of `circuit` with from - 3600 < t < to (a block spans
  /// at most an hour), in time order. Any thread (its own read connection, serialized).
  /// Errors: SQLite.
  Result<void> readMinuteBlocks(const std::string& circuit, int64_t from, int64_t to,
                                const std::function<void(int64_t, std::string_view)>& onBlock);

  /// Bytes in use (pages in use × page size; the file itself may be larger by free pages).
  Result<uint64_t> usedBytes();
  /// Number of stored points.
  Result<uint64_t> rowCount();

 private:
  History(sqlite3* db, std::string path, uint64_t maxBytes);
  Result<void> exec(const char* sql);
  Result<int64_t> seriesId(const std::string& kind, const std::string& name);
  Result<void> enforceBound();
  Error sqliteError(const std::string& what) const;

  sqlite3* db_;
  std::mutex readerMutex_;
  sqlite3* reader_ = nullptr;  ///< read-only connection for readMinuteBlocks
  std::string path_;
  uint64_t maxBytes_;
  std::unordered_map<std::string, int64_t> ids_;  ///< kind + '\n' + name -> series id
};

}  // namespace sluice::telemetry
