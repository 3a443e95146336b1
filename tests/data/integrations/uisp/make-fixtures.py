#!/usr/bin/env python3
"""Writes the UISP fixtures of tests/unit/integrations/UispTest.cpp (network/, two-uplinks/,
no-uplink/: sites.json, devices.json, data-links.json as UISP NMS API v2.1 answers them; field
names from UISP's API documentation). Each element's comment says which rule it exercises. The
lab fixture (lab/) is written by hand. Run from anywhere; then re-run the test with
SLUICE_UPDATE_GOLDEN=1 and review the golden diff under expected/.
"""

import json
import os

BASE = os.path.dirname(os.path.abspath(__file__))
M = 1_000_000

def site(id, name, type="site", parent=None, suspended=False, address="", lat=None, lon=None,
         down=None, up=None, dburst=None, uburst=None, service=None, status="active"):
    s = {"id": id,
         "identification": {"id": id, "name": name, "type": type, "status": status,
                            "suspended": suspended,
                            "parent": ({"id": parent, "name": parent} if parent else None)},
         "description": {"address": address,
                         "location": ({"latitude": lat, "longitude": lon} if lat is not None else None)},
         "qos": {}}
    if down is not None or up is not None:
        s["qos"] = {"downloadSpeed": down, "uploadSpeed": up,
                    "downloadBurstSize": dburst, "uploadBurstSize": uburst}
    if service:
        s["ucrm"] = {"service": {"name": service}}
    return s

def iface(name, type="eth", speed=None, current=None, status="active", cidrs=(), dl=None, mac=None):
    i = {"identification": {"type": type, "name": name, "mac": mac},
         "addresses": [{"cidr": c} for c in cidrs],
         "status": {"status": status, "speed": speed, "currentSpeed": current}}
    if type == "wlan":
        i["wireless"] = {"dlRatio": dl}
    return i

def device(id, host, site_id, model="", model_name="", type="airMax", role="station", mac="",
           ip=None, ap=None, down=None, up=None, total=None, theo=None, mode=None, active=None,
           interfaces=()):
    return {"identification": {"id": id, "hostname": host, "mac": mac, "model": model,
                               "modelName": model_name, "type": type, "role": role,
                               "site": {"id": site_id, "name": site_id}},
            "ipAddress": ip,
            "attributes": ({"apDevice": {"id": ap}} if ap else {}),
            "overview": {"status": "active", "downlinkCapacity": down, "uplinkCapacity": up,
                         "totalCapacity": total, "theoreticalTotalCapacity": theo,
                         "wirelessMode": mode, "wirelessActiveInterfaceIds": active},
            "interfaces": list(interfaces)}

def link(id, fdev=None, fsite=None, tdev=None, tsite=None, can_delete=True):
    def end(dev, s):
        return {"device": ({"identification": {"id": dev, "name": dev}} if dev else None),
                "site": ({"identification": {"id": s, "name": s}} if s else None)}
    return {"id": id, "canDelete": can_delete, "from": end(fdev, fsite), "to": end(tdev, tsite)}

