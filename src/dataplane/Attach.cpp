#include "dataplane/Attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <string>
#include <utility>

#include "dataplane/LibbpfLog.h"

namespace sluice::dataplane {
namespace {

constexpr uint32_t kTcHandle = 1;
constexpr uint32_t kTcPriority = 1;

uint32_t progIdOf(int progFd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(progFd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

Result<XdpAttachment> XdpAttachment::attach(int ifindex, int progFd) {
  routeLibbpfLogToSpdlog();
  uint32_t id = progIdOf(progFd);
  int rc = bpf_xdp_attach(ifindex, progFd, XDP_FLAGS_DRV_MODE, nullptr);
  if (rc == 0) {
    return XdpAttachment(ifindex, id, XdpMode::Native);
  }
  spdlog::warn("dataplane: native XDP refused on ifindex {} ({}); using generic XDP, which is "
               "much slower and gives tc no metadata",
               ifindex, std::strerror(-rc));
  rc = bpf_xdp_attach(ifindex, progFd, XDP_FLAGS_SKB_MODE, nullptr);
  if (rc != 0) {
    return makeError(-rc, "attach XDP (generic) to ifindex " + std::to_string(ifindex));
  }
  return XdpAttachment(ifindex, id, XdpMode::Generic);
}

XdpAttachment::XdpAttachment(XdpAttachment&& other) noexcept
    : ifindex_(std::exchange(other.ifindex_, 0)), progId_(other.progId_), mode_(other.mode_) {}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& other) noexcept {
  if (this != &other) {
    (void)detach();
    ifindex_ = std::exchange(other.ifindex_, 0);
    progId_ = other.progId_;
    mode_ = other.mode_;
  }
  return *this;
}

XdpAttachment::~XdpAttachment() {
  if (auto ok = detach(); !ok) {
    spdlog::warn("dataplane: {}", ok.error().message());
  }
}

bool XdpAttachment::attached() const {
  if (ifindex_ == 0) {
    return false;
  }
  const uint32_t flags = mode_ == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  uint32_t id = 0;
  return bpf_xdp_query_id(ifindex_, static_cast<int>(flags), &id) == 0 && id == progId_;
}

Result<void> XdpAttachment::detach() {
  if (ifindex_ == 0) {
    return {};
  }
  int ifindex = std::exchange(ifindex_, 0);
  uint32_t flags = mode_ == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  uint32_t attached = 0;
  if (bpf_xdp_query_id(ifindex, static_cast<int>(flags), &attached) != 0 || attached != progId_) {
    return {};  // interface gone or someone else's program now: not ours to remove
  }
  if (int rc = bpf_xdp_detach(ifindex, flags, nullptr); rc != 0) {
    return makeError(-rc, "detach XDP from ifindex " + std::to_string(ifindex));
  }
  return {};
}

Result<TcAttachment> TcAttachment::attachEgress(int ifindex, int progFd) {
  return attach(ifindex, progFd, false);
}

Result<TcAttachment> TcAttachment::attachIngress(int ifindex, int progFd) {
  return attach(ifindex, progFd, true);
}

Result<TcAttachment> TcAttachment::attach(int ifindex, int progFd, bool ingress) {
  routeLibbpfLogToSpdlog();
  const char* where = ingress ? "ingress" : "egress";
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  int rc = bpf_tc_hook_create(&hook);
  if (rc != 0 && rc != -EEXIST) {
    return makeError(-rc, "create clsact on ifindex " + std::to_string(ifindex));
  }
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progFd, .flags = BPF_TC_F_REPLACE,
              .handle = kTcHandle, .priority = kTcPriority);
  rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) {
    return makeError(-rc, std::string("attach cls_bpf ") + where + " on ifindex " +
                              std::to_string(ifindex));
  }
  return TcAttachment(ifindex, ingress, progIdOf(progFd));
}

TcAttachment::TcAttachment(TcAttachment&& other) noexcept
    : ifindex_(std::exchange(other.ifindex_, 0)), ingress_(other.ingress_), progId_(other.progId_) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
  if (this != &other) {
    (void)detach();
    ifindex_ = std::exchange(other.ifindex_, 0);
    ingress_ = other.ingress_;
    progId_ = other.progId_;
  }
  return *this;
}

TcAttachment::~TcAttachment() {
  if (auto ok = detach(); !ok) {
    spdlog::warn("dataplane: {}", ok.error().message());
  }
}

bool TcAttachment::attached() const {
  if (ifindex_ == 0) {
    return false;
  }
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_,
              .attach_point = ingress_ ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  return bpf_tc_query(&hook, &opts) == 0 && opts.prog_id == progId_;
}

Result<void> TcAttachment::detach() {
  if (ifindex_ == 0) {
    return {};
  }
  int ifindex = std::exchange(ifindex_, 0);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = ingress_ ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int rc = bpf_tc_detach(&hook, &opts);
  if (rc != 0 && rc != -ENOENT && rc != -ENODEV && rc != -EINVAL) {
    return makeError(-rc, std::string("detach cls_bpf ") + (ingress_ ? "ingress" : "egress") +
                              " from ifindex " + std::to_string(ifindex));
  }
  return {};
}

}  // namespace sluice::dataplane
