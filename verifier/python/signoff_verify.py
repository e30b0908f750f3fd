#!/usr/bin/env python3
"""An independent verifier of Signoff audit records.

Written from docs/audit.md ("Verifying a record", "The record format",
"The transparency log"), with the Python standard library and PyNaCl
(Debian: python3-nacl) for Ed25519. It shares no code with Signoff.

    signoff_verify.py FILE.json [--key BASE64] [--witness VKEY ...]
    signoff_verify.py --batch [--key BASE64] FILE ...   (one line a file)

Exit status: 0 when every file verifies, 1 when one does not, 2 for a
mistake in the command line.
"""

import base64
import binascii
import datetime
import hashlib
import json
import re
import struct
import sys

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


class Fail(Exception):
    """The record does not verify; the message says why."""


# ---------------------------------------------------------------- JSON

def strict_loads(text):
    """Parse JSON refusing duplicate members, NaN, floats and bad text."""

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise Fail("duplicate member %r" % k)
            obj[k] = v
        return obj

    def no_float(s):
        raise Fail("a number that is not an integer: %s" % s)

    def no_const(s):
        raise Fail("%s is not JSON" % s)

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_float=no_float, parse_constant=no_const)
    except ValueError as e:
        raise Fail("not JSON: %s" % e)


def jcs_str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if 0xD800 <= o <= 0xDFFF:
            raise Fail("a string holds a lone surrogate")
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, "\\u%04x" % o))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jcs(v):
    """RFC 8785 for the values a record holds (no floats)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        if abs(v) >= 2 ** 53:
            raise Fail("an integer beyond 2^53")
        return str(v)
    if isinstance(v, str):
        return jcs_str(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs_str(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise Fail("unexpected value %r" % (v,))


def go_str(s, html=True):
    """A string as Go's encoding/json (v1) writes it (HTML escaping on
    unless html is false)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if 0xD800 <= o <= 0xDFFF:
            raise Fail("a string holds a lone surrogate")
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, "\\u%04x" % o))
        elif html and ch in "<>&" or o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_value(v, html=True, indent=None, level=0):
    """Go's encoding/json for a value whose dicts are in the order to write."""
    s = go_str if html else go_str_nohtml
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        return str(v)
    if isinstance(v, str):
        return s(v)
    nl = "" if indent is None else "\n" + indent * (level + 1)
    end = "" if indent is None else "\n" + indent * level
    sep = ":" if indent is None else ": "
    if isinstance(v, list):
        if not v:
            return "[]"
        return "[" + ",".join(nl + go_value(x, html, indent, level + 1) for x in v) + end + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{" + ",".join(nl + s(k) + sep + go_value(x, html, indent, level + 1) for k, x in v.items()) + end + "}"
    raise Fail("unexpected value %r" % (v,))


def go_str_nohtml(s):
    return go_str(s, html=False)


# ------------------------------------------------------------- schemas

# Types: "s" string, "i" integer, "b" boolean, "s?" string or null,
# "i?" integer or null, ("o", SCHEMA) object, ("o?", SCHEMA) object or
# null, ("l", T) list (null reads as empty), "ls" list of strings.
PERSON = [("id", "i"), ("name", "s")]
ACTOR = [("id", "i"), ("name", "s"), ("via", "s")]
DEPLOYMENT = [("id", "i"), ("service", "s"), ("environment", "s"), ("version", "s"), ("status", "s"),
              ("planned_at", "s?"), ("created_at", "s"), ("created_by", ("o", PERSON)), ("went_live_at", "s?"),
              ("completed_at", "s?"), ("aborted_at", "s?"), ("locked_at", "s?"), ("checklist_rev", "i")]
TEMPLATE = [("slug", "s"), ("title", "s"), ("version", "i")]
ITEM_CHANGE = [("seq", "i"), ("at", "s"), ("actor", ("o", PERSON)), ("state", "s"), ("na_reason", "s")]
ITEM = [("path", "s"), ("parent", "s"), ("phase", "s"), ("section", "s"), ("level", "i"), ("text", "s"),
        ("conditional", "b"), ("has_children", "b"), ("state", "s"), ("effective", "s"), ("na_reason", "s"),
        ("state_by", ("o?", PERSON)), ("state_at", "s?"), ("evidence", "s"), ("history", ("l", ("o", ITEM_CHANGE)))]
NOTE_CHANGE = [("seq", "i"), ("at", "s"), ("actor", ("o", PERSON)), ("value", "s")]
NOTE = [("position", "i"), ("name", "s"), ("value", "s"), ("updated_by", ("o?", PERSON)), ("updated_at", "s?"),
        ("history", ("l", ("o", NOTE_CHANGE)))]
SLOT = [("position", "i"), ("group", "s"), ("role", "s"), ("final", "b"), ("state", "s"), ("signoff_seq", "i?")]
SIGNOFF = [("slot", "i"), ("role", "s"), ("signer_id", "i"), ("printed_name", "s"), ("signed_at", "s"),
           ("meaning", "s"), ("checklist_sha256", "s"), ("checklist_rev", "i"), ("multiple_slots_allowed", "b"),
           ("audit_seq", "i"), ("status", "s"), ("ended_at", "s?"), ("ended_by", ("o?", PERSON)), ("end_reason", "s")]
COMMENT = [("item", "s"), ("at", "s"), ("author", ("o", PERSON)), ("body", "s")]
REJECTION = [("slot", "i"), ("role", "s"), ("user_id", "i"), ("printed_name", "s"), ("comment", "s"), ("at", "s"),
             ("audit_seq", "i"), ("status", "s"), ("ended_at", "s?")]
EVENT = [("seq", "i"), ("at", "s"), ("actor", ("o", ACTOR)), ("action", "s"), ("target", "s"), ("payload", "s"),
         ("prev_sha256", "s"), ("sha256", "s")]