def write(dirname, sites, devices, links):
    os.makedirs(dirname, exist_ok=True)
    for name, data in (("sites", sites), ("devices", devices), ("data-links", links)):
        with open(os.path.join(dirname, name + ".json"), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")


# --- network/: the main fixture ---------------------------------------------------------

sites = [
    site("site-hq", "HQ", address="1 Main St, Town", lat=41.5, lon=-93.6),
    site("site-north", "North Tower", parent="site-hq", address="North Rd", lat=41.6, lon=-93.6),
    site("site-ridge", "Ridge", parent="site-hq", address="Ridge Rd"),
    site("site-hill", "Hill", address="Hill Ln"),
    site("c-anna", "Anderson, Anna", "endpoint", "site-hq", address="12 Oak St, Town",
         down=50 * M, up=10 * M, service="Home 50"),
    site("c-bob", "Bob's Bakery, LLC", "endpoint", "site-hq", address="3 Market St, Town",
         down=100 * M, up=20 * M, service="Business 100"),
    site("c-carl", "Carl Chen", "endpoint", "site-north", address="5 North Rd",
         down=200 * M, up=50 * M, dburst=1024000, uburst=0, service="Home 200"),
    site("c-dora", "Diaz, Dora", "endpoint", "site-ridge", address="7 Ridge Rd",
         down=100 * M, up=25 * M, service="Home 100"),
    site("c-ed", "Ed Evans", "endpoint", "site-ridge", address="9 Ridge Rd",
         down=25 * M, up=5 * M, service="Home 25"),
    site("c-fay", "Fay Fox", "endpoint", None, address="11 Lost Ln",
         down=10 * M, up=2 * M, service="Home 10"),
    site("c-gus", "Gus Green", "endpoint", "site-hill", address="2 Hill Ln",
         down=30 * M, up=6 * M, service="Home 30"),
    site("c-hal", "Hal Hu", "endpoint", "site-hq", address="4 Oak St, Town"),
    site("c-ivy", "Ito, Ivy", "endpoint", "site-hq", address="6 Oak St, Town", suspended=True,
         status="suspended", down=25 * M, up=5 * M, service="Home 25"),
    site("c-jo1", "Jo Jones", "endpoint", "site-hq", address="1 Elm St, Town",
         down=20 * M, up=4 * M, service="Home 20"),
    site("c-jo2", "Jo Jones", "endpoint", "site-hq", address="9 Pine Rd, Town",
         down=20 * M, up=4 * M, service="Gold 20"),
    site("c-jo3", "Jones, Jo", "endpoint", "site-hq", address="9 Pine Rd, Town",
         down=20 * M, up=4 * M, service="Home 20"),
    site("c-kim", "Kim Kay", "endpoint", None, address="8 North Rd",
         down=40 * M, up=8 * M, service="Home 40"),
    site("c-lee", "Lee Lo", "endpoint", "site-hq", address="10 Oak St, Town",
         down=40 * M, up=8 * M, service="Home 40"),
    # UISP lists every record once; a repeated id (seen on paged exports) is dropped.
    site("c-anna", "Anderson, Anna (duplicate record)", "endpoint", "site-hq"),
]

eth1g = iface("eth0", current="1000-full")
devices = [
    device("dev-hq-router", "HQ Router", "site-hq", "ER-8-XG", "EdgeRouter 8 XG", "edgeRouter",
           "router", "04:18:D6:00:00:01", "100.64.0.1/24",
           interfaces=[iface("eth0", current="1000-full"), iface("eth1", type="sfp", speed="10000",
                                                                 status="disconnected")]),
    # airMax flexible frame: 500 Mbit/s total split by the active radio's dlRatio 75 %.
    device("dev-hq-ap1", "HQ AP1", "site-hq", "R5AC-PTMP", "Rocket 5AC PtMP", "airMax", "ap",
           "04:18:D6:00:00:02", "100.64.0.2", total=500 * M, theo=600 * M, down=450 * M,
           up=450 * M, mode="ap-ptmp", active=["wlan0"],
           interfaces=[eth1g, iface("wlan0", type="wlan", dl=75)]),
    # AF60-LR reports no port speed: the model's 1 GbE ceiling caps 1800 to round(1000*0.94).
    device("dev-hq-bh-north", "HQ to North", "site-hq", "AF60-LR", "airFiber 60 LR", "airFiber",
           "ap", "04:18:D6:00:00:03", "100.64.0.3", down=1800 * M, up=1800 * M, mode="ap-ptp",
           interfaces=[iface("wlan0", type="wlan")]),
    # Two backhauls to Ridge with as many hops: the 700 one wins over the 100 one.
    device("dev-hq-bh-ridge1", "HQ to Ridge (5AC)", "site-hq", "PBE-5AC-500", "PowerBeam 5AC",
           "airMax", "ap", "04:18:D6:00:00:04", "100.64.0.4", down=100 * M, up=100 * M,
           mode="ap-ptp", interfaces=[eth1g]),
    device("dev-hq-bh-ridge2", "HQ to Ridge (XHD)", "site-hq", "AF-5XHD", "airFiber 5XHD",
           "airFiber", "ap", "04:18:D6:00:00:05", "100.64.0.5", down=700 * M, up=700 * M,
           mode="ap-ptp", interfaces=[eth1g]),
    device("dev-north-bh", "North from HQ", "site-north", "AF60-LR", "airFiber 60 LR", "airFiber",
           "station", "04:18:D6:00:01:01", "100.64.1.1", ap="dev-hq-bh-north", down=1800 * M,
           up=1800 * M, mode="sta-ptp", interfaces=[iface("eth0", speed="1000-full",
                                                          status="connected")]),
    device("dev-north-ltu", "North Tower", "site-north", "LTU-Rocket", "LTU Rocket", "ltu", "ap",
           "04:18:D6:00:01:02", "100.64.1.2", down=400 * M, up=200 * M, mode="ap-ptmp",
           interfaces=[eth1g]),
    device("dev-ridge-sta1", "Ridge from HQ (5AC)", "site-ridge", "PBE-5AC-500", "PowerBeam 5AC",
           "airMax", "station", "04:18:D6:00:02:01", "100.64.2.1", ap="dev-hq-bh-ridge1",
           down=100 * M, up=100 * M, mode="sta-ptp", interfaces=[eth1g]),
    device("dev-ridge-sta2", "Ridge from HQ (XHD)", "site-ridge", "AF-5XHD", "airFiber 5XHD",
           "airFiber", "station", "04:18:D6:00:02:02", "100.64.2.2", ap="dev-hq-bh-ridge2",
           down=700 * M, up=700 * M, mode="sta-ptp", interfaces=[eth1g]),
    # Not flexible frame (no dlRatio, no theoretical capacity): 5AC model x airmax_capacity.
    device("dev-ridge-ap", "Ridge AP", "site-ridge", "R5AC-PTMP", "Rocket 5AC PtMP", "airMax",
           "ap", "04:18:D6:00:02:03", "100.64.2.3", down=300 * M, up=150 * M, mode="ap-ptmp",
           interfaces=[eth1g]),
    # A switch in Ridge with no clients and one neighbour: culled.
    device("dev-ridge-switch", "Ridge Switch", "site-ridge", "USW-Lite-8", "UniFi Switch 8",
           "switch", "switch", "04:18:D6:00:02:04", "100.64.2.4", interfaces=[eth1g]),
    device("dev-hill-ap", "Hill AP", "site-hill", "LAP-120", "LiteAP AC", "airMax", "ap",
           "04:18:D6:00:03:01", "100.64.3.1", down=150 * M, up=50 * M, mode="ap-ptmp",
           interfaces=[eth1g]),
    # Clients.
    device("cpe-anna", "cpe-anna", "c-anna", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:01", "100.64.10.2/24", ap="dev-hq-ap1", mode="sta-ptmp",
           interfaces=[iface("eth0", current="100-full", cidrs=["100.64.10.2/24"]),
                       iface("wlan0", type="wlan")]),
    device("cpe-bob", "cpe-bob", "c-bob", "NBE-5AC-Gen2", "NanoBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:02", "100.64.10.3", ap="dev-hq-ap1", mode="sta-ptmp",
           interfaces=[iface("eth0", current="10-half")]),
    device("cpe-carl", "cpe-carl", "c-carl", "LTU-LR", "LTU Long-Range", "ltu", "station",
           "24:5A:4C:10:00:03", "100.64.11.2", mode="sta-ptmp", interfaces=[eth1g]),
    device("cpe-dora", "cpe-dora", "c-dora", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:04", "100.64.12.2", ap="dev-ridge-ap", mode="sta-ptmp",
           interfaces=[eth1g]),
    device("router-dora", "router-dora", "c-dora", "ER-X", "EdgeRouter X", "edgeRouter",
           "router", "24:5A:4C:10:00:05", None,
           interfaces=[iface("eth1", current="1000-full",
                             cidrs=["100.64.12.8/29", "2001:db8:12::/56", "fe80::1/64"])]),
    device("cpe-ed", "cpe-ed", "c-ed", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax", "station",
           "24:5A:4C:10:00:06", "100.64.12.3", interfaces=[eth1g]),
    device("cpe-fay", "cpe-fay", "c-fay", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:07", "100.64.13.2", interfaces=[eth1g]),
    device("cpe-gus", "cpe-gus", "c-gus", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:08", "100.64.14.2", ap="dev-hill-ap", interfaces=[eth1g]),
    device("cpe-hal", "cpe-hal", "c-hal", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:09", "100.64.10.4", ap="dev-hq-ap1", interfaces=[eth1g]),
    device("cpe-ivy", "cpe-ivy", "c-ivy", "LBE-5AC-Gen2", "LiteBeam 5AC Gen2", "airMax",
           "station", "24:5A:4C:10:00:0A", "100.64.10.5", ap="dev-hq-ap1", interfaces=[eth1g]),
    device("cpe-jo1", "cpe-jo1", "c-jo1", "LBE-5AC-Gen2", "", "airMax", "station",
           "24:5A:4C:10:00:0B", "100.64.10.6", ap="dev-hq-ap1", interfaces=[eth1g]),
    device("cpe-jo2", "cpe-jo2", "c-jo2", "LBE-5AC-Gen2", "", "airMax", "station",
           "24:5A:4C:10:00:0C", "100.64.10.7", ap="dev-hq-ap1", interfaces=[eth1g]),
    device("cpe-jo3", "cpe-jo3", "c-jo3", "LBE-5AC-Gen2", "", "airMax", "station",
           "24:5A:4C:10:00:0D", "100.64.10.8", ap="dev-hq-ap1", interfaces=[eth1g]),
    device("cpe-kim", "cpe-kim", "c-kim", "LBE-5AC-Gen2", "", "airMax", "station",
           "24:5A:4C:10:00:0E", "100.64.15.2", interfaces=[eth1g]),
    device("cpe-lee", "cpe-lee", "c-lee", "LBE-5AC-Gen2", "", "airMax", "station",
           "24:5A:4C:10:00:0F", "198.51.100.7", ap="dev-hq-ap1", interfaces=[eth1g]),
]

links = [
    link("link-uplink", fsite="site-hq", can_delete=False),
    link("link-hq-north", "dev-hq-bh-north", "site-hq", "dev-north-bh", "site-north"),
    link("link-hq-ridge1", "dev-hq-bh-ridge1", "site-hq", "dev-ridge-sta1", "site-ridge"),
    link("link-hq-ridge2", "dev-hq-bh-ridge2", "site-hq", "dev-ridge-sta2", "site-ridge"),
    link("link-carl", "dev-north-ltu", "site-north", "cpe-carl", "c-carl"),
    link("link-ed-site", None, "c-ed", "dev-ridge-ap", "site-ridge"),
]

write(os.path.join(BASE, "network"), sites, devices, links)


# --- two-uplinks/ and no-uplink/: root detection -----------------------------------------

def pop(prefix, name, n):
    s = [site(f"site-{prefix}", name),
         site(f"c-{prefix}", f"Client {name}", "endpoint", f"site-{prefix}", down=10 * M, up=2 * M)]
    d = [device(f"dev-{prefix}-ap", f"{name} AP", f"site-{prefix}", "R5AC-PTMP", "", "airMax", "ap",
                "", f"100.64.{n}.1", down=300 * M, up=100 * M, mode="ap-ptmp"),
         device(f"cpe-{prefix}", f"cpe-{prefix}", f"c-{prefix}", "LBE-5AC-Gen2", "", "airMax",
                "station", "", f"100.64.{n}.2", ap=f"dev-{prefix}-ap")]
    return s, d

ws, wd = pop("west", "West POP", 20)
es, ed = pop("east", "East POP", 21)
write(os.path.join(BASE, "two-uplinks"), ws + es, wd + ed,
      [link("up-west", fsite="site-west", can_delete=False),
       link("up-east", fsite="site-east", can_delete=False)])
write(os.path.join(BASE, "no-uplink"), ws, wd, [link("ordinary", fsite="site-west")])
