"""GATT server on MicroPython's low-level ``bluetooth`` module.

Services: Device Information, Battery, Current Time, and the symptom-log
service (RACP control point, records, status, settings); see PROTOCOL.md.

The IRQ handler only records what happened and sets a flag, except where the
stack needs an answer before it returns (read permission, secrets).  The
work (RACP procedures, time and settings writes) runs in ``serve()``.

MicroPython's write IRQ cannot return an ATT error, so a refused write is
undone (the old value is put back) and answered over RACP where RACP has a
code for it.  Reads can be refused, and are, with the ATT security errors.
"""

import asyncio
import binascii
import gc

import bluetooth

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

try:
    from . import protocol, racp
except ImportError:
    import protocol
    import racp

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_WRITE_ENCRYPTED = const(0x1000)

_ERR_INSUFFICIENT_AUTHENTICATION = const(0x05)
_ERR_INSUFFICIENT_ENCRYPTION = const(0x0F)
_IO_NO_INPUT_OUTPUT = const(3)
_SEC_OUR = const(1)  # NimBLE store object types for keys; 3 (CCCD state) is not a bond
_SEC_PEER = const(2)
_ENOMEM = const(12)

_ADV_INTERVAL_US = const(250_000)
_MTU = const(247)
_WRITE_BUFFER = const(32)  # longer writes are truncated by the stack, then refused
_QUEUE_MAX = const(4)
_INDICATE_TIMEOUT_MS = const(5000)
_NOTIFY_TIMEOUT_MS = const(10_000)

_SECURE_READ = _FLAG_READ | _FLAG_READ_ENCRYPTED
_SECURE_WRITE = _FLAG_WRITE | _FLAG_WRITE_ENCRYPTED

_UUID = bluetooth.UUID
_SERVICES = (
    (
        _UUID(protocol.UUID_DEVICE_INFORMATION),
        (
            (_UUID(protocol.UUID_MANUFACTURER_NAME), _FLAG_READ),
            (_UUID(protocol.UUID_MODEL_NUMBER), _FLAG_READ),
            (_UUID(protocol.UUID_FIRMWARE_REVISION), _FLAG_READ),
            (_UUID(protocol.UUID_SERIAL_NUMBER), _FLAG_READ),
        ),
    ),
    (_UUID(protocol.UUID_BATTERY_SERVICE), ((_UUID(protocol.UUID_BATTERY_LEVEL), _FLAG_READ | _FLAG_NOTIFY),)),
    (
        _UUID(protocol.UUID_CURRENT_TIME_SERVICE),
        (
            (_UUID(protocol.UUID_CURRENT_TIME), _FLAG_READ | _FLAG_NOTIFY | _SECURE_WRITE),
            (_UUID(protocol.UUID_LOCAL_TIME_INFO), _FLAG_READ),
        ),
    ),
    (
        _UUID(protocol.SERVICE_UUID),
        (
            (_UUID(protocol.CONTROL_POINT_UUID), _SECURE_WRITE | _FLAG_INDICATE),
            (_UUID(protocol.RECORDS_UUID), _FLAG_NOTIFY),
            (_UUID(protocol.STATUS_UUID), _SECURE_READ),
            (_UUID(protocol.SETTINGS_UUID), _SECURE_READ | _SECURE_WRITE),
        ),
    ),
)

MANUFACTURER = "twitchlog"
FIRMWARE_VERSION = "0.3.0"


def advertising_payload():
    """Flags and our 128-bit service UUID: 21 of the 31 bytes, so scanners can filter on it."""
    out = bytearray(b"\x02\x01\x06")  # LE General Discoverable, BR/EDR not supported
    uuid = bytes(reversed(binascii.unhexlify(protocol.SERVICE_UUID.replace("-", ""))))  # little-endian
    out += bytes((len(uuid) + 1, 0x07)) + uuid  # complete list of 128-bit UUIDs
    return bytes(out)


def scan_response(name):
    """The complete local name (it does not fit beside the UUID in the advertisement)."""
    encoded = name.encode()[:29]
    return bytes((len(encoded) + 1, 0x09)) + encoded


class _Conn:
    def __init__(self):
        self.encrypted = False
        self.bonded = False
        self.mtu = 23


def _settings_ok(value):
    try:
        protocol.unpack_settings(value)
    except protocol.ProtocolError:
        return False
    return True


