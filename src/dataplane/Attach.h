#pragma once
// Attaching the data plane's programs to interfaces, through libbpf (netlink underneath).
//
// Both attachments outlive the process unless detached: XDP and cls_bpf hold their program, so
// the data plane keeps classifying while the daemon restarts. The RAII owners detach on
// destruction unless persist() was called (the daemon's orderly shutdown calls persist()).

#include <cstdint>

#include "common/Error.h"

namespace sluice::dataplane {

enum class XdpMode : uint8_t { Native, Generic };

class XdpAttachment {
 public:
  /// Attaches `progFd` to `ifindex` in native (driver) mode, replacing any XDP program there;
  /// when the driver refuses, logs a warning and attaches in generic (skb) mode. Errors: the
  /// errno of the generic attach when both fail.
  static Result<XdpAttachment> attach(int ifindex, int progFd);
  XdpAttachment(XdpAttachment&& other) noexcept;
  XdpAttachment& operator=(XdpAttachment&& other) noexcept;
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;
  ~XdpAttachment();

  XdpMode mode() const { return mode_; }
  int ifindex() const { return ifindex_; }
  /// Asks the kernel whether this program is still the one attached to the interface (false when
  /// detached, replaced, the interface is gone, or after detach()/persist()).
  bool attached() const;
  /// Removes the program if it is still the one attached. Idempotent.
  Result<void> detach();
  /// Leaves the program attached when this object is destroyed.
  void persist() { ifindex_ = 0; }

 private:
  XdpAttachment(int ifindex, uint32_t progId, XdpMode mode)
      : ifindex_(ifindex), progId_(progId), mode_(mode) {}
  int ifindex_ = 0;
  uint32_t progId_ = 0;
  XdpMode mode_ = XdpMode::Native;
};

class TcAttachment {
 public:
  /// Creates the clsact hook on `ifindex` if needed and attaches `progFd` as a direct-action
  /// cls_bpf filter on egress (handle 1, priority 1, replacing an earlier one). Errors: the
  /// errno of bpf_tc_hook_create / bpf_tc_attach.
  static Result<TcAttachment> attachEgress(int ifindex, int progFd);
  /// The same on ingress (the bridge forwarder). Errors as attachEgress.
  static Result<TcAttachment> attachIngress(int ifindex, int progFd);
  TcAttachment(TcAttachment&& other) noexcept;
  TcAttachment& operator=(TcAttachment&& other) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment();

  int ifindex() const { return ifindex_; }
  /// Asks the kernel whether this filter (handle, priority) still runs this program on the hook
  /// (false when removed, replaced, the interface or clsact is gone, or after detach()/persist()).
  bool attached() const;
  /// Removes the filter (the clsact qdisc stays). Idempotent.
  Result<void> detach();
  void persist() { ifindex_ = 0; }

 private:
  TcAttachment(int ifindex, bool ingress, uint32_t progId)
      : ifindex_(ifindex), ingress_(ingress), progId_(progId) {}
  static Result<TcAttachment> attach(int ifindex, int progFd, bool ingress);
  int ifindex_ = 0;
  bool ingress_ = false;
  uint32_t progId_ = 0;
};

}  // namespace sluice::dataplane
