"""Record Access Control Point procedures over the event log.

Transport-free: ``link`` is any object with
  async notify(mv)    send one Records notification (waits out a full queue)
  async indicate(b)   send one control-point indication, wait for the ack
  payload()           bytes per notification (ATT MTU - 3) right now
so the same code runs under the GATT server, under CPython tests and under
the MicroPython runtime.  RAM is one notification buffer whatever the log's
length.
"""

import gc

try:
    from . import protocol
except ImportError:
    import protocol

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

_MAX_PAYLOAD = const(244)  # ATT MTU 247, the largest the server negotiates


class RacpProcedures:
    def __init__(self, log, link):
        self.log = log
        self.link = link
        self.busy = False  # a report or count is running
        self._abort = False
        self._buf = bytearray(_MAX_PAYLOAD - _MAX_PAYLOAD % protocol.RECORD_SIZE)
        self.sent_records = 0  # totals since boot, for status and benchmarks
        self.sent_notifications = 0

    def request_abort(self):
        """Called from the write IRQ: the running report stops at its next chunk."""
        self._abort = True

    async def run(self, request):
        """Execute one control-point write, ending with its indication."""
        try:
            await self._run(request)
        except MemoryError:
            # Out of heap (a burst of requests): this one gets no answer and the
            # client times out, but the procedures stay usable.
            gc.collect()

    async def _run(self, request):
        try:
            op, operator, lo, hi = protocol.parse_racp_request(request)
        except protocol.RacpError as e:
            await self.link.indicate(protocol.racp_response_code(e.op, e.code))
            return
        if op == protocol.OP_ABORT:
            # Reports check the flag between notifications; answering here
            # confirms that nothing more will be sent.
            self._abort = False
            await self.link.indicate(protocol.racp_response_code(op, protocol.RSP_SUCCESS))
            return
        if op == protocol.OP_DELETE and operator not in (protocol.OPR_ALL, protocol.OPR_LE):
            # Only a prefix can be reclaimed: the log is append-only.
            await self.link.indicate(protocol.racp_response_code(op, protocol.RSP_OPERATOR_NOT_SUPPORTED))
            return
        span = protocol.select_range(operator, lo, hi, self.log.first_seq, self.log.last_seq)
        self.busy = True
        self._abort = False
        answer = None
        try:
            if op == protocol.OP_REPORT_NUMBER:
                count = 0 if span is None else await self._count(span[0], span[1])
                answer = protocol.racp_number_response(count)
            elif op == protocol.OP_DELETE:
                code = protocol.RSP_NO_RECORDS
                if span is not None and self.log.ack(span[1]) > 0:
                    code = protocol.RSP_SUCCESS
                answer = protocol.racp_response_code(op, code)
            else:
                code = protocol.RSP_NO_RECORDS
                if span is not None:
                    code = await self._report(span[0], span[1])
                if code:
                    answer = protocol.racp_response_code(op, code)
        except OSError:
            return  # the link went away mid-procedure: nobody to answer
        finally:
            # Not busy before the answer goes out: the client may write its
            # next request the moment it sees the answer.
            self.busy = False
        if answer is not None:
            await self.link.indicate(answer)

    async def _report(self, lo, hi):
        """Stream [lo, hi]; the response code to send, or 0 if aborted."""
        reader = self.log.reader(lo, hi)
        sent = 0
        try:
            while True:
                if self._abort:
                    return 0
                per = self.link.payload() // protocol.RECORD_SIZE
                n = reader.readinto(memoryview(self._buf)[: per * protocol.RECORD_SIZE])
                if n == 0:
                    break
                await self.link.notify(memoryview(self._buf)[:n])
                sent += n // protocol.RECORD_SIZE
                self.sent_notifications += 1
        finally:
            reader.close()
            self.sent_records += sent
        return protocol.RSP_SUCCESS if sent else protocol.RSP_NO_RECORDS

    async def _count(self, lo, hi):
        """Records actually stored in [lo, hi]: seq gaps (lost writes) do not count."""
        reader = self.log.reader(lo, hi)
        view = memoryview(self._buf)[: (len(self._buf) // protocol.RECORD_SIZE) * protocol.RECORD_SIZE]
        count = 0
        try:
            while True:
                n = reader.readinto(view)
                if n == 0:
                    return count
                count += n // protocol.RECORD_SIZE
        finally:
            reader.close()