LOG = [("checkpoint", "s"), ("leaf_index", "i"), ("inclusion_proof", ("l", "s")), ("chain_index", "i"),
       ("chain_proof", ("l", "s"))]
CHECKPOINT = [("deployment_id", "i"), ("event_count", "i"), ("head_sha256", "s"), ("record_sha256", "s"),
              ("signed_at", "s"), ("algorithm", "s"), ("public_key", "s"), ("key_fingerprint", "s"), ("signature", "s")]
DOCUMENT = [("format", "s"), ("version", "i"), ("exported_at", "s"), ("deployment", ("o", DEPLOYMENT)),
            ("template", ("o", TEMPLATE)), ("items", ("l", ("o", ITEM))), ("notes", ("l", ("o", NOTE))),
            ("slots", ("l", ("o", SLOT))), ("signoffs", ("l", ("o", SIGNOFF))), ("comments", ("l", ("o", COMMENT))),
            ("rejections", ("l", ("o", REJECTION))), ("events", ("l", ("o", EVENT))), ("log", ("o?", LOG)), ("checkpoint", ("o?", CHECKPOINT))]
OPTIONAL_MEMBERS = {"log", "checkpoint", "rejections"}  # may be absent (and then are null)


def check_type(where, v, t):
    if t == "s" and isinstance(v, str) or t == "i" and type(v) is int or t == "b" and isinstance(v, bool):
        return v
    if t in ("s?", "i?") and v is None:
        return v
    if t == "s?" and isinstance(v, str) or t == "i?" and type(v) is int:
        return v
    if isinstance(t, tuple):
        kind, inner = t
        if kind == "o?" and v is None:
            return v
        if kind in ("o", "o?"):
            return check_object(where, v, inner)
        if kind == "l":
            if v is None:
                return v
            if not isinstance(v, list):
                raise Fail("%s is not a list" % where)
            return [check_type("%s[%d]" % (where, i), x, inner) for i, x in enumerate(v)]
    raise Fail("%s is not of its type" % where)


def check_object(where, v, schema):
    if not isinstance(v, dict):
        raise Fail("%s is not an object" % where)
    names = [n for n, _ in schema]
    for k in v:
        if k not in names:
            raise Fail("%s has an unknown member %r" % (where, k))
    for n, t in schema:
        if n not in v:
            if n in OPTIONAL_MEMBERS and schema is DOCUMENT:
                continue
            raise Fail("%s lacks member %r" % (where, n))
        check_type(where + "." + n, v[n], t)
    return v


def go_document(doc):
    """A version 1 file as Signoff wrote it: members in schema order."""

    def order(v, t):
        if isinstance(t, tuple):
            kind, inner = t
            if v is None:
                return None
            if kind in ("o", "o?"):
                return {n: order(v[n], tt) for n, tt in inner if n in v and not (n in OPTIONAL_MEMBERS and inner is DOCUMENT and v[n] is None)}
            if kind == "l":
                return [order(x, inner) for x in v]
        return v

    return go_value(order(doc, ("o", DOCUMENT)), html=False, indent="  ") + "\n"


# ------------------------------------------------------------ payloads

S, I, B, LS, LI = "s", "i", "b", "ls", "li"
# How a signer proved it was them (absent from signatures given before it
# was recorded); a tuple type is a nested object read the same way.
SIGNED_WITH = ("o", [("auth_time", S, True), ("credential", S, True), ("issuer", S, True), ("method", S, False)])
# Per action: (before, after); each a list of (key, type, omitempty), in
# the order Signoff writes them; None: the side is never there; a leading
# "?" on the side: it may be absent.
ITEM_STATE = [("state", S, False), ("na_reason", S, False), ("items", LS, True)]
PAYLOADS = {
    "deployment.create": (None, [("environment", S, False), ("gates", LI, True), ("items", LS, False), ("notes", LS, False),
                                 ("planned_at", S, True), ("service", S, False), ("slots", LS, False),
                                 ("template", S, False), ("template_title", S, False),
                                 ("template_version", I, False), ("version", S, False)]),
    "deployment.status": ([("status", S, False)], [("reason", S, True), ("status", S, False)]),
    "item.state": (ITEM_STATE, ITEM_STATE),
    "item.comment": (None, [("body", S, False), ("comment", I, False), ("content_type", S, True), ("file", I, True),
                            ("name", S, True), ("sha256", S, True), ("size", I, True)]),
    "item.file": (None, [("content_type", S, False), ("file", I, False), ("name", S, False), ("sha256", S, False),
                         ("size", I, False)]),
    "item.assign": (None, [("items", LS, True), ("name", S, True), ("role", I, True), ("user", I, True)]),
    "item.evidence": ([("evidence", S, False)], [("evidence", S, False)]),
    "note.edit": ([("name", S, False), ("value", S, False)], [("name", S, False), ("value", S, False)]),
    "signoff.sign": ("?", [("checklist_rev", I, False), ("checklist_sha256", S, False), ("locked", B, True),
                           ("meaning", S, False), ("multiple_slots_allowed", B, True), ("printed_name", S, False),
                           ("role", S, False), ("signed_with", SIGNED_WITH, True), ("signer_id", I, False),
                           ("slot", I, False), ("status", S, True)]),
    "signoff.revoke": ([("printed_name", S, False), ("role", S, False), ("signature", I, False)],
                       [("reason", S, False), ("revoked", B, False)]),
    "signoff.reject": (None, [("comment", S, False), ("printed_name", S, False), ("role", S, False), ("user_id", I, False)]),
    "signoff.withdraw": ([("comment", S, False), ("printed_name", S, False), ("rejected_seq", I, False)],
                         [("withdrawn", B, False)]),
}
SIGN_BEFORE = [("printed_name", S, False), ("signature", I, False), ("signer_id", I, False), ("state", S, False)]
TARGETS = {"deployment.create": "deployment", "deployment.status": "deployment", "item.state": "item",
           "item.comment": "item", "item.evidence": "item", "item.file": "item", "item.assign": ("item", "section"),
           "note.edit": "note", "signoff.sign": "slot", "signoff.revoke": "slot", "signoff.reject": "slot",
           "signoff.withdraw": "slot"}
