#include "tc/Mq.h"

namespace sluice::tc {

void encodeMq(netlink::Batch& batch, Verb verb, const TcTarget& target) {
  beginTc(batch, false, verb, target, "mq");
}

void encodeClsact(netlink::Batch& batch, Verb verb, const TcTarget& target) {
  TcTarget t = target;
  t.handle = kClsactHandle;
  t.parent = kClsactParent;
  beginTc(batch, false, verb, t, "clsact");
}

void encodeQdiscDelete(netlink::Batch& batch, const TcTarget& target) {
  beginTc(batch, false, Verb::Delete, target, "");
}

}  // namespace sluice::tc
