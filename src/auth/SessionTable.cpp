#include "auth/SessionTable.h"

#include "auth/Secrets.h"

namespace sluice::auth {

SessionTable::SessionTable(SessionLimits limits) : limits_(limits) {}

bool SessionTable::expired(const Session& s, SteadyTime now) const {
  return now - s.lastSeen >= limits_.idle || now - s.created >= limits_.absolute;
}

Result<std::string> SessionTable::create(std::string user, std::string passwordHash,
                                         SteadyTime now) {
  auto id = randomToken(32);
  auto csrf = id ? randomToken(32) : id;
  if (!csrf) {
    return std::unexpected(csrf.error());
  }
  if (sessions_.size() >= limits_.maxSessions) {
    expire(now);
  }
  while (!sessions_.empty() && sessions_.size() >= limits_.maxSessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.lastSeen < oldest->second.lastSeen) {
        oldest = it;
      }
    }
    sessions_.erase(oldest);
  }
  sessions_.emplace(sha256Hex(*id),
                    Session{std::move(user), std::move(passwordHash), std::move(*csrf), now, now});
  return *id;
}

Session* SessionTable::find(std::string_view id, SteadyTime now) {
  if (id.empty()) {
    return nullptr;
  }
  const auto it = sessions_.find(sha256Hex(id));
  if (it == sessions_.end()) {
    return nullptr;
  }
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.lastSeen = now;
  return &it->second;
}

void SessionTable::remove(std::string_view id) { sessions_.erase(sha256Hex(id)); }

void SessionTable::removeUser(std::string_view user) {
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user == user; });
}

void SessionTable::expire(SteadyTime now) {
  std::erase_if(sessions_, [&](const auto& entry) { return expired(entry.second, now); });
}

}  // namespace sluice::auth