ENVELOPE = ["v", "chain", "seq", "at", "actor", "action", "target", "before", "after"]
NUMBER = re.compile(r"^[1-9][0-9]*$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_FILE_BYTES = 5 << 20  # signoff.MaxFileBytes


def raise_fail(msg):
    raise Fail(msg)


def read_side(where, v, fields):
    if not isinstance(v, dict):
        raise Fail("%s is not an object" % where)
    names = [k for k, _, _ in fields]
    for k in v:
        if k not in names:
            raise Fail("%s has an unknown member %r" % (where, k))
    out = {}
    for k, t, omitempty in fields:
        if k not in v:
            if not omitempty:
                raise Fail("%s lacks %r" % (where, k))
            out[k] = None
            continue
        x = v[k]
        if isinstance(t, tuple):
            out[k] = read_side("%s.%s" % (where, k), x, t[1])
            continue
        ok = (t == S and isinstance(x, str) or t == I and type(x) is int or t == B and isinstance(x, bool)
              or t == LS and (x is None and not omitempty or isinstance(x, list) and all(isinstance(e, str) for e in x))
              or t == LI and isinstance(x, list) and all(type(e) is int for e in x))
        if not ok:
            raise Fail("%s.%s is not of its type" % (where, k))
        if omitempty and (x in ("", 0, False, None) and type(x) is not int or type(x) is int and x == 0 or x == []):
            raise Fail("%s.%s is written though empty" % (where, k))
        out[k] = x
    return out


def write_side(side, fields):
    return {k: write_side(side[k], t[1]) if isinstance(t, tuple) else side[k]
            for k, t, omit in fields if not (omit and side[k] is None)}


def parse_target(action, target):
    kind, sep, rest = target.partition("/")
    kinds = TARGETS[action] if isinstance(TARGETS[action], tuple) else (TARGETS[action],)
    if not sep or kind not in kinds:
        raise Fail("%s target %r is not a %s" % (action, target, " or ".join(kinds)))
    if kind == "section":
        parts = rest.split(".")
        if len(parts) != 2 or not all(NUMBER.match(p) for p in parts):
            raise Fail("section path %r" % rest)
        return ("section", rest)
    if kind == "item":
        parts = rest.split(".")
        if not 3 <= len(parts) <= 5 or not all(NUMBER.match(p) for p in parts):
            raise Fail("item path %r" % rest)
        return rest
    if not NUMBER.match(rest):
        raise Fail("target %r" % target)
    return int(rest)


def read_payload(text):
    """A payload read strictly: exactly the bytes Signoff writes for it."""
    p = strict_loads(text)
    if not isinstance(p, dict):
        raise Fail("the payload is not an object")
    for k in p:
        if k not in ENVELOPE:
            raise Fail("the payload has an unknown member %r" % k)
    for k in ENVELOPE[:6]:
        if k not in p:
            raise Fail("the payload lacks %r" % k)
    action = p["action"]
    if action not in PAYLOADS:
        raise Fail("a %r event has no place in a deployment's chain" % action)
    if type(p["v"]) is not int or not isinstance(p["chain"], str) or type(p["seq"]) is not int or not isinstance(p["at"], str):
        raise Fail("payload envelope types")
    actor = read_side("actor", p["actor"], [("id", I, False), ("name", S, False), ("via", S, False)])
    target = p.get("target", "")
    if not isinstance(target, str):
        raise Fail("target is not a string")
    before_f, after_f = PAYLOADS[action]
    if before_f == "?":
        before_f = SIGN_BEFORE if "before" in p else None
    for side, fields in (("before", before_f), ("after", after_f)):
        if fields is None and side in p:
            raise Fail("a %s event has no %s" % (action, side))
        if fields is not None and side not in p:
            raise Fail("a %s event has a %s" % (action, side))
    before = read_side("before", p["before"], before_f) if before_f else None
    after = read_side("after", p["after"], after_f)
    out = {"v": p["v"], "chain": p["chain"], "seq": p["seq"], "at": p["at"],
           "actor": {"id": actor["id"], "name": actor["name"], "via": actor["via"]}, "action": action}
    if target != "":
        out["target"] = target
    if before is not None:
        out["before"] = write_side(before, before_f)
    out["after"] = write_side(after, after_f)
    if go_value(out) != text:
        raise Fail("a %s payload is not as Signoff writes it" % action)
    return {"v": p["v"], "chain": p["chain"], "seq": p["seq"], "at": p["at"], "actor": actor, "action": action,
            "target": parse_target(action, target), "target_text": target, "before": before, "after": after}


# ---------------------------------------------------------------- time

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def event_time(s):
    if not TIME.match(s):
        raise Fail("time %r is not UTC with microseconds" % s)
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def planned(s):
    m = RFC3339.match(s)
    if not m:
        raise Fail("planned_at %r is not RFC 3339" % s)
    y, mo, d, h, mi, se, frac, zone = m.groups()
    t = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(se),
                          int(((frac or ".0")[1:] + "000000")[:6]), datetime.timezone.utc)
    if zone not in "Zz":
        sign = 1 if zone[0] == "+" else -1
        t -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -------------------------------------------------------------- replay

MOVES = {"draft": ("in_progress", "live", "aborted"), "in_progress": ("live", "aborted"), "live": ("aborted",)}


