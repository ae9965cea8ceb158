"""Scripted checks with pymemcache (text protocol) against a server at HOST:PORT
(usage: SCRIPT PORT [HOST], HOST defaulting to 127.0.0.1).
Exits 0 and prints 'pymemcache: N checks passed' when every check holds."""
from pymemcache.client.base import Client
from checklib import Checks, server

host, port = server()
check = Checks()

for noreply in (False, True):
    c = Client((host, port), default_noreply=noreply, connect_timeout=5, timeout=10)
    p = "nr%d-" % noreply
    c.set(p + "a", b"alpha", expire=0)
    check(c.get(p + "a") == b"alpha", "set/get noreply=%s" % noreply)
    c.set_many({p + "x": b"1", p + "y": b"2", p + "z": b"3"})
    got = c.get_many([p + "x", p + "y", p + "z", p + "missing"])
    check(got == {p + "x": b"1", p + "y": b"2", p + "z": b"3"}, "multi-get %r" % got)
    check(c.add(p + "a", b"other", noreply=False) is False, "add of present key")
    c.replace(p + "a", b"beta")
    check(c.get(p + "a") == b"beta", "replace")
    c.append(p + "a", b"-end")
    c.prepend(p + "a", b"start-")
    check(c.get(p + "a") == b"start-beta-end", "append/prepend")
    c.set(p + "n", b"10")
    check(c.incr(p + "n", 5, noreply=False) == 15, "incr")
    check(c.decr(p + "n", 20, noreply=False) == 0, "decr stops at 0")
    c.set(p + "w", b"18446744073709551615")
    check(c.incr(p + "w", 2, noreply=False) == 1, "incr wraps at 2^64")
    check(c.incr(p + "absent", 1, noreply=False) is None, "incr of absent key")
    val, cas = c.gets(p + "a")
    check(val == b"start-beta-end" and cas is not None, "gets")
    check(c.cas(p + "a", b"new", cas, noreply=False) is True, "cas with right unique")
    check(c.cas(p + "a", b"newer", cas, noreply=False) is False, "cas with stale unique")
    check(c.get(p + "a") == b"new", "value after cas")
    check(c.touch(p + "a", 100, noreply=False) is True, "touch")
    check(c.touch(p + "nothere", 100, noreply=False) is False, "touch absent")
    raw = c.raw_command(("gat 0 " + p + "a").encode(), b"END\r\n")
    check(raw.startswith(b"VALUE " + (p + "a").encode()) and b"\r\nnew\r\n" in raw, "gat %r" % raw)
    c.set(p + "gone", b"x", expire=-1)
    check(c.get(p + "gone") is None, "negative exptime: expired")
    check(c.delete(p + "a", noreply=False) is True, "delete")
    check(c.get(p + "a") is None, "deleted")
    for size in (1024, 100_000, 1_000_000):
        big = bytes((i * 7 + size) % 251 for i in range(size))
        c.set(p + "big%d" % size, big)
        check(c.get(p + "big%d" % size) == big, "large value %d" % size)
    stats = c.stats()
    check(int(stats[b"curr_connections"]) >= 1 and b"evictions" in stats, "stats")
    check(c.version().startswith(b"1.6"), "version")
    c.flush_all(noreply=False)
    check(c.get(p + "x") is None, "flush_all")
    c.close()
print("pymemcache: %d checks passed" % check.passed)
