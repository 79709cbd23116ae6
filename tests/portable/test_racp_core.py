"""RACP procedures over a real event log, with the radio replaced by a recording link."""

import eventlog
import protocol as P
import racp
from _support import fresh_dir
from fsio import PosixFS


class RecordingLink:
    """The radio edge: records what would go over the air."""

    def __init__(self, payload=244):
        self._payload = payload
        self.notifications = []
        self.indications = []
        self.abort_after = None
        self.procedures = None

    def payload(self):
        return self._payload

    async def notify(self, data):
        self.notifications.append(bytes(data))
        if self.abort_after is not None and len(self.notifications) == self.abort_after:
            self.procedures.request_abort()

    async def indicate(self, data):
        self.indications.append(bytes(data))


def drive(coro):
    """Run a coroutine that never suspends (the recording link does not)."""
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value


def _setup(n, payload=244):
    log = eventlog.EventLog(PosixFS(), fresh_dir("racp"), 16)
    log.open()
    for i in range(n):
        log.append(P.KIND_TWITCH, 100 + i, 1, 0)
    link = RecordingLink(payload)
    procedures = racp.RacpProcedures(log, link)
    link.procedures = procedures
    return log, link, procedures


def _records(link):
    out = []
    for value in link.notifications:
        out.extend(P.unpack_notification(value))
    return out


def test_report_packs_as_many_records_as_the_mtu_allows():
    log, link, procedures = _setup(40, payload=244)
    drive(procedures.run(P.racp_request(P.OP_REPORT, P.OPR_GE, lo=5)))
    assert [r[0] for r in _records(link)] == list(range(5, 41))
    assert [len(v) // 16 for v in link.notifications] == [15, 15, 6]
    assert link.indications == [P.racp_response_code(P.OP_REPORT, P.RSP_SUCCESS)]


def test_small_mtu_still_streams_everything():
    log, link, procedures = _setup(5, payload=20)
    drive(procedures.run(P.racp_request(P.OP_REPORT, P.OPR_ALL)))
    assert len(link.notifications) == 5 and len(_records(link)) == 5


def test_number_delete_and_no_records():
    log, link, procedures = _setup(30)
    drive(procedures.run(P.racp_request(P.OP_REPORT_NUMBER, P.OPR_ALL)))
    drive(procedures.run(P.racp_request(P.OP_DELETE, P.OPR_LE, hi=10)))
    drive(procedures.run(P.racp_request(P.OP_REPORT_NUMBER, P.OPR_ALL)))
    drive(procedures.run(P.racp_request(P.OP_REPORT, P.OPR_LE, hi=10)))
    drive(procedures.run(P.racp_request(P.OP_DELETE, P.OPR_LE, hi=10)))
    assert link.indications == [
        P.racp_number_response(30),
        P.racp_response_code(P.OP_DELETE, P.RSP_SUCCESS),
        P.racp_number_response(20),
        P.racp_response_code(P.OP_REPORT, P.RSP_NO_RECORDS),
        P.racp_response_code(P.OP_DELETE, P.RSP_NO_RECORDS),
    ]
    assert log.first_seq == 11


def test_only_a_prefix_can_be_deleted():
    log, link, procedures = _setup(10)
    drive(procedures.run(P.racp_request(P.OP_DELETE, P.OPR_GE, lo=5)))
    assert link.indications == [P.racp_response_code(P.OP_DELETE, P.RSP_OPERATOR_NOT_SUPPORTED)]
    assert log.count() == 10


def test_abort_stops_the_stream_and_sends_no_report_answer():
    log, link, procedures = _setup(100)
    link.abort_after = 2
    drive(procedures.run(P.racp_request(P.OP_REPORT, P.OPR_ALL)))
    assert len(link.notifications) == 2 and link.indications == []
    assert not procedures.busy
    drive(procedures.run(P.racp_request(P.OP_ABORT, P.OPR_NULL)))
    assert link.indications == [P.racp_response_code(P.OP_ABORT, P.RSP_SUCCESS)]


def test_malformed_requests_are_answered_not_raised():
    log, link, procedures = _setup(3)
    for request in (b"", b"\x01", b"\x09\x01", b"\x01\x03\x01\x01"):
        drive(procedures.run(request))
    assert [P.parse_racp_response(i)[2] for i in link.indications] == [
        P.RSP_OP_NOT_SUPPORTED,
        P.RSP_INVALID_OPERATOR,
        P.RSP_OP_NOT_SUPPORTED,
        P.RSP_INVALID_OPERAND,
    ]