class Replay:
    """The record as the events make it (docs/audit.md, step 3)."""

    def __init__(self, dep_id, ev):
        if ev["action"] != "deployment.create":
            raise Fail("event 1: the first event is %s, not deployment.create" % ev["action"])
        a = ev["after"]
        self.dep_id, self.create = dep_id, a
        self.status, self.rev, self.closed = "draft", 0, None
        self.created_at, self.created_by = ev["at"], {"id": ev["actor"]["id"], "name": ev["actor"]["name"]}
        self.planned_at = planned(a["planned_at"]) if a["planned_at"] is not None else None
        self.went_live_at = self.completed_at = self.aborted_at = self.locked_at = None
        self.items, self.index = [], {}
        for p in a["items"] or []:
            if p in self.index:
                raise Fail("event 1: item %s is listed twice" % p)
            parts = p.split(".")
            if not 3 <= len(parts) <= 5 or not all(NUMBER.match(x) for x in parts):
                raise Fail("event 1: item path %r" % p)
            self.index[p] = len(self.items)
            self.items.append({"path": p, "parent": ".".join(parts[:-1]) if len(parts) > 3 else "",
                               "level": len(parts) - 2, "has_children": False, "state": "open", "na_reason": "",
                               "state_by": None, "state_at": None, "evidence": "", "history": []})
        for it in self.items:
            if it["parent"] in self.index:
                self.items[self.index[it["parent"]]]["has_children"] = True
        self.notes = [{"position": i + 1, "name": n, "value": "", "updated_by": None, "updated_at": None, "history": []}
                      for i, n in enumerate(a["notes"] or [])]
        self.slots = a["slots"] or []
        self.sigs, self.standing, self.comments = [], [None] * len(self.slots), []
        self.rejections, self.rejecting = [], [None] * len(self.slots)
        # A gate's signature attests to the first n items, and goes stale
        # only when one of them changes; changed: per item, the seq of the
        # last event that changed it.
        self.gates, self.changed = a["gates"], [0] * len(self.items)
        if self.gates is not None:
            if len(self.gates) != len(self.slots) or any(g < 0 or g >= len(self.items) for g in self.gates):
                raise Fail("event 1: gates %r for %d slots and %d items" % (self.gates, len(self.slots), len(self.items)))

    @staticmethod
    def who(ev):
        return {"id": ev["actor"]["id"], "name": ev["actor"]["name"]}

    def ref(self, ev):
        return None if ev["actor"]["id"] == 0 else self.who(ev)

    def apply(self, ev):
        if self.closed:
            raise Fail("%s after event %d %s the deployment" % (ev["action"], self.closed[0], self.closed[1]))
        getattr(self, ev["action"].replace(".", "_"))(ev, ev["before"], ev["after"])

    def deployment_create(self, ev, b, a):
        raise Fail("a deployment.create event has no place after the first")

    def deployment_status(self, ev, b, a):
        if b["status"] != self.status:
            raise Fail("deployment.status from %r, but the deployment is %r" % (b["status"], self.status))
        if a["status"] not in MOVES.get(b["status"], ()):
            raise Fail("deployment.status from %r to %r" % (b["status"], a["status"]))
        if (a["status"] == "aborted") != (a["reason"] is not None):
            raise Fail("an abort, and only an abort, gives a reason")
        if a["status"] == "live":
            self.went_live_at = ev["at"]
        if a["status"] == "aborted":
            self.aborted_at, self.closed = ev["at"], (ev["seq"], "aborted")
        self.status = a["status"]

    def item_state(self, ev, b, a):
        if a["state"] not in ("open", "done", "na"):
            raise Fail("item.state to %r" % a["state"])
        if (a["state"] == "na") != (a["na_reason"] != ""):
            raise Fail("N/A, and only N/A, needs a reason")
        path = ev["target"]
        if path not in self.index:
            raise Fail("item.state on %s, which the deployment does not have" % path)
        t = self.items[self.index[path]]
        if a["items"] is None:
            if t["has_children"] or b["items"] is not None or (b["state"], b["na_reason"]) != (t["state"], t["na_reason"]):
                raise Fail("item.state on %s: before is not its state" % path)
            if (a["state"], a["na_reason"]) == (t["state"], t["na_reason"]):
                raise Fail("item.state on %s changes nothing" % path)
            leaves = [path]
        else:
            if not t["has_children"] or a["state"] != "na" or b["state"] != "open" or b["na_reason"] != "" or b["items"] is not None:
                raise Fail("item.state on %s lists leaves" % path)
            for p in a["items"]:
                i = self.index.get(p)
                if i is None or not p.startswith(path + ".") or self.items[i]["has_children"] or self.items[i]["state"] != "open":
                    raise Fail("item.state on %s closes %s" % (path, p))
            leaves = a["items"]
        for p in leaves:
            it = self.items[self.index[p]]
            it["state"], it["na_reason"], it["state_by"], it["state_at"] = a["state"], a["na_reason"], self.ref(ev), ev["at"]
            self.changed[self.index[p]] = ev["seq"]
            it["history"].append({"seq": ev["seq"], "at": ev["at"], "actor": self.who(ev), "state": a["state"],
                                  "na_reason": a["na_reason"]})
        self.rev += 1
        if self.status == "draft":
            self.status = "in_progress"

    def item_comment(self, ev, b, a):
        if ev["target"] not in self.index or a["body"] == "":
            raise Fail("item.comment on %s" % ev["target"])
        if any(a[k] is not None for k in ("content_type", "file", "name", "sha256", "size")):
            self.check_file(ev, a)
        self.comments.append({"item": ev["target"], "at": ev["at"], "author": self.who(ev), "body": a["body"]})

    def check_file(self, ev, f):
        if (f["file"] is None or f["file"] <= 0 or not f["name"] or not f["content_type"] or f["size"] is None
                or not 0 < f["size"] <= MAX_FILE_BYTES or f["sha256"] is None or not SHA256_HEX.match(f["sha256"])):
            raise Fail("%s on %s: the file's description" % (ev["action"], ev["target_text"]))

    def item_file(self, ev, b, a):
        if ev["target"] not in self.index:
            raise Fail("item.file on %s" % ev["target"])
        self.check_file(ev, a)

    def item_assign(self, ev, b, a):
        if a["user"] is not None and a["role"] is not None:
            raise Fail("item.assign on %s names a person and a role" % ev["target_text"])
        if (a["user"] is not None or a["role"] is not None) != (a["name"] is not None):
            raise Fail("item.assign on %s: the assignee's name" % ev["target_text"])
        if not isinstance(ev["target"], tuple):
            if ev["target"] not in self.index or a["items"] is not None:
                raise Fail("item.assign on %s" % ev["target_text"])
            return
        section = ev["target"][1]
        last = -1
        for p in a["items"] or raise_fail("item.assign on %s lists no items" % ev["target_text"]):
            i = self.index.get(p)
            if i is None or not p.startswith(section + ".") or i <= last:
                raise Fail("item.assign on %s lists %s" % (ev["target_text"], p))
            last = i

    def item_evidence(self, ev, b, a):
        if ev["target"] not in self.index:
            raise Fail("item.evidence on %s" % ev["target"])
        it = self.items[self.index[ev["target"]]]
        if b["evidence"] != it["evidence"]:
            raise Fail("item.evidence on %s: before is not its evidence" % ev["target"])
        it["evidence"] = a["evidence"]

    def note_edit(self, ev, b, a):
        pos = ev["target"]
        if pos > len(self.notes):
            raise Fail("note.edit on note %d" % pos)
        n = self.notes[pos - 1]
        if b["name"] != n["name"] or a["name"] != n["name"] or b["value"] != n["value"]:
            raise Fail("note.edit on note %d: before is not its value" % pos)
        n["value"], n["updated_by"], n["updated_at"] = a["value"], self.ref(ev), ev["at"]
        n["history"].append({"seq": ev["seq"], "at": ev["at"], "actor": self.who(ev), "value": a["value"]})
        self.rev += 1

    def state_hash(self):
        lines = ["signoff-checklist/v1 deployment=%d\n" % self.dep_id]
        for it in self.items:
            r = it["na_reason"].encode()
            lines.append("item %s %s %d:%s\n" % (it["path"], it["state"], len(r), it["na_reason"]))
        for n in self.notes:
            lines.append("note %d %d:%s\n" % (n["position"], len(n["value"].encode()), n["value"]))
        return hashlib.sha256("".join(lines).encode()).hexdigest()

    def signoff_sign(self, ev, b, a):
        pos = ev["target"]
        if pos > len(self.slots):
            raise Fail("signoff.sign on slot %d" % pos)
        if a["checklist_sha256"] != self.state_hash():
            raise Fail("the sign-off of slot %d claims checklist SHA-256 %s, but the events before it give another"
                       % (a["slot"], a["checklist_sha256"]))
        if a["checklist_rev"] != self.rev or a["slot"] != pos or a["role"] != self.slots[pos - 1]:
            raise Fail("the sign-off of slot %d: revision, slot or role" % pos)
        if a["signer_id"] != ev["actor"]["id"] or a["printed_name"] != ev["actor"]["name"]:
            raise Fail("the sign-off of slot %d names another signer than its actor" % pos)
        if a["meaning"] != "I approve this deployment as %s." % a["role"]:
            raise Fail("the sign-off of slot %d means %r" % (pos, a["meaning"]))
        if ev["actor"]["id"] == 0 or ev["actor"]["via"] != "web":
            raise Fail("the sign-off of slot %d was not given by a person on the web" % pos)
        k = self.standing[pos - 1]
        if k is None:
            if b is not None:
                raise Fail("the sign-off of slot %d replaces nothing" % pos)
        else:
            old = self.sigs[k]["so"]
            if not self.stale(k):
                raise Fail("the sign-off of slot %d is over a standing signature that is not stale" % pos)
            if b is None or b["state"] != "stale" or b["signer_id"] != old["signer_id"] or b["printed_name"] != old["printed_name"]:
                raise Fail("the sign-off of slot %d does not name the stale signature it replaces" % pos)
            old.update(status="superseded", ended_at=ev["at"], ended_by=self.ref(ev), end_reason="superseded")
        j = self.rejecting[pos - 1]
        if j is not None:
            rj = self.rejections[j]
            if rj["user_id"] != a["signer_id"]:
                raise Fail("the sign-off of slot %d is given while %s's request for changes stands" % (pos, rj["printed_name"]))
            rj.update(status="signed", ended_at=ev["at"])
            self.rejecting[pos - 1] = None
        self.standing[pos - 1] = len(self.sigs)
        self.sigs.append({"locked": bool(a["locked"]), "so": {
            "slot": a["slot"], "role": a["role"], "signer_id": a["signer_id"], "printed_name": a["printed_name"],
            "signed_at": ev["at"], "meaning": a["meaning"], "checklist_sha256": a["checklist_sha256"],
            "checklist_rev": a["checklist_rev"], "multiple_slots_allowed": bool(a["multiple_slots_allowed"]),
            "audit_seq": ev["seq"], "status": "standing", "ended_at": None, "ended_by": None, "end_reason": ""}})
        if a["locked"]:
            if a["status"] != "completed":
                raise Fail("the final approval's status is %r" % a["status"])
            self.status, self.completed_at, self.locked_at = "completed", ev["at"], ev["at"]
            self.closed = (ev["seq"], "locked")
        elif a["status"] is not None:
            raise Fail("a sign-off that does not lock gives a status")

    def signoff_revoke(self, ev, b, a):
        pos = ev["target"]
        if pos > len(self.slots) or self.standing[pos - 1] is None:
            raise Fail("signoff.revoke on slot %d, which has no standing signature" % pos)
        old = self.sigs[self.standing[pos - 1]]["so"]
        if b["printed_name"] != old["printed_name"] or b["role"] != old["role"] or a["reason"] == "" or not a["revoked"]:
            raise Fail("signoff.revoke on slot %d" % pos)
        old.update(status="revoked", ended_at=ev["at"], ended_by=self.ref(ev), end_reason=a["reason"])
        self.standing[pos - 1] = None

    def signoff_reject(self, ev, b, a):
        pos = ev["target"]
        if pos > len(self.slots):
            raise Fail("signoff.reject on slot %d" % pos)
        if self.standing[pos - 1] is not None or self.rejecting[pos - 1] is not None:
            raise Fail("signoff.reject on slot %d, which holds a signature or a request for changes" % pos)
        if a["comment"] == "" or a["role"] != self.slots[pos - 1]:
            raise Fail("signoff.reject on slot %d needs a comment and the slot's role" % pos)
        if ev["actor"]["id"] == 0 or a["user_id"] != ev["actor"]["id"] or a["printed_name"] != ev["actor"]["name"]:
            raise Fail("signoff.reject on slot %d names another person than its actor" % pos)
        self.rejecting[pos - 1] = len(self.rejections)
        self.rejections.append({"slot": pos, "role": a["role"], "user_id": a["user_id"], "printed_name": a["printed_name"],
                                "comment": a["comment"], "at": ev["at"], "audit_seq": ev["seq"], "status": "standing",
                                "ended_at": None})

    def signoff_withdraw(self, ev, b, a):
        pos = ev["target"]
        if pos > len(self.slots) or self.rejecting[pos - 1] is None:
            raise Fail("signoff.withdraw on slot %d, which holds no request for changes" % pos)
        rj = self.rejections[self.rejecting[pos - 1]]
        if (b["rejected_seq"] != rj["audit_seq"] or b["comment"] != rj["comment"] or b["printed_name"] != rj["printed_name"]
                or not a["withdrawn"] or ev["actor"]["id"] != rj["user_id"]):
            raise Fail("signoff.withdraw on slot %d does not name the standing request, or not by its maker" % pos)
        rj.update(status="withdrawn", ended_at=ev["at"])
        self.rejecting[pos - 1] = None

    def stale(self, k):
        so = self.sigs[k]["so"]
        n = self.gates[so["slot"] - 1] if self.gates is not None else 0
        if n > 0:
            return any(seq > so["audit_seq"] for seq in self.changed[:n])
        return so["checklist_rev"] < self.rev

    def finish(self):
        for k in self.standing:
            if k is not None and self.stale(k):
                self.sigs[k]["so"]["status"] = "stale"

    def effective(self, it):
        if not it["has_children"]:
            return it["state"]
        all_na = True
        for ch in self.items:
            if ch["parent"] == it["path"]:
                e = self.effective(ch)
                if e == "open":
                    return "open"
                if e == "done":
                    all_na = False
        return "na" if all_na else "done"


