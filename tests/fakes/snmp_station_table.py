#!/usr/bin/env python3
"""snmpd `pass` handler serving a table of OIDs from a text file, for Sonar's SNMP tests.

snmpd.conf:  pass .1.3.6.1.4.1.41112.1.4.7.1.1.1 /usr/bin/python3 snmp_station_table.py TABLE
TABLE lines: "<numeric OID> <type> <value>", type as snmpd's pass protocol names it (string,
octet = hex bytes "AA BB CC 00 00 01", integer, ...). snmpd calls `... TABLE -g OID` (get) or
`... TABLE -n OID` (get-next) and reads three lines: OID, type, value; nothing = no such OID.
Python 3 standard library only.
"""

import sys


def key(oid):
    return tuple(int(part) for part in oid.strip(".").split(".") if part)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("-g", "-n"):
        return 0  # -s (set) and anything else: not writable, answer nothing
    table_file, mode, wanted = argv[0], argv[1], key(argv[2])
    rows = []
    with open(table_file) as f:
        for line in f:
            parts = line.strip().split(None, 2)
            if len(parts) == 3 and not parts[0].startswith("#"):
                rows.append((key(parts[0]), parts[0], parts[1], parts[2]))
    rows.sort()
    for k, oid, kind, value in rows:
        if (mode == "-g" and k == wanted) or (mode == "-n" and k > wanted):
            print(oid)
            print(kind)
            print(value)
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
