"""How well a memory-bounded server keeps a hot set under a cold write flood.

Used by benchmarks/compare (the `eviction` section); standard library only.

The server is expected to run with a memory bound (MAXMEMORY_TEXT) and an
eviction policy. measure() first writes a hot set, then streams cold keys; after
every cold SET it GETs one hot key, round-robin, so each hot key is read once per
`hot_keys` cold writes. Every hot miss is counted; what follows it depends on the
variant:
  refill=True (cache-aside): the missed hot key is written again in the next
    batch, as an application in front of a database would. An evicted hot key
    comes back, so "hot keys resident at end" counts those present when the
    stream ends (a miss in the last batch is not written back);
  refill=False: an evicted hot key stays gone, so "hot keys resident at end" is
    the hot set less every hot key the server evicted at any time in the stream.
Commands go out in pipelined batches over one connection; INFO memory is sampled
over a second one. Error replies (-OOM and the like) are counted, not raised.
"""

import select
import socket
import time

MAXMEMORY_TEXT = "40mb"
MAXMEMORY = 40 * 1024 * 1024  # what MAXMEMORY_TEXT means to Redis and stairkv-server


class ProtocolError(Exception):
    """The server sent something that is not RESP."""


class RespError:
    """An error reply (-ERR ..., -OOM ...): a value, so a caller can count it."""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message

    @property
    def kind(self):
        return self.message.split(" ", 1)[0] if self.message else "(empty)"

    def __repr__(self):
        return f"RespError({self.message!r})"