def compare(doc, r):
    def eq(field, got, want):
        if got != want:
            raise Fail("%s is %s in the record, but replaying the events gives %s" % (field, json.dumps(got), json.dumps(want)))

    def count(field, got, want):
        if len(got or []) != len(want):
            raise Fail("the record lists %d %s, but replaying the events gives %d" % (len(got or []), field, len(want)))

    d, c = doc["deployment"], r.create
    for k, want in (("service", c["service"]), ("environment", c["environment"]), ("version", c["version"]),
                    ("status", r.status), ("planned_at", r.planned_at), ("created_at", r.created_at),
                    ("created_by", r.created_by), ("went_live_at", r.went_live_at), ("completed_at", r.completed_at),
                    ("aborted_at", r.aborted_at), ("locked_at", r.locked_at), ("checklist_rev", r.rev)):
        eq("deployment." + k, d[k], want)
    eq("template.slug", doc["template"]["slug"], c["template"])
    eq("template.title", doc["template"]["title"], c["template_title"])
    eq("template.version", doc["template"]["version"], c["template_version"])
    count("items", doc["items"], r.items)
    for i, (got, want) in enumerate(zip(doc["items"] or [], r.items)):
        for k in ("path", "parent", "level", "has_children", "state", "na_reason"):
            eq("items[%d].%s" % (i, k), got[k], want[k])
        eq("items[%d].effective" % i, got["effective"], r.effective(want))
        for k in ("state_by", "state_at", "evidence"):
            eq("items[%d].%s" % (i, k), got[k], want[k])
        eq("items[%d].history" % i, got["history"] or [], want["history"])
    count("notes", doc["notes"], r.notes)
    for i, (got, want) in enumerate(zip(doc["notes"] or [], r.notes)):
        for k in ("position", "name", "value", "updated_by", "updated_at"):
            eq("notes[%d].%s" % (i, k), got[k], want[k])
        eq("notes[%d].history" % i, got["history"] or [], want["history"])
    final = {s["so"]["slot"]: s["locked"] for s in r.sigs}
    count("slots", doc["slots"], r.slots)
    for i, got in enumerate(doc["slots"] or []):
        k = r.standing[i]
        state, seq = "unsigned", None
        if k is not None:
            so = r.sigs[k]["so"]
            state, seq = ("stale" if so["status"] == "stale" else "signed"), so["audit_seq"]
        eq("slots[%d].position" % i, got["position"], i + 1)
        eq("slots[%d].role" % i, got["role"], r.slots[i])
        if i + 1 in final:
            eq("slots[%d].final" % i, got["final"], final[i + 1])
        eq("slots[%d].state" % i, got["state"], state)
        eq("slots[%d].signoff_seq" % i, got["signoff_seq"], seq)
    count("sign-offs", doc["signoffs"], [s["so"] for s in r.sigs])
    for i, (got, want) in enumerate(zip(doc["signoffs"] or [], r.sigs)):
        for k, v in want["so"].items():
            eq("signoffs[%d].%s" % (i, k), got[k], v)
    if "rejections" in doc and not doc["rejections"]:
        raise Fail("the record lists rejections as %s: absent, when there are none" % json.dumps(doc["rejections"]))
    count("rejections", doc.get("rejections"), r.rejections)
    for i, (got, want) in enumerate(zip(doc.get("rejections") or [], r.rejections)):
        eq("rejections[%d]" % i, got, want)
    count("comments", doc["comments"], r.comments)
    for i, (got, want) in enumerate(zip(doc["comments"] or [], r.comments)):
        eq("comments[%d]" % i, got, want)


