#pragma once
// Error values for OS-facing code (netlink, BPF, files). Every fallible operation that touches the
// operating system returns Result<T>; exceptions are reserved for startup and config parsing.

#include <expected>
#include <source_location>
#include <string>
#include <utility>

namespace sluice {

/// An operation that failed: what was being done (`context`, e.g. "class add dev eth1 classid
/// 1:3"), the errno it failed with (0 when not an OS error), optional detail from the kernel
/// (extended-ack text) and the source location that produced the error.
struct Error {
  int errnum = 0;
  std::string context;
  std::string detail;
  std::source_location where = std::source_location::current();

  /// "context: strerror(errnum) (detail) [file:line]"; parts that are empty are left out.
  std::string message() const;
};

template <typename T>
using Result = std::expected<T, Error>;

/// Builds an unexpected Error at the caller's location.
inline std::unexpected<Error> makeError(int errnum, std::string context, std::string detail = {},
                                        std::source_location where = std::source_location::current()) {
  return std::unexpected<Error>(Error{errnum, std::move(context), std::move(detail), where});
}

}  // namespace sluice