def encode(*args):
    """One command as a RESP array of bulk strings; str arguments become UTF-8."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return b"".join(out)


_INCOMPLETE = object()


class ReplyParser:
    """Incremental RESP2 reply parser (RESP3 null `_` accepted as well).

    feed() bytes as they arrive; take() returns the replies completed so far:
    str for +status, RespError for -error, int for :integer, bytes for a bulk
    string, list for an array, None for a nil bulk or array.
    """

    def __init__(self):
        self._buf = bytearray()
        self._done = []

    def feed(self, data):
        self._buf += data
        pos = 0
        while pos < len(self._buf):
            parsed = self._parse(pos)
            if parsed is _INCOMPLETE:
                break
            value, pos = parsed
            self._done.append(value)
        if pos:
            del self._buf[:pos]

    def take(self):
        done, self._done = self._done, []
        return done

    def pending_bytes(self):
        return len(self._buf)

    def _parse(self, pos):
        buf = self._buf
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return _INCOMPLETE
        kind = buf[pos]
        line = bytes(buf[pos + 1:eol])
        after = eol + 2
        if kind == 0x2B:  # +
            return line.decode("utf-8", "replace"), after
        if kind == 0x2D:  # -
            return RespError(line.decode("utf-8", "replace")), after
        if kind == 0x3A:  # :
            return self._int(line), after
        if kind == 0x24:  # $
            n = self._int(line)
            if n < 0:
                return None, after
            end = after + n
            if len(buf) < end + 2:
                return _INCOMPLETE
            if buf[end:end + 2] != b"\r\n":
                raise ProtocolError(f"bulk string of {n} bytes not followed by CRLF")
            return bytes(buf[after:end]), end + 2
        if kind == 0x2A:  # *
            n = self._int(line)
            if n < 0:
                return None, after
            items = []
            for _ in range(n):
                parsed = self._parse(after)
                if parsed is _INCOMPLETE:
                    return _INCOMPLETE
                value, after = parsed
                items.append(value)
            return items, after
        if kind == 0x5F and not line:  # _ (RESP3 null)
            return None, after
        raise ProtocolError(f"unexpected reply type byte {bytes([kind])!r} "
                            f"in {bytes(buf[pos:pos + 40])!r}")

    @staticmethod
    def _int(line):
        try:
            return int(line)
        except ValueError:
            raise ProtocolError(f"bad length or integer {line!r}") from None


class Connection:
    """One client connection that writes a pipeline while reading its replies.

    Sending and receiving are interleaved (non-blocking socket and select), so a
    large batch cannot deadlock against a server that stops reading while its
    replies wait to be read.
    """

    def __init__(self, host, port, timeout):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.parser = ReplyParser()

    def pipeline(self, payload, count):
        """Sends payload (count commands) and returns its count replies in order."""
        view = memoryview(payload)
        sent = 0
        replies = []
        last_progress = time.monotonic()
        while len(replies) < count:
            writers = [self.sock] if sent < len(view) else []
            readable, writable, _ = select.select([self.sock], writers, [], 1.0)
            if writable:
                try:
                    n = self.sock.send(view[sent:sent + 262144])
                    sent += n
                    last_progress = time.monotonic()
                except (BlockingIOError, InterruptedError):
                    pass
            if readable:
                try:
                    data = self.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    data = b""
                else:
                    if not data:
                        raise ConnectionError(
                            f"server closed the connection after {len(replies)} of "
                            f"{count} replies")
                    self.parser.feed(data)
                    replies.extend(self.parser.take())
                    last_progress = time.monotonic()
            if time.monotonic() - last_progress > self.timeout:
                raise TimeoutError(f"no progress for {self.timeout} s: sent {sent} of "
                                   f"{len(view)} bytes, {len(replies)} of {count} replies")
        if len(replies) > count:
            raise ProtocolError(f"{len(replies) - count} replies more than commands sent")
        return replies

    def command(self, *args):
        return self.pipeline(encode(*args), 1)[0]

    def close(self):
        self.sock.close()


def info(conn, section):
    """INFO <section> as a dict of str -> str; {} when the server answers an error."""
    reply = conn.command("INFO", section)
    if not isinstance(reply, bytes):
        return {}
    fields = {}
    for line in reply.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    return fields


def as_int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def hot_value(i, size):
    """Hot values differ per key, so a GET can be checked, not only seen non-nil."""
    head = b"hot:%d:" % i
    return (head * (size // len(head) + 1))[:size]


class _Errors:
    def __init__(self):
        self.by_kind = {}

    def add(self, err):
        entry = self.by_kind.setdefault(err.kind, {"count": 0, "first": err.message})
        entry["count"] += 1

    @property
    def total(self):
        return sum(e["count"] for e in self.by_kind.values())


def measure(port, host="127.0.0.1", hot_keys=2000, value_size=1000,
            cold_bytes=150_000_000, batch=100, sample_every=5000,
            maxmemory=MAXMEMORY, timeout=60, progress=None, refill=True):
    """Runs the hot-set-under-flood workload against a fresh, bounded server.

    batch: cold SETs per pipelined round trip (each followed by a hot GET, so a
    round trip carries 2 * batch commands plus the previous batch's refills).
    progress: optional callable(str) for occasional status lines.
    refill: write a missed hot key again (cache-aside); without it, a hot key
    once evicted stays gone, so the count at the end shows every eviction.
    """
    started = time.monotonic()
    data = Connection(host, port, timeout)
    probe = Connection(host, port, timeout)
    errors = _Errors()
    try:
        config = info(probe, "memory")
        server_maxmemory = as_int(config.get("maxmemory"))
        server_policy = config.get("maxmemory_policy")

        hot_names = [b"hot:%d" % i for i in range(hot_keys)]
        hot_values = [hot_value(i, value_size) for i in range(hot_keys)]
        hot_sets = [encode(b"SET", k, v) for k, v in zip(hot_names, hot_values)]
        hot_gets = [encode(b"GET", k) for k in hot_names]

        load_errors = 0
        step = 2 * batch
        for first in range(0, hot_keys, step):
            part = hot_sets[first:first + step]
            for reply in data.pipeline(b"".join(part), len(part)):
                if isinstance(reply, RespError):
                    errors.add(reply)
                    load_errors += 1

        samples = []

        def sample(cold_written):
            used = as_int(info(probe, "memory").get("used_memory"))
            if used is not None:
                samples.append([cold_written, used])
            return used

        sample(0)

        cold_keys = -(-cold_bytes // value_size)
        cold_tail = b"$%d\r\n%s\r\n" % (value_size, b"c" * value_size)
        cold_errors = 0
        hot_reads = hits = misses = wrong = refill_errors = hot_read_errors = 0
        next_hot = 0
        refills = []
        written = 0
        next_sample = sample_every
        used_final = samples[-1][1] if samples else None
        stream_started = time.monotonic()
        while written < cold_keys:
            n = min(batch, cold_keys - written)
            parts = []
            tags = []  # per command: -1 cold SET, i >= 0 GET hot i, -2 - i SET hot i
            for i in refills:
                parts.append(hot_sets[i])
                tags.append(-2 - i)
            refills = []
            for c in range(written, written + n):
                key = b"cold:%d" % c
                parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n" % (len(key), key))
                parts.append(cold_tail)
                tags.append(-1)
                parts.append(hot_gets[next_hot])
                tags.append(next_hot)
                next_hot = next_hot + 1 if next_hot + 1 < hot_keys else 0
            replies = data.pipeline(b"".join(parts), len(tags))
            for tag, reply in zip(tags, replies):
                if tag >= 0:
                    hot_reads += 1
                    if isinstance(reply, bytes):
                        if reply == hot_values[tag]:
                            hits += 1
                            continue
                        wrong += 1
                    elif reply is None:
                        misses += 1
                    else:
                        hot_read_errors += 1
                        if isinstance(reply, RespError):
                            errors.add(reply)
                    if refill:
                        refills.append(tag)
                elif isinstance(reply, RespError):
                    errors.add(reply)
                    if tag == -1:
                        cold_errors += 1
                    else:
                        refill_errors += 1
            written += n
            if written >= next_sample or written == cold_keys:
                used = used_final = sample(written)
                next_sample += sample_every
                if progress and written % (sample_every * 10) == 0:
                    progress(f"  {written} cold keys, used_memory {used}, "
                             f"hot hits {hits}/{hot_reads}")
        stream_s = time.monotonic() - stream_started

        # The last batch's misses are not written back: what counts now is what the
        # stream left resident.
        resident = 0
        for first in range(0, hot_keys, step):
            part = [encode(b"EXISTS", k) for k in hot_names[first:first + step]]
            for reply in data.pipeline(b"".join(part), len(part)):
                if reply == 1:
                    resident += 1
                elif isinstance(reply, RespError):
                    errors.add(reply)

        evicted = as_int(info(probe, "stats").get("evicted_keys"))
        used_max = max((u for _, u in samples), default=None)
    finally:
        data.close()
        probe.close()

    def ratio(v):
        return v / maxmemory if v is not None and maxmemory else None

    return {
        "refill": refill,
        "hot_keys": hot_keys,
        "value_size": value_size,
        "cold_keys": cold_keys,
        "cold_value_bytes": cold_keys * value_size,
        "maxmemory": maxmemory,
        "server_maxmemory": server_maxmemory,
        "server_policy": server_policy,
        "hot_resident_end": resident,
        "hot_reads": hot_reads,
        "hot_hits": hits,
        "hot_misses": misses,
        "hot_wrong_values": wrong,
        "hot_hit_rate": hits / hot_reads if hot_reads else None,
        "used_memory_max": used_max,
        "used_memory_final": used_final,
        "used_memory_max_ratio": ratio(used_max),
        "used_memory_final_ratio": ratio(used_final),
        "evicted_keys": evicted,
        "errors": errors.total,
        "errors_by_kind": errors.by_kind,
        "hot_load_errors": load_errors,
        "cold_set_errors": cold_errors,
        "hot_get_errors": hot_read_errors,
        "hot_refill_errors": refill_errors,
        "stream_s": stream_s,
        "wall_s": time.monotonic() - started,
        "used_memory_samples": samples,
    }