# ---------------------------------------------------------- signatures

def unhex(s, what):
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        raise Fail("%s is not 64 lowercase hex digits" % what)
    return bytes.fromhex(s)


def unb64(s, n, what):
    try:
        b = base64.b64decode(s, validate=True)
    except binascii.Error:
        raise Fail("%s is not base64" % what)
    if len(b) != n or base64.b64encode(b).decode() != s:
        raise Fail("%s is not the base64 of %d bytes" % (what, n))
    return b


def ed25519_ok(pub, msg, sig):
    try:
        VerifyKey(pub).verify(msg, sig)
        return True
    except BadSignatureError:
        return False


def record_digest(doc, text):
    if doc["version"] == 1:
        marker = ',\n  "checkpoint": {'
        if text.count(marker) != 1:
            raise Fail("the file has no single checkpoint member")
        return hashlib.sha256(text[:text.index(marker)].encode()).hexdigest()
    rest = {k: v for k, v in doc.items() if k != "checkpoint"}
    return hashlib.sha256(jcs(rest).encode()).hexdigest()


def check_checkpoint(doc, text, key):
    c = doc["checkpoint"]
    events = doc["events"]
    if c["deployment_id"] != doc["deployment"]["id"] or c["event_count"] != len(events):
        raise Fail("the checkpoint is for another deployment or event count")
    if c["head_sha256"] != events[-1]["sha256"] or c["algorithm"] != "ed25519" or doc["exported_at"] != c["signed_at"]:
        raise Fail("the checkpoint's head, algorithm or time")
    if record_digest(doc, text) != c["record_sha256"]:
        raise Fail("the record hashes to another record_sha256: the file was changed after it was signed")
    pub = unb64(c["public_key"], 32, "public_key")
    fp = "SHA256:" + base64.b64encode(hashlib.sha256(pub).digest()).decode().rstrip("=")
    if fp != c["key_fingerprint"]:
        raise Fail("key_fingerprint is not the public key's")
    if key is not None and key != pub:
        raise Fail("signed by key %s, not by the given key" % fp)
    sig = unb64(c["signature"], 64, "signature")
    msg = ("signoff-checkpoint/v%d\ndeployment %d\nevents %d\nhead %s\nrecord %s\nat %s\n"
           % (doc["version"], c["deployment_id"], c["event_count"], c["head_sha256"], c["record_sha256"], c["signed_at"]))
    if not ed25519_ok(pub, msg.encode(), sig):
        raise Fail("the checkpoint signature does not verify")
    return pub


