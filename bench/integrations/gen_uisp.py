#!/usr/bin/env python3
"""Generates a UISP NMS v2.1 dataset (sites.json, devices.json, data-links.json) of a WISP for
bench_integrations: one root site with a core router, towers (one per 500 clients) each linked to
the core by a backhaul radio, 10 airMax APs per tower, and CLIENTS subscriber (endpoint) sites,
each with one CPE (addresses from 100.64.0.0/10) attached to an AP and a plan of 10-200 Mbit/s.
Field names follow UISP's public API documentation (the subset the integration reads).

    gen_uisp.py CLIENTS OUT_DIR [--seed N] [--bump PERCENT]

--bump changes the download plan of that share of clients (the "speed changes" of a re-sync).
"""
import argparse
import json
import os
import random


def site(sid, name, kind, parent=None, qos=None):
    return {"id": sid,
            "identification": {"id": sid, "name": name, "type": kind, "status": "active",
                               "suspended": False,
                               "parent": {"id": parent, "name": parent} if parent else None},
            "description": {"address": name + ", Generated County",
                            "location": {"latitude": 41.5, "longitude": -93.6}},
            "qos": qos or {}}


def device(did, hostname, site_id, role, kind, ip, down_bps, up_bps, ap=None, mode="ap-ptmp"):
    return {"identification": {"id": did, "hostname": hostname, "mac": None, "model": "R5AC-PTMP",
                               "modelName": "Rocket 5AC", "type": kind, "role": role,
                               "site": {"id": site_id, "name": site_id}},
            "ipAddress": ip + "/32",
            "attributes": {"apDevice": {"id": ap}} if ap else {},
            "overview": {"status": "active", "downlinkCapacity": down_bps,
                         "uplinkCapacity": up_bps, "wirelessMode": mode},
            "interfaces": [{"identification": {"type": "eth", "name": "eth0", "mac": None},
                            "addresses": [], "status": {"status": "active", "currentSpeed": 1000}}]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("clients", type=int)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bump", type=float, default=0.0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    bump = random.Random(a.seed + 1)
    os.makedirs(a.out, exist_ok=True)
    sites = [site("root", "Core", "site")]
    devices = [device("core", "core-router", "root", "router", "edgeRouter", "100.127.255.1",
                      10_000_000_000, 10_000_000_000)]
    links = [{"id": "uplink", "canDelete": False,
              "from": {"site": {"identification": {"id": "root", "name": "Core"}}, "device": None},
              "to": {"site": None, "device": None}}]
    towers = max(1, a.clients // 500)
    aps = []
    for t in range(towers):
        tid = f"tower-{t}"
        sites.append(site(tid, f"Tower {t}", "site", "root"))
        bh = f"bh-{t}"
        devices.append(device(bh, f"tower-{t}-backhaul", tid, "station", "airFiber",
                              f"100.126.{t // 250}.{t % 250 + 1}", 1_000_000_000, 1_000_000_000,
                              mode="sta"))
        links.append({"id": f"link-{t}", "canDelete": True,
                      "from": {"device": {"identification": {"id": "core", "name": "core-router"}},
                               "site": {"identification": {"id": "root", "name": "Core"}}},
                      "to": {"device": {"identification": {"id": bh, "name": bh}},
                             "site": {"identification": {"id": tid, "name": f"Tower {t}"}}}})
        for k in range(10):
            ap = f"ap-{t}-{k}"
            aps.append(ap)
            devices.append(device(ap, f"tower-{t}-ap-{k}", tid, "ap", "airMax",
                                  f"100.125.{(t * 10 + k) // 250}.{(t * 10 + k) % 250 + 1}",
                                  400_000_000, 200_000_000))
    for c in range(a.clients):
        cid = f"client-{c}"
        down = rng.choice([10, 25, 50, 100, 200])
        if a.bump > 0 and bump.random() * 100 < a.bump:
            down += 5
        ip = f"100.{64 + (c >> 16)}.{(c >> 8) & 255}.{c & 255}"
        sites.append(site(cid, f"Subscriber {c}", "endpoint", f"tower-{(c // 500) % towers}",
                          {"downloadSpeed": down * 1_000_000, "uploadSpeed": down * 200_000,
                           "downloadBurstSize": None, "uploadBurstSize": None}))
        devices.append(device(f"cpe-{c}", f"cpe-{c}", cid, "station", "airMax", ip, 300_000_000,
                              300_000_000, ap=aps[c % len(aps)], mode="sta-ptmp"))
    for name, data in (("sites.json", sites), ("devices.json", devices),
                       ("data-links.json", links)):
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(data, f)


if __name__ == "__main__":
    main()
