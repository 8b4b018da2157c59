# snmpsim variation module of the lab's printers (lab/mfpsim): values computed when the manager asks.
#
#   OID|67:mfpclock|kind=uptime,base=86400            TimeTicks: base seconds + time since the agent started
#   OID|4x:mfpclock|kind=date,skew=900,utc_offset=540  HOST-RESOURCES-MIB DateAndTime (11 octets, with the UTC
#                                                       offset): now + skew seconds, in the device's zone
#
# snmpsim exec()s this file with `moduleContext`, `recordContext` and `agentContext` in its globals.
import datetime
import time

from pysnmp.proto import rfc1902

STARTED = time.time()


def init(**context):
    pass


def _settings(value):
    if "settings" not in recordContext:  # noqa: F821 (snmpsim's global)
        recordContext["settings"] = dict(x.split("=", 1) for x in value.split(",") if "=" in x)  # noqa: F821
    return recordContext["settings"]  # noqa: F821


def date_and_time(now, utc_offset_minutes):
    """DateAndTime (RFC 2579): year(2) month day hour minutes seconds deci-seconds direction hours minutes."""
    tz = datetime.timezone(datetime.timedelta(minutes=utc_offset_minutes))
    t = datetime.datetime.fromtimestamp(now, tz)
    sign = b"+" if utc_offset_minutes >= 0 else b"-"
    off = abs(utc_offset_minutes)
    return (t.year.to_bytes(2, "big") + bytes([t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 100000])
            + sign + bytes([off // 60, off % 60]))


def variate(oid, tag, value, **context):
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    if context["setFlag"]:
        return context["origOid"], tag, context["errorStatus"]
    settings = _settings(value)
    if settings.get("kind") == "date":
        data = date_and_time(time.time() + int(settings.get("skew", "0")), int(settings.get("utc_offset", "0")))
        return oid, tag, rfc1902.OctetString(data)
    ticks = int((int(settings.get("base", "0")) + time.time() - STARTED) * 100) % (2 ** 32)
    return oid, tag, rfc1902.TimeTicks(ticks)


def shutdown(**context):
    pass