# ------------------------------------------------------- the tlog part

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_inclusion(proof, size, root, index, leaf):
    """RFC 9162, 2.1.3.2: verify an inclusion proof."""
    if index >= size or index < 0:
        raise Fail("leaf %d is not in a tree of %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Fail("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise Fail("the inclusion proof does not lead to the checkpoint's root")


def key_id(name, alg, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pub).digest()[:4]


def open_note(note, log_name, log_pub, witnesses):
    """c2sp.org/signed-note with the log's Ed25519 key and witnesses'
    c2sp.org/tlog-cosignature keys; returns the checkpoint's lines."""
    if "\n\n" not in note or not note.endswith("\n"):
        raise Fail("the log checkpoint is not a signed note")
    i = note.rindex("\n\n")
    text, sigs = note[:i + 1], note[i + 2:]
    found = {}
    for line in sigs[:-1].split("\n"):
        m = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
        if not m:
            raise Fail("a note signature line is malformed")
        sig = base64.b64decode(m.group(2), validate=True)
        found.setdefault((m.group(1), sig[:4]), sig[4:])
    lines = text.split("\n")[:-1]
    if len(lines) != 4 or lines[0] != log_name:
        raise Fail("the log checkpoint is not %s's checkpoint of four lines" % log_name)
    s = found.get((log_name, key_id(log_name, 1, log_pub)))
    if s is None or not ed25519_ok(log_pub, text.encode(), s):
        raise Fail("the log checkpoint is not signed by the record's key")
    for name, pub in witnesses:
        s = found.get((name, key_id(name, 4, pub)))
        if s is None or len(s) != 72:
            raise Fail("no cosignature of witness %s" % name)
        t = struct.unpack(">Q", s[:8])[0]
        if not ed25519_ok(pub, b"cosignature/v1\ntime %d\n" % t + text.encode(), s[8:]):
            raise Fail("the cosignature of witness %s does not verify" % name)
    return lines


def check_log(doc, pub, witnesses):
    log = doc.get("log")
    if log is None:
        raise Fail("the record has no log member")
    origin = log["checkpoint"].split("\n", 1)[0]
    size_s, root_s, ext = open_note(log["checkpoint"], origin, pub, witnesses)[1:]
    if not NUMBER.match(size_s):
        raise Fail("the checkpoint's size")
    size, root = int(size_s), unb64(root_s, 32, "the checkpoint's root")
    m = re.fullmatch(r"signoff-heads (0|[1-9][0-9]*) (\S+)", ext)
    if not m:
        raise Fail("the checkpoint's chain heads line")
    chains, heads = int(m.group(1)), unb64(m.group(2), 32, "the chain heads root")
    last, dep = doc["events"][-1], doc["deployment"]["id"]
    entry = "deployment/%d %d %s %s\n" % (dep, last["seq"], last["prev_sha256"], last["sha256"])
    check_inclusion([unb64(h, 32, "a proof hash") for h in log["inclusion_proof"] or []], size, root,
                    log["leaf_index"], leaf_hash(entry.encode()))
    head = "deployment/%d %d %s\n" % (dep, last["seq"], last["sha256"])
    try:
        check_inclusion([unb64(h, 32, "a proof hash") for h in log["chain_proof"] or []], chains, heads,
                        log["chain_index"], leaf_hash(head.encode()))
    except Fail as e:
        raise Fail("the log's checkpoint does not have the last event as its chain's head: %s" % e)
    return origin, size


# -------------------------------------------------------------- verify

def verify(data, key=None, witnesses=()):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("the file is not UTF-8")
    doc = check_object("the record", strict_loads(text), DOCUMENT)
    version = doc["version"]
    if doc["format"] != "signoff-audit-record" or version not in (1, 2):
        raise Fail("not a Signoff audit record of version 1 or 2")
    canonical = go_document(doc) if version == 1 else jcs(doc) + "\n"
    if canonical != text:
        raise Fail("the file is not in its canonical form")
    if doc.get("checkpoint") is None:
        raise Fail("the record has no checkpoint")
    if version == 1 and (doc.get("log") is not None or witnesses):
        raise Fail("a version 1 record has no log")
    events = doc["events"] or []
    if not events:
        raise Fail("the record has no events")
    dep = doc["deployment"]["id"]
    prev, last_at, r = bytes(32), None, None
    for i, e in enumerate(events, 1):
        if e["seq"] != i:
            raise Fail("event %d: the %dth event has seq %d" % (i, i, e["seq"]))
        if unhex(e["prev_sha256"], "prev_sha256") != prev:
            raise Fail("event %d: prev_sha256 is not the previous event's sha256" % i)
        h = hashlib.sha256(prev + e["payload"].encode()).digest()
        if unhex(e["sha256"], "sha256") != h:
            raise Fail("event %d: sha256 is not SHA-256(prev_sha256 || payload)" % i)
        try:
            p = read_payload(e["payload"])
        except Fail as f:
            raise Fail("event %d: %s" % (i, f))
        if p["v"] != 1 or p["chain"] != "deployment/%d" % dep or p["seq"] != i:
            raise Fail("event %d: the payload's version, chain or seq" % i)
        a = p["actor"]
        if (p["at"], p["action"], p["target_text"], a["id"], a["name"], a["via"]) != (
                e["at"], e["action"], e["target"], e["actor"]["id"], e["actor"]["name"], e["actor"]["via"]):
            raise Fail("event %d: at, actor, action or target differ from the payload" % i)
        if a["via"] not in ("web", "api", "cli", "system") or a["id"] < 0 or a["name"] == "":
            raise Fail("event %d: the actor" % i)
        at = event_time(p["at"])
        if last_at is not None and at <= last_at:
            raise Fail("event %d: its time is not after the previous event's" % i)
        last_at = at
        try:
            if r is None:
                r = Replay(dep, p)
            else:
                r.apply(p)
        except Fail as f:
            raise Fail("event %d: %s" % (i, f) if not str(f).startswith("event ") else str(f))
        prev = h
    r.finish()
    compare(doc, r)
    pub = check_checkpoint(doc, text, key)
    summary = "OK deployment %d: %d events" % (dep, len(events))
    if version != 1:
        origin, size = check_log(doc, pub, witnesses)
        summary += "; checkpoint %d of log %s" % (size, origin)
        if witnesses:
            summary += ", cosigned by " + ", ".join(n for n, _ in witnesses)
    return summary


def parse_witness(vkey):
    m = re.fullmatch(r"([^+\s]+)\+([0-9a-f]{8})\+(\S+)", vkey.strip())
    if not m:
        raise ValueError("want <name>+<hash>+<base64>")
    raw = base64.b64decode(m.group(3), validate=True)
    if len(raw) != 33 or raw[0] != 4 or key_id(m.group(1), 4, raw[1:]).hex() != m.group(2):
        raise ValueError("not a cosignature/v1 Ed25519 witness key")
    return m.group(1), raw[1:]


def main(argv):
    key, witnesses, files, batch = None, [], [], False
    it = iter(argv)
    try:
        for a in it:
            if a == "--key":
                key = base64.b64decode(next(it), validate=True)
            elif a == "--witness":
                witnesses.append(parse_witness(next(it)))
            elif a == "--batch":
                batch = True
            else:
                files.append(a)
    except (StopIteration, ValueError, binascii.Error) as e:
        print("usage: signoff_verify.py [--batch] FILE... [--key BASE64] [--witness VKEY] (%s)" % e, file=sys.stderr)
        return 2
    if not files or (len(files) > 1 and not batch):
        print("usage: signoff_verify.py [--batch] FILE... [--key BASE64] [--witness VKEY]", file=sys.stderr)
        return 2
    status = 0
    for name in files:
        with open(name, "rb") as f:
            data = f.read()
        try:
            line = verify(data, key, witnesses)
        except Fail as e:
            line, status = "FAILED: %s" % e, 1
        except RecursionError:
            line, status = "FAILED: nested too deeply", 1
        print(("%s: %s" % (name, line)) if batch else line, file=sys.stdout if line.startswith("OK") or batch else sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
