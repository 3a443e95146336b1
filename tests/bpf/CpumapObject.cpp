#include "CpumapObject.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::bpftest {

bpf_object* loadCpumapObject(const std::string& objectPath, const std::string& cpumapName,
                             uint32_t cpu, uint32_t queueSize, const std::string& what) {
  bpf_object* obj = nullptr;
  auto fail = [&](const std::string& step, int err) {
    if (obj != nullptr) {
      bpf_object__close(obj);
    }
    throw std::runtime_error(what + ": " + step + ": " + std::strerror(err));
  };
  obj = bpf_object__open_file(objectPath.c_str(), nullptr);
  if (obj == nullptr) {
    fail("open " + objectPath, errno);
  }
  bpf_map* cpus = bpf_object__find_map_by_name(obj, cpumapName.c_str());
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj) {
    const std::string name = bpf_map__name(m);
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".rodata") == 0) {
      rodata = m;
    }
  }
  if (cpus == nullptr || rodata == nullptr) {
    fail(cpumapName + " or .rodata missing in " + objectPath, ENOENT);
  }
  const int possible = libbpf_num_possible_cpus();
  if (possible <= 0 || cpu >= static_cast<uint32_t>(possible)) {
    fail("CPU " + std::to_string(cpu) + " is not a possible CPU", EINVAL);
  }
  if (int e = bpf_map__set_max_entries(cpus, static_cast<uint32_t>(possible)); e != 0) {
    fail("size " + cpumapName, -e);
  }
  if (int e = bpf_map__set_initial_value(rodata, &cpu, sizeof(cpu)); e != 0) {
    fail("set the target CPU", -e);
  }
  if (int e = bpf_object__load(obj); e != 0) {
    fail("load", -e);
  }
  bpf_cpumap_val val{};
  val.qsize = queueSize;
  if (bpf_map_update_elem(bpf_map__fd(cpus), &cpu, &val, BPF_ANY) != 0) {
    fail("cpumap entry for CPU " + std::to_string(cpu), errno);
  }
  return obj;
}

}  // namespace sluice::bpftest