class GattServer:
    def __init__(self, device, ble=None):
        """device: the app's state (board, log, clock, bonds, settings, name)."""
        self.ble = ble = bluetooth.BLE() if ble is None else ble
        self.dev = device
        self.conns = {}
        self.pairing = False
        self.advertising = False
        self.events = []  # (name, detail) for the app: connected, paired, ...
        self.wakeup = None  # the app's ThreadSafeFlag: set with every event, so no event waits for a poll
        self._queue = []  # (conn, handle, bytes) writes waiting for serve()
        self._flag = asyncio.ThreadSafeFlag()
        self._indicated = asyncio.ThreadSafeFlag()
        self._indicate_lock = asyncio.Lock()
        self._procedure_conn = None
        self.procedures = racp.RacpProcedures(device.log, self)

        ble.active(True)
        ble.config(gap_name=device.name, mtu=_MTU, bond=False, mitm=False, le_secure=True, io=_IO_NO_INPUT_OUTPUT)
        ble.irq(self._irq)
        handles = ble.gatts_register_services(_SERVICES)
        dis, bas, cts, log = handles
        self.h_battery = bas[0]
        self.h_time, h_local_time = cts
        self.h_control, self.h_records, self.h_status, self.h_settings = log
        self._secure_reads = (self.h_status, self.h_settings)
        self._secure_writes = (self.h_control, self.h_settings, self.h_time)
        for handle, text in zip(dis, (MANUFACTURER, device.model, FIRMWARE_VERSION, device.serial)):
            ble.gatts_write(handle, text.encode())
        ble.gatts_write(h_local_time, protocol.LOCAL_TIME_INFO_UTC)
        for handle in self._secure_writes:
            ble.gatts_set_buffer(handle, _WRITE_BUFFER)
        ble.gatts_write(self.h_settings, protocol.pack_settings(device.settings))

    # ------------------------------------------------------------ advertising
    def advertise(self, on, pairing=False):
        self.pairing = on and pairing
        self.ble.config(bond=self.pairing)
        if on:
            self.ble.gap_advertise(_ADV_INTERVAL_US, advertising_payload(), resp_data=scan_response(self.dev.name))
        else:
            self.ble.gap_advertise(None)  # pyright: ignore  # stub says int; None stops (MicroPython docs)
        self.advertising = on

    def stop(self):
        if self.advertising:
            self.advertise(False)
        for conn in list(self.conns):
            self.ble.gap_disconnect(conn)
        self.procedures.request_abort()

    # ------------------------------------------------------------ IRQ
    def _note(self, event):
        self.events.append(event)
        if self.wakeup is not None:
            self.wakeup.set()

    def _irq(self, event, data):
        if event == _IRQ_GATTS_READ_REQUEST:
            return self._on_read(data[0], data[1])
        if event == _IRQ_GET_SECRET:
            sec_type, index, key = data
            return self.dev.bonds.get(sec_type, index, None if key is None else bytes(key))
        if event == _IRQ_SET_SECRET:
            sec_type, key, value = data
            if value is not None and sec_type in (_SEC_OUR, _SEC_PEER) and not self.pairing:
                return False  # a new bond only in pairing mode
            return self.dev.bonds.set(sec_type, bytes(key), None if value is None else bytes(value))
        if event == _IRQ_CENTRAL_CONNECT:
            self.conns[data[0]] = _Conn()
            self.advertising = False  # the stack stops advertising on connect
            self._note(("connected", data[0]))
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conns.pop(data[0], None)
            if data[0] == self._procedure_conn:
                self.procedures.request_abort()
            self._note(("disconnected", data[0]))
        elif event == _IRQ_GATTS_WRITE:
            self._on_write(data[0], data[1])
        elif event == _IRQ_GATTS_INDICATE_DONE:
            self._indicated.set()
        elif event == _IRQ_MTU_EXCHANGED:
            conn = self.conns.get(data[0])
            if conn is not None:
                conn.mtu = data[1]
        elif event == _IRQ_ENCRYPTION_UPDATE:
            conn = self.conns.get(data[0])
            if conn is not None:
                conn.encrypted = bool(data[1])
                conn.bonded = bool(data[1]) and bool(data[3])
                self._note(("bonded" if conn.bonded else "unbonded", data[0]))
        self._flag.set()

    def _trusted(self, conn_handle):
        conn = self.conns.get(conn_handle)
        return conn is not None and conn.encrypted and conn.bonded

    def _on_read(self, conn_handle, handle):
        if handle in self._secure_reads and not self._trusted(conn_handle):
            conn = self.conns.get(conn_handle)
            encrypted = conn is not None and conn.encrypted
            return _ERR_INSUFFICIENT_AUTHENTICATION if encrypted else _ERR_INSUFFICIENT_ENCRYPTION
        dev = self.dev
        if handle == self.h_status:
            self.ble.gatts_write(handle, dev.status())
        elif handle == self.h_time:
            self.ble.gatts_write(handle, protocol.pack_current_time(dev.clock.now()))
        elif handle == self.h_battery:
            self.ble.gatts_write(handle, bytes((dev.board.battery_percent(),)))
        return 0

    def _on_write(self, conn_handle, handle):
        value = self.ble.gatts_read(handle)
        if handle in self._secure_writes and not self._trusted(conn_handle):
            self._restore(handle)
            return
        if handle == self.h_control and len(value) >= 1 and value[0] == protocol.OP_ABORT:
            self.procedures.request_abort()
        queued = len(self._queue) < _QUEUE_MAX
        if queued:
            self._queue.append((conn_handle, handle, value))
        elif handle == self.h_control:
            self._note(("dropped", conn_handle))
        if queued and handle == self.h_settings and _settings_ok(value):
            # NimBLE answers the write as soon as this returns, and a client may
            # read back before serve() saves: show the new settings already.
            return
        self._restore(handle)

    def _restore(self, handle):
        """Put back the value in force, so a read never shows a refused write."""
        if handle == self.h_settings:
            self.ble.gatts_write(handle, protocol.pack_settings(self.dev.settings))
        elif handle == self.h_time:
            self.ble.gatts_write(handle, protocol.pack_current_time(self.dev.clock.now()))
        else:
            self.ble.gatts_write(handle, b"")

    # ------------------------------------------------------------ work
    async def serve(self):
        """Run queued writes and refuse unbonded links.  Runs until cancelled."""
        while True:
            await self._flag.wait()
            for conn_handle, conn in list(self.conns.items()):
                if conn.encrypted and not conn.bonded:
                    # Paired outside pairing mode: no bond, no service.
                    self.ble.gap_disconnect(conn_handle)
                    conn.encrypted = False
            while self._queue:
                conn_handle, handle, value = self._queue.pop(0)
                try:
                    if handle == self.h_control:
                        if conn_handle in self.conns:  # else nobody is left to answer
                            await self._control(conn_handle, value)
                    elif handle == self.h_time:
                        self._set_time(value)
                    elif handle == self.h_settings:
                        self._set_settings(value)
                except MemoryError:
                    # A burst of writes outran the heap (the app's modules fill most
                    # of it): this request is lost, the server must not be.
                    gc.collect()
                    self._note(("dropped", conn_handle))

    async def _control(self, conn_handle, value):
        op = value[0] if value else 0
        if self.procedures.busy and op == protocol.OP_ABORT:
            # The IRQ already flagged the abort; answer once the report has stopped.
            waited = 0
            while self.procedures.busy and waited < _INDICATE_TIMEOUT_MS:
                await asyncio.sleep_ms(5)
                waited += 5
        elif self.procedures.busy:
            # MicroPython cannot fail the write with ATT 0x80 (procedure already
            # in progress), so the refusal comes as a RACP response instead.
            await self.indicate(protocol.racp_response_code(op, protocol.RSP_NOT_COMPLETED), conn_handle)
            return
        self._procedure_conn = conn_handle
        asyncio.create_task(self.procedures.run(value))
        await asyncio.sleep_ms(0)  # let it start, so busy is set before the next write

    def _set_time(self, value):
        try:
            new_time = protocol.unpack_current_time(value)[0]
        except protocol.ProtocolError:
            return  # the old time was put back; nothing changes
        if self.dev.clock.set(new_time):
            self._note(("time_set", new_time))
            self.dev.remember_clock()

    def _set_settings(self, value):
        try:
            settings = protocol.unpack_settings(value)
        except protocol.ProtocolError:
            return
        self.dev.save_settings(settings)
        self.ble.gatts_write(self.h_settings, protocol.pack_settings(settings))

    # ------------------------------------------------------------ link for racp
    def payload(self):
        conn = self.conns.get(self._procedure_conn)
        return (conn.mtu if conn is not None else 23) - 3

    async def notify(self, data):
        """One Records notification, waiting while the stack's buffers are full."""
        waited = 0
        while True:
            if self._procedure_conn not in self.conns:
                raise OSError(_ENOMEM)
            try:
                # The stub drops conn_handle; the real signature is (conn, handle, data=None).
                self.ble.gatts_notify(self._procedure_conn, self.h_records, data)  # pyright: ignore
                return
            except OSError as e:
                if e.args[0] != _ENOMEM or waited >= _NOTIFY_TIMEOUT_MS:
                    raise
            await asyncio.sleep_ms(2)
            waited += 2

    async def indicate(self, data, conn_handle=None):
        conn_handle = self._procedure_conn if conn_handle is None else conn_handle
        async with self._indicate_lock:
            if conn_handle not in self.conns:
                return
            self._indicated.clear()
            self.ble.gatts_indicate(conn_handle, self.h_control, data)  # pyright: ignore  # stub: (conn, handle) only
            try:
                await asyncio.wait_for_ms(self._indicated.wait(), _INDICATE_TIMEOUT_MS)
            except asyncio.TimeoutError:
                pass  # the link is going away; disconnect ends the procedure
