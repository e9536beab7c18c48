#!/usr/bin/python3
# File: test/integration/aws_standin.py
#
# A local stand-in for the AWS endpoints opsgate calls (STS, EC2, Auto Scaling, WAFv2,
# CloudWatch), for the integration tests. Every request's SigV4 signature is verified
# with an implementation independent of opsgate's: Debian's python3-botocore
# (botocore.auth.SigV4Auth). Run it with /usr/bin/python3 (Debian's botocore), never a
# pyenv/venv python:
#
#   /usr/bin/python3 aws_standin.py --state STATE.json --port-file PORT [--record CALLS.jsonl]
#
# It binds 127.0.0.1 on a free port (plain HTTP), writes the port to PORT (tmp + rename)
# and serves until SIGTERM. All services share the port: the service is the one named in
# the SigV4 credential scope (.../REGION/SERVICE/aws4_request).
#
# Control endpoints (no signature):
#   GET  /_standin/calls   every request so far, in order (JSON list of call records)
#   GET  /_standin/state   instances, groups, IP sets, alarms and sessions (no secrets)
#   POST /_standin/inject  {"action": "StopInstances", "code": "RequestLimitExceeded",
#                           "status": 503, "times": 1, "message": "..."}  next N calls of
#                           that action fail with that error (after authentication)
#   POST /_standin/clock   {"offset_seconds": 1200}  shifts the stand-in's clock
#   POST /_standin/reset_calls  forgets the recorded calls
#
# Secrets (secret keys, session tokens, signatures) are never logged nor recorded.
import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import string
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as _xml_escape

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import botocore  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

MAX_BODY = 1 << 20
AMZ_DATE_FMT = "%Y%m%dT%H%M%SZ"

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
ASG_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
CW_NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSIONS = {"2016-11-15": "ec2", "2011-06-15": "sts", "2011-01-01": "autoscaling",
            "2010-08-01": "monitoring"}
IAM_PREFIX = {"ec2": "ec2", "sts": "sts", "autoscaling": "autoscaling", "wafv2": "wafv2",
              "monitoring": "cloudwatch"}
PROTOCOL = {"ec2": "ec2", "sts": "query", "autoscaling": "query", "monitoring": "query",
            "wafv2": "json"}


def x(s):
    return _xml_escape(str(s))


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def amz(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(AMZ_DATE_FMT)


def parse_amz(s):
    try:
        return datetime.datetime.strptime(s, AMZ_DATE_FMT).replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (ValueError, TypeError):
        return None


def rand_upper(n):
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


class AwsError(Exception):
    """An AWS error answer: `code` and `message` in the service's protocol shape."""

    def __init__(self, status, code, message, sender=True):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.sender = sender


def glob_match(pattern, value, ignore_case=False):
    # IAM globs: '*' any run, '?' one character; nothing else is special.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) \
        is not None


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def policy_decision(policy, action, resource):
    """'allow', 'deny' (explicit) or 'implicit' for a session policy document."""
    allowed = False
    for st in as_list(policy.get("Statement")):
        if not isinstance(st, dict):
            continue
        if "Condition" in st:
            # Conditions are not evaluated: such an Allow never matches, such a Deny
            # always does (the conservative reading).
            if st.get("Effect") == "Deny":
                pass
            else:
                continue
        if "Action" in st:
            a_ok = any(glob_match(p, action, True) for p in as_list(st["Action"]))
        elif "NotAction" in st:
            a_ok = not any(glob_match(p, action, True) for p in as_list(st["NotAction"]))
        else:
            a_ok = False
        if "Resource" in st:
            r_ok = any(glob_match(p, resource) for p in as_list(st["Resource"]))
        elif "NotResource" in st:
            r_ok = not any(glob_match(p, resource) for p in as_list(st["NotResource"]))
        else:
            r_ok = False
        if a_ok and r_ok:
            if st.get("Effect") == "Deny":
                return "deny"
            if st.get("Effect") == "Allow":
                allowed = True
    return "allow" if allowed else "implicit"


class Standin:
    def __init__(self, state, record_path):
        self.lock = threading.RLock()
        self.account = str(state.get("account", "111111111111"))
        self.base = {}
        for c in state.get("credentials", []):
            self.base[c["access_key_id"]] = {
                "secret": c["secret_access_key"],
                "arn": c.get("arn", "arn:aws:iam::%s:user/opsgate" % self.account),
            }
        self.roles = list(state.get("roles", []))
        self.instances = []
        for i in state.get("instances", []):
            inst = dict(i)
            inst.setdefault("state", "running")
            inst.setdefault("type", "t3.micro")
            inst.setdefault("region", "us-east-1")
            inst.setdefault("private_ip", "10.0.0.1")
            inst["_polls_left"] = None
            self.instances.append(inst)
        self.groups = []
        for g in state.get("groups", []):
            grp = dict(g)
            grp.setdefault("region", "us-east-1")
            grp.setdefault("instances", [])
            grp["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                         "asg:%s:%s" % (grp["region"], grp["name"])))
            self.groups.append(grp)
        self.ip_sets = []
        for s in state.get("ip_sets", []):
            ip = dict(s)
            ip.setdefault("scope", "REGIONAL")
            ip.setdefault("region", "us-east-1")
            ip.setdefault("version", "IPV4")
            ip.setdefault("addresses", [])
            ip.setdefault("description", "")
            ip["lock_token"] = str(uuid.uuid4())
            self.ip_sets.append(ip)
        self.alarms = [dict(a) for a in state.get("alarms", [])]
        self.transition_polls = int(state.get("transition_polls", 2))
        self.max_skew = int(state.get("max_skew_seconds", 900))
        self.require_policy = bool(state.get("require_session_policy", False))
        self.encoded = {}  # encoded authorization failure message -> its decoded context
        # Optional identity policies of the roles ({role_arn: policy}); a session may do
        # only what both its role's policy (when given) and its session policy allow.
        self.role_policies = dict(state.get("role_policies", {}))
        # Test-only: /_standin/state also lists each issued session's secret key and
        # token, so a test can assert they never appear in opsgate's logs and records.
        self.reveal_secrets = bool(state.get("reveal_session_secrets", False))
        self.sessions = {}
        self.calls = []
        self.injections = []
        self.clock_offset = 0.0
        self.started = time.time()
        self.record_path = record_path
        self.record_lock = threading.Lock()

    def now(self):
        return time.time() + self.clock_offset

    def record(self, rec):
        with self.lock:
            self.calls.append(rec)
        if self.record_path:
            with self.record_lock:
                with open(self.record_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")

    def public_state(self):
        with self.lock:
            def clean(d):
                return {k: v for k, v in d.items() if not k.startswith("_")}
            return {
                "account": self.account,
                "instances": [clean(i) for i in self.instances],
                "groups": [dict(clean(g), arn=self.group_arn(g)) for g in self.groups],
                "ip_sets": [dict(clean(s), arn=self.ipset_arn(s)) for s in self.ip_sets],
                "alarms": [clean(a) for a in self.alarms],
                "sessions": [{"access_key_id": k, "role_arn": s["role_arn"],
                              "session_name": s["session_name"],
                              "source_identity": s["source_identity"], "tags": s["tags"],
                              "policy": s["policy"], "expiration": iso(s["expires"]),
                              **({"secret_access_key": s["secret"],
                                  "session_token": s["token"]} if self.reveal_secrets else {})}
                             for k, s in self.sessions.items()],
                "clock_offset_seconds": self.clock_offset,
            }

    # ---- ARNs ---------------------------------------------------------------------------
    def instance_arn(self, region, iid):
        return "arn:aws:ec2:%s:%s:instance/%s" % (region, self.account, iid)

    def group_arn(self, g):
        return "arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s" % (
            g["region"], self.account, g["uuid"], g["name"])

    def ipset_arn(self, s, region=None):
        if s["scope"] == "CLOUDFRONT":
            return "arn:aws:wafv2:us-east-1:%s:global/ipset/%s/%s" % (
                self.account, s["name"], s["id"])
        return "arn:aws:wafv2:%s:%s:regional/ipset/%s/%s" % (
            region or s["region"], self.account, s["name"], s["id"])


# ---- Request handling ----------------------------------------------------------------------

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
    r"\s*Signature=([0-9a-fA-F]+)\s*$")


class Ctx:
    """What is known about one request, for the call record and the error shape."""

    def __init__(self):
        self.service = None
        self.region = None
        self.action = None
        self.params = None
        self.akid = None
        self.authenticated = False
        self.session = None
        self.principal = None
        self.request_id = str(uuid.uuid4())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-standin"
    sys_version = ""

    def log_message(self, fmt, *args):  # the request line only: never headers
        sys.stderr.write("aws-standin: %s %s\n" % (self.address_string(), fmt % args))

    @property
    def st(self):
        return self.server.standin

    # ---- plumbing ------------------------------------------------------------------------
    def send(self, status, body, content_type, extra_headers=()):
        data = body.encode("utf-8") if isinstance(body, str) else body
        if getattr(self, "_buffering", False):
            # AWS answers are held until the call is recorded, so that a test reading
            # /_standin/calls right after the answer always sees it.
            self._pending = (status, data, content_type, list(extra_headers))
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj, indent=1, sort_keys=True), "application/json")

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise AwsError(411, "MissingContentLength",
                           "Chunked request bodies are not supported; send Content-Length.")
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise AwsError(400, "MalformedInput", "Invalid Content-Length header.")
        if n < 0:
            raise AwsError(400, "MalformedInput", "Invalid Content-Length header.")
        if n > MAX_BODY:
            self.close_connection = True
            raise AwsError(413, "RequestEntityTooLarge",
                           "Request body of %d bytes exceeds the 1 MiB limit." % n)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                raise AwsError(400, "IncompleteBody", "The request body ended early.")
            data += chunk
        return data

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def dispatch(self):
        if self.path.startswith("/_standin/"):
            try:
                self.control()
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                self.send_json(500, {"error": "InternalFailure", "message": str(e)})
            return
        ctx = Ctx()
        status, code = 500, "InternalFailure"
        self._buffering = True
        self._pending = None
        try:
            status, code = self.aws(ctx)
        except AwsError as e:
            status, code = e.status, e.code
            self.send_error_shape(ctx, e)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            e = AwsError(500, "InternalFailure",
                         "The request processing has failed because of an unknown error, "
                         "exception or failure.", sender=False)
            status, code = 500, e.code
            try:
                self.send_error_shape(ctx, e)
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        rec = {
            "service": ctx.service,
            "region": ctx.region,
            "action": ctx.action,
            "params": ctx.params,
            "access_key_id": ctx.akid,
            "authenticated": ctx.authenticated,
            "error": None if status == 200 else code,
            "status": status,
            "request_id": ctx.request_id,
            "session": None if ctx.session is None else {
                "role_arn": ctx.session["role_arn"],
                "session_name": ctx.session["session_name"],
                "source_identity": ctx.session["source_identity"],
                "tags": ctx.session["tags"],
                "policy": ctx.session["policy"],
            },
        }
        try:
            self.st.record(rec)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
        self._buffering = False
        if self._pending is not None:
            self.send(*self._pending)

    def send_error_shape(self, ctx, e):
        proto = PROTOCOL.get(ctx.service or "", "query")
        if proto == "ec2":
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                    "<Code>%s</Code><Message>%s</Message></Error></Errors>"
                    "<RequestID>%s</RequestID></Response>" % (
                        x(e.code), x(e.message), x(ctx.request_id)))
            self.send(e.status, body, "text/xml;charset=UTF-8")
        elif proto == "json":
            body = json.dumps({"__type": e.code, "Message": e.message})
            self.send(e.status, body, "application/x-amz-json-1.1",
                      [("x-amzn-ErrorType", e.code + ":"),
                       ("x-amzn-RequestId", ctx.request_id)])
        else:
            ns = {"sts": STS_NS, "autoscaling": ASG_NS, "monitoring": CW_NS}.get(ctx.service)
            body = ("<ErrorResponse%s><Error><Type>%s</Type><Code>%s</Code>"
                    "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>" % (
                        " xmlns=\"%s\"" % ns if ns else "",
                        "Sender" if e.sender else "Receiver", x(e.code), x(e.message),
                        x(ctx.request_id)))
            self.send(e.status, body, "text/xml")

    # ---- control --------------------------------------------------------------------------
    def control(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            body = self.read_body()
        except AwsError as e:
            self.send_json(e.status, {"error": e.code, "message": e.message})
            return
        st = self.st
        if self.command == "GET" and path == "/_standin/calls":
            with st.lock:
                self.send_json(200, list(st.calls))
            return
        if self.command == "GET" and path == "/_standin/state":
            self.send_json(200, st.public_state())
            return
        if self.command == "POST" and path in ("/_standin/inject", "/_standin/clock"):
            try:
                req = json.loads(body.decode("utf-8") or "{}")
                if not isinstance(req, dict):
                    raise ValueError("expected a JSON object")
            except (ValueError, UnicodeDecodeError) as e:
                self.send_json(400, {"error": "BadRequest", "message": "invalid JSON: %s" % e})
                return
            if path == "/_standin/clock":
                try:
                    off = float(req.get("offset_seconds", 0))
                except (TypeError, ValueError):
                    self.send_json(400, {"error": "BadRequest",
                                         "message": "offset_seconds must be a number"})
                    return
                with st.lock:
                    st.clock_offset = off
                self.send_json(200, {"offset_seconds": off, "now": amz(st.now())})
                return
            if not isinstance(req.get("action"), str) or not isinstance(req.get("code"), str):
                self.send_json(400, {"error": "BadRequest",
                                     "message": "inject needs string 'action' and 'code'"})
                return
            try:
                inj = {"action": req["action"], "code": req["code"],
                       "status": int(req.get("status", 400)), "times": int(req.get("times", 1)),
                       "message": str(req.get("message", "Injected error " + req["code"])),
                       "service": req.get("service")}
            except (TypeError, ValueError):
                self.send_json(400, {"error": "BadRequest",
                                     "message": "status and times must be integers"})
                return
            with st.lock:
                st.injections.append(inj)
            self.send_json(200, inj)
            return
        if self.command == "POST" and path == "/_standin/reset_calls":
            with st.lock:
                st.calls.clear()
            self.send_json(200, {})
            return
        self.send_json(404, {"error": "NotFound", "message": "no control endpoint %s %s" % (
            self.command, path)})

    # ---- AWS --------------------------------------------------------------------------------
    def aws(self, ctx):
        st = self.st
        split = urllib.parse.urlsplit(self.path)
        if split.scheme or split.netloc:  # absolute-form request target
            raw_path = split.path or "/"
            raw_query = split.query
        else:
            raw_path, _, raw_query = self.path.partition("?")
        body = self.read_body()
        auth = self.headers.get("Authorization")
        target = self.headers.get("X-Amz-Target")
        # Service and action, as far as they can be told before authentication.
        m = AUTH_RE.match(auth.strip()) if auth else None
        scope = None
        if m:
            parts = m.group(1).split("/")
            if len(parts) == 5 and parts[4] == "aws4_request":
                scope = parts
                ctx.akid = parts[0]
                ctx.region = parts[2]
                ctx.service = parts[3]
        params = {}
        if ctx.service == "wafv2" or (ctx.service is None and target):
            ctx.service = ctx.service or "wafv2"
            if target:
                ctx.action = target.rpartition(".")[2]
            try:
                params = json.loads(body.decode("utf-8")) if body else {}
            except (ValueError, UnicodeDecodeError):
                ctx.params = None
                if scope is None:
                    self.require_auth(auth, m, scope)
                raise AwsError(400, "SerializationException", "The request body is not valid JSON.")
            ctx.params = params
        else:
            try:
                form = urllib.parse.parse_qsl(raw_query, keep_blank_values=True,
                                              strict_parsing=False)
                ctype = (self.headers.get("Content-Type") or "").lower()
                if body and ("x-www-form-urlencoded" in ctype or not ctype):
                    form += urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                                   strict_parsing=False)
            except UnicodeDecodeError:
                raise AwsError(400, "MalformedQueryString", "The request body is not UTF-8.")
            params = {}
            for k, v in form:
                params.setdefault(k, v)
            ctx.params = params
            ctx.action = params.get("Action")
            if ctx.service is None:
                ctx.service = VERSIONS.get(params.get("Version", ""))
        self.require_auth(auth, m, scope)
        akid, signed_headers, signature = m.group(1).split("/")[0], m.group(2), m.group(3)
        service = ctx.service
        if service not in PROTOCOL:
            ctx.service = None
            raise AwsError(400, "UnknownService",
                           "The credential scope names service '%s'; the stand-in serves "
                           "sts, ec2, autoscaling, wafv2 and monitoring." % service)
        self.authenticate(ctx, akid, scope, signed_headers, signature, raw_path, raw_query, body)
        ctx.authenticated = True
        if not ctx.action:
            if PROTOCOL[service] == "json":
                raise AwsError(400, "UnknownOperationException", "Missing X-Amz-Target.")
            raise AwsError(400, "MissingAction", "The request must contain the parameter Action.")
        # Injected failures (after authentication, as AWS throttles authenticated calls).
        with st.lock:
            for inj in st.injections:
                if inj["times"] > 0 and inj["action"] == ctx.action and (
                        not inj["service"] or inj["service"] == service):
                    inj["times"] -= 1
                    raise AwsError(inj["status"], inj["code"], inj["message"],
                                   sender=inj["status"] < 500)
        handler = SERVICES[service].get(ctx.action)
        if handler is None:
            if PROTOCOL[service] == "json":
                raise AwsError(400, "UnknownOperationException",
                               "Unknown operation %s." % ctx.action)
            raise AwsError(400, "InvalidAction",
                           "The action %s is not valid for this web service." % ctx.action)
        if service != "sts" and ctx.session is None:
            # Long-term keys may only call STS: opsgate must always use a scoped session.
            self.deny(ctx, "%s:%s" % (IAM_PREFIX[service], ctx.action), "*", base=True)
        if service == "ec2" and params.get("Version") not in (None, "2016-11-15"):
            raise AwsError(400, "InvalidParameterValue", "Unsupported Version '%s'." %
                           params.get("Version"))
        status, ctype, out = handler(self, ctx, params)
        self.send(status, out, ctype, [("x-amzn-RequestId", ctx.request_id)])
        return status, None

    def require_auth(self, auth, m, scope):
        if not auth:
            raise AwsError(403, "MissingAuthenticationToken",
                           "Request is missing Authentication Token")
        if m is None:
            raise AwsError(400, "IncompleteSignature",
                           "Authorization header requires 'Credential', 'SignedHeaders' and "
                           "'Signature' in the AWS4-HMAC-SHA256 format.")
        if scope is None:
            raise AwsError(400, "IncompleteSignature",
                           "Credential should be scoped to a valid region and service: "
                           "AKID/DATE/REGION/SERVICE/aws4_request.")

    def token_error(self, ctx, expired=False):
        proto = PROTOCOL.get(ctx.service, "query")
        if expired:
            if proto == "ec2":
                return AwsError(400, "RequestExpired", "Request has expired.")
            if proto == "json":
                return AwsError(400, "ExpiredTokenException",
                                "The security token included in the request is expired")
            return AwsError(403, "ExpiredToken",
                            "The security token included in the request is expired")
        if proto == "ec2":
            return AwsError(401, "AuthFailure",
                            "AWS was not able to validate the provided access credentials")
        if proto == "json":
            return AwsError(400, "UnrecognizedClientException",
                            "The security token included in the request is invalid.")
        return AwsError(403, "InvalidClientTokenId",
                        "The security token included in the request is invalid.")

    def authenticate(self, ctx, akid, scope, signed_headers, signature, raw_path, raw_query, body):
        st = self.st
        with st.lock:
            base = st.base.get(akid)
            session = st.sessions.get(akid)
        token_hdr = self.headers.get_all("X-Amz-Security-Token") or []
        if base is not None:
            secret, token = base["secret"], None
            if token_hdr:
                raise self.token_error(ctx)
            ctx.principal = base["arn"]
        elif session is not None:
            secret, token = session["secret"], session["token"]
            if len(token_hdr) != 1 or not hmac.compare_digest(token_hdr[0].encode(),
                                                              token.encode()):
                raise self.token_error(ctx)
            ctx.session = session
            ctx.principal = session["assumed_arn"]
        else:
            raise self.token_error(ctx)
        # The date: X-Amz-Date (or Date), within max_skew of our clock.
        amz_date = self.headers.get("X-Amz-Date")
        if amz_date is None:
            raise AwsError(400 if PROTOCOL[ctx.service] != "ec2" else 400,
                           "IncompleteSignature" if PROTOCOL[ctx.service] != "ec2"
                           else "MissingParameter",
                           "Authorization header requires existence of either a 'X-Amz-Date' "
                           "or a 'Date' header.")
        req_ts = parse_amz(amz_date.strip())
        if req_ts is None:
            raise AwsError(400, "IncompleteSignature",
                           "Date must be in ISO-8601 'basic format'. Got '%s'." % amz_date[:32])
        if scope[1] != amz_date.strip()[:8]:
            raise AwsError(403, "SignatureDoesNotMatch",
                           "Credential should be scoped to a valid date: the credential scope "
                           "date '%s' does not match X-Amz-Date '%s'." % (scope[1][:16],
                                                                           amz_date.strip()))
        now = st.now()
        window_min = st.max_skew // 60 if st.max_skew % 60 == 0 else st.max_skew / 60.0
        if req_ts < now - st.max_skew:
            msg = "Signature expired: %s is now earlier than %s (%s - %s min.)" % (
                amz(req_ts), amz(now - st.max_skew), amz(now), window_min)
            if PROTOCOL[ctx.service] == "ec2":
                raise AwsError(400, "RequestExpired", "Request has expired. " + msg)
            if PROTOCOL[ctx.service] == "json":
                raise AwsError(400, "InvalidSignatureException", msg)
            raise AwsError(403, "SignatureDoesNotMatch", msg)
        if req_ts > now + st.max_skew:
            msg = "Signature not yet current: %s is still later than %s (%s + %s min.)" % (
                amz(req_ts), amz(now + st.max_skew), amz(now), window_min)
            if PROTOCOL[ctx.service] == "ec2":
                raise AwsError(400, "RequestExpired", "Request has expired. " + msg)
            if PROTOCOL[ctx.service] == "json":
                raise AwsError(400, "InvalidSignatureException", msg)
            raise AwsError(403, "SignatureDoesNotMatch", msg)
        if session is not None and now >= session["expires"]:
            ctx.session = None
            raise self.token_error(ctx, expired=True)
        # Rebuild the request with only the signed headers; botocore recomputes.
        names = signed_headers.split(";")
        lower = [n.lower() for n in names]
        if "host" not in lower:
            raise self.sig_error(ctx, "'Host' must be a signed header.")
        if "x-amz-security-token" in (h.lower() for h, _ in self.headers.items()) and \
                "x-amz-security-token" not in lower:
            # AWS accepts the token outside the signature (post-sts-header-after); fine.
            pass
        host = self.headers.get("Host")
        if not host:
            raise AwsError(400, "MissingHost", "The request has no Host header.")
        url = "http://" + host + raw_path + ("?" + raw_query if raw_query else "")
        req = AWSRequest(method=self.command, url=url, data=body)
        for n in lower:
            values = self.headers.get_all(n)
            if values is None:
                raise self.sig_error(ctx, "Header '%s' is named in SignedHeaders but was not "
                                          "sent." % n)
            for v in values:
                req.headers[n] = v
        req.context["timestamp"] = amz_date.strip()
        signer = SigV4Auth(Credentials(akid, secret, token), ctx.service, ctx.region)
        canonical = signer.canonical_request(req)
        # botocore never signs its blacklist (user-agent, expect, x-amzn-trace-id): a client
        # that does is signing something AWS would still accept, but we cannot reproduce it
        # with botocore, so we say so.
        if signer.signed_headers(signer.headers_to_sign(req)) != ";".join(lower):
            raise self.sig_error(ctx, "SignedHeaders '%s' cannot be reproduced (botocore signs "
                                      "'%s'); headers must be lower-case, sorted, and not in "
                                      "expect/user-agent/x-amzn-trace-id." % (
                                          signed_headers,
                                          signer.signed_headers(signer.headers_to_sign(req))))
        sha_hdr = self.headers.get("X-Amz-Content-Sha256")
        if sha_hdr and sha_hdr != "UNSIGNED-PAYLOAD" and \
                sha_hdr.lower() != hashlib.sha256(body).hexdigest():
            raise AwsError(400, "XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was "
                           "computed.")
        sts_ = signer.string_to_sign(req, canonical)
        expected = signer.signature(sts_, req)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            # The canonical request carries the session token when it is signed: redact it.
            if token:
                canonical = canonical.replace(token, "<redacted>")
            sys.stderr.write("aws-standin: signature mismatch for %s %s (akid %s)\n"
                             "--- canonical request (stand-in) ---\n%s\n"
                             "--- string to sign ---\n%s\n" % (
                                 ctx.service, ctx.action, akid, canonical, sts_))
            raise self.sig_error(ctx, None, canonical, sts_)

    def sig_error(self, ctx, detail, canonical=None, sts_=None):
        msg = ("The request signature we calculated does not match the signature you provided. "
               "Check your AWS Secret Access Key and signing method. Consult the service "
               "documentation for details.")
        if detail:
            msg += " " + detail
        elif canonical is not None:
            msg += ("\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                    "The String-to-Sign should have been\n'%s'\n" % (canonical, sts_))
        return AwsError(403, "SignatureDoesNotMatch", msg)

    # ---- authorization -----------------------------------------------------------------------
    def deny(self, ctx, action, resource, base=False, explicit=False):
        if base:
            why = "because no identity-based policy allows the %s action" % action
        elif explicit:
            why = "with an explicit deny in a session policy"
        else:
            why = "because no session policy allows the %s action" % action
        msg = "User: %s is not authorized to perform: %s on resource: %s %s" % (
            ctx.principal, action, resource, why)
        proto = PROTOCOL[ctx.service]
        if proto == "ec2":
            encoded = base64.b64encode(os.urandom(48)).decode()
            # What sts:DecodeAuthorizationMessage will tell about this refusal.
            with self.st.lock:
                self.st.encoded[encoded] = {
                    "allowed": False, "explicitDeny": bool(explicit),
                    "matchedStatements": {"items": []}, "failures": {"items": []},
                    "context": {"principal": {"arn": ctx.principal}, "action": action,
                                "resource": resource, "conditions": {"items": []}}}
            raise AwsError(403, "UnauthorizedOperation",
                           "You are not authorized to perform this operation. " + msg +
                           ". Encoded authorization failure message: " + encoded)
        if proto == "json":
            raise AwsError(400, "AccessDeniedException", msg)
        raise AwsError(403, "AccessDenied", msg)

    def authorize(self, ctx, action, resources):
        """Raises unless the session policy allows `action` on every resource."""
        s = ctx.session
        if s is None:
            if ctx.service == "sts":
                return
            self.deny(ctx, action, resources[0] if resources else "*", base=True)
        role_policy = self.st.role_policies.get(s["role_arn"])
        if role_policy is not None:
            for r in resources or ["*"]:
                if policy_decision(role_policy, action, r) != "allow":
                    self.deny(ctx, action, r, base=True)
        pol = s["policy"]
        if pol is None:
            if self.st.require_policy:
                self.deny(ctx, action, resources[0] if resources else "*")
            return
        for r in resources or ["*"]:
            d = policy_decision(pol, action, r)
            if d != "allow":
                self.deny(ctx, action, r, explicit=(d == "deny"))


# ---- STS ----------------------------------------------------------------------------------

def sts_assume_role(h, ctx, p):
    st = h.st
    role_arn = p.get("RoleArn")
    name = p.get("RoleSessionName")
    if not role_arn:
        raise AwsError(400, "ValidationError", "1 validation error detected: Value null at "
                       "'roleArn' failed to satisfy constraint: Member must not be null")
    if not name:
        raise AwsError(400, "ValidationError", "1 validation error detected: Value null at "
                       "'roleSessionName' failed to satisfy constraint: Member must not be null")
    if not re.fullmatch(r"[\w+=,.@-]{2,64}", name):
        raise AwsError(400, "ValidationError", "1 validation error detected: Value '%s' at "
                       "'roleSessionName' failed to satisfy constraint: Member must satisfy "
                       "regular expression pattern: [\\w+=,.@-]*" % name[:80])
    try:
        duration = int(p.get("DurationSeconds", "3600"))
    except ValueError:
        raise AwsError(400, "ValidationError", "Invalid DurationSeconds '%s'." %
                       p.get("DurationSeconds", "")[:20])
    if duration < 900:
        raise AwsError(400, "ValidationError", "1 validation error detected: Value '%d' at "
                       "'durationSeconds' failed to satisfy constraint: Member must have value "
                       "greater than or equal to 900" % duration)
    if duration > 43200:
        raise AwsError(400, "ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.")
    if ctx.session is not None and duration > 3600:
        raise AwsError(400, "ValidationError", "The requested DurationSeconds exceeds the 1 "
                       "hour session limit for roles assumed by role chaining.")
    h.authorize(ctx, "sts:AssumeRole", [role_arn])
    if role_arn not in st.roles:
        raise AwsError(403, "AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (ctx.principal, role_arn))
    policy = None
    packed = None
    if "Policy" in p:
        raw = p["Policy"]
        if len(raw) > 2048:
            raise AwsError(400, "PackedPolicyTooLarge",
                           "Packed size of consumed session policies exceeds 100%.")
        try:
            policy = json.loads(raw)
        except ValueError as e:
            raise AwsError(400, "MalformedPolicyDocument",
                           "Syntax errors in policy: %s" % e)
        if not isinstance(policy, dict) or "Statement" not in policy:
            raise AwsError(400, "MalformedPolicyDocument",
                           "Policy document must be a JSON object with a Statement.")
        for stmt in as_list(policy["Statement"]):
            if not isinstance(stmt, dict) or stmt.get("Effect") not in ("Allow", "Deny"):
                raise AwsError(400, "MalformedPolicyDocument",
                               "Each statement needs an Effect of Allow or Deny.")
        packed = max(1, len(json.dumps(policy, separators=(",", ":"))) * 100 // 2048)
    tags = []
    i = 1
    while "Tags.member.%d.Key" % i in p:
        tags.append({"Key": p["Tags.member.%d.Key" % i],
                     "Value": p.get("Tags.member.%d.Value" % i, "")})
        i += 1
    if len(tags) > 50:
        raise AwsError(400, "ValidationError", "Too many session tags (at most 50).")
    source_identity = p.get("SourceIdentity")
    if ctx.session is not None and ctx.session["source_identity"] is not None:
        if source_identity not in (None, ctx.session["source_identity"]):
            raise AwsError(403, "AccessDenied", "SourceIdentity cannot be changed in a role "
                           "chain.")
        source_identity = ctx.session["source_identity"]
    akid = "ASIA" + rand_upper(16)
    secret = base64.b64encode(os.urandom(30)).decode()
    token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(os.urandom(96)).decode()
    expires = int(st.now()) + duration
    role_name = role_arn.rsplit("/", 1)[-1]
    role_id = "AROA" + rand_upper(17)
    assumed_arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (st.account, role_name, name)
    with st.lock:
        st.sessions[akid] = {
            "secret": secret, "token": token, "expires": expires, "role_arn": role_arn,
            "session_name": name, "source_identity": source_identity, "tags": tags,
            "policy": policy, "assumed_arn": assumed_arn,
        }
    out = ["<AssumeRoleResponse xmlns=\"%s\">" % STS_NS, "<AssumeRoleResult>"]
    if source_identity is not None:
        out.append("<SourceIdentity>%s</SourceIdentity>" % x(source_identity))
    out.append("<AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId><Arn>%s</Arn>"
               "</AssumedRoleUser>" % (role_id, x(name), x(assumed_arn)))
    out.append("<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s"
               "</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration>"
               "</Credentials>" % (akid, x(secret), x(token), iso(expires)))
    if packed is not None:
        out.append("<PackedPolicySize>%d</PackedPolicySize>" % packed)
    out.append("</AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId>"
               "</ResponseMetadata></AssumeRoleResponse>" % ctx.request_id)
    return 200, "text/xml", "".join(out)


def sts_get_caller_identity(h, ctx, p):
    st = h.st
    arn = ctx.principal
    uid = ("AIDA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()) if ctx.session is None \
        else "AROA:%s" % ctx.session["session_name"]
    return 200, "text/xml", (
        "<GetCallerIdentityResponse xmlns=\"%s\"><GetCallerIdentityResult><Arn>%s</Arn>"
        "<UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata>"
        "<RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>" % (
            STS_NS, x(arn), x(uid), st.account, ctx.request_id))


def sts_decode_authorization_message(h, ctx, p):
    h.authorize(ctx, "sts:DecodeAuthorizationMessage", ["*"])
    encoded = p.get("EncodedMessage", "")
    with h.st.lock:
        decoded = h.st.encoded.get(encoded)
    if decoded is None:
        raise AwsError(400, "InvalidAuthorizationMessageException",
                       "The authorization message is not valid.")
    return 200, "text/xml", (
        "<DecodeAuthorizationMessageResponse xmlns=\"%s\"><DecodeAuthorizationMessageResult>"
        "<DecodedMessage>%s</DecodedMessage></DecodeAuthorizationMessageResult><ResponseMetadata>"
        "<RequestId>%s</RequestId></ResponseMetadata></DecodeAuthorizationMessageResponse>" % (
            STS_NS, x(json.dumps(decoded)), ctx.request_id))


# ---- EC2 ----------------------------------------------------------------------------------

def numbered(p, prefix):
    """Values of prefix.1, prefix.2, ... (stops at the first gap)."""
    out = []
    i = 1
    while "%s.%d" % (prefix, i) in p:
        out.append(p["%s.%d" % (prefix, i)])
        i += 1
    return out


INSTANCE_ID_RE = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")


def ec2_ids(p, required):
    ids = numbered(p, "InstanceId")
    if required and not ids:
        raise AwsError(400, "MissingParameter",
                       "The request must contain the parameter InstanceId")
    for i in ids:
        if not INSTANCE_ID_RE.match(i):
            raise AwsError(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"" % i[:64])
    return ids


def ec2_find(h, ctx, ids):
    st = h.st
    found = []
    missing = []
    for i in ids:
        inst = next((n for n in st.instances if n["id"] == i and n["region"] == ctx.region), None)
        if inst is None:
            missing.append(i)
        else:
            found.append(inst)
    if missing:
        if len(missing) == 1:
            raise AwsError(400, "InvalidInstanceID.NotFound",
                           "The instance ID '%s' does not exist" % missing[0])
        raise AwsError(400, "InvalidInstanceID.NotFound",
                       "The instance IDs '%s' do not exist" % ", ".join(missing))
    return found


def state_xml(tag, name):
    return "<%s><code>%d</code><name>%s</name></%s>" % (tag, STATE_CODES[name], name, tag)


def ec2_resp(op, ctx, inner):
    return 200, "text/xml;charset=UTF-8", (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\"><requestId>%s"
        "</requestId>%s</%sResponse>" % (op, EC2_NS, ctx.request_id, inner, op))


def ec2_describe_instances(h, ctx, p):
    st = h.st
    ids = ec2_ids(p, False)
    h.authorize(ctx, "ec2:DescribeInstances", ["*"])
    filters = []
    i = 1
    while "Filter.%d.Name" % i in p:
        name = p["Filter.%d.Name" % i]
        values = numbered(p, "Filter.%d.Value" % i)
        if name not in ("tag:Name", "instance-state-name", "instance-id", "instance-type"):
            raise AwsError(400, "InvalidParameterValue", "The filter '%s' is invalid" % name[:64])
        filters.append((name, values))
        i += 1
    max_results = None
    if "MaxResults" in p:
        if ids:
            raise AwsError(400, "InvalidParameterCombination", "The parameter instancesSet "
                           "cannot be used with the parameter maxResults")
        try:
            max_results = int(p["MaxResults"])
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 1000:
            raise AwsError(400, "InvalidParameterValue", "Value ( %s ) for parameter "
                           "maxResults is invalid. Expecting a value greater than 5." %
                           p["MaxResults"][:16])
    offset = 0
    if p.get("NextToken"):
        try:
            tok = json.loads(base64.urlsafe_b64decode(p["NextToken"].encode()).decode())
            offset = int(tok["o"])
            if offset < 0:
                raise ValueError
        except Exception:  # noqa: BLE001
            raise AwsError(400, "InvalidParameterValue", "Invalid value '%s' for NextToken" %
                           p["NextToken"][:64])
    with st.lock:
        if ids:
            selected = ec2_find(h, ctx, ids)
        else:
            selected = [n for n in st.instances if n["region"] == ctx.region]

        def matches(inst):
            for name, values in filters:
                if name == "tag:Name":
                    v = inst.get("name")
                elif name == "instance-state-name":
                    v = inst["state"]
                elif name == "instance-id":
                    v = inst["id"]
                else:
                    v = inst["type"]
                if v is None or not any(glob_match(pat, v) for pat in values):
                    return False
            return True

        selected = [n for n in selected if matches(n)]
        next_token = None
        if max_results is not None:
            page = selected[offset:offset + max_results]
            if offset + max_results < len(selected):
                next_token = base64.urlsafe_b64encode(json.dumps(
                    {"o": offset + max_results}).encode()).decode()
        else:
            page = selected[offset:]
        # Each DescribeInstances of an instance advances its transition.
        for inst in page:
            if inst["_polls_left"] is not None:
                inst["_polls_left"] -= 1
                if inst["_polls_left"] <= 0:
                    inst["state"] = {"stopping": "stopped", "pending": "running",
                                     "shutting-down": "terminated"}.get(inst["state"],
                                                                         inst["state"])
                    inst["_polls_left"] = None
        items = []
        for inst in page:
            tags = ""
            if inst.get("name") is not None:
                tags = "<tagSet><item><key>Name</key><value>%s</value></item></tagSet>" % x(
                    inst["name"])
            public = ("<ipAddress>%s</ipAddress>" % x(inst["public_ip"])
                      if inst.get("public_ip") and inst["state"] == "running" else "")
            items.append(
                "<item><reservationId>r-%s</reservationId><ownerId>%s</ownerId><groupSet/>"
                "<instancesSet><item><instanceId>%s</instanceId><imageId>ami-0123456789abcdef0"
                "</imageId>%s<privateDnsName>ip-%s.%s.compute.internal</privateDnsName>"
                "<instanceType>%s</instanceType><launchTime>%s</launchTime><placement>"
                "<availabilityZone>%sa</availabilityZone><tenancy>default</tenancy></placement>"
                "<privateIpAddress>%s</privateIpAddress>%s%s</item></instancesSet></item>" % (
                    hashlib.sha256(inst["id"].encode()).hexdigest()[:17], st.account,
                    x(inst["id"]), state_xml("instanceState", inst["state"]),
                    x(inst["private_ip"]).replace(".", "-"), x(ctx.region), x(inst["type"]),
                    iso_ms(st.started - 86400), x(ctx.region), x(inst["private_ip"]), public,
                    tags))
    inner = "<reservationSet>%s</reservationSet>" % "".join(items)
    if next_token:
        inner += "<nextToken>%s</nextToken>" % next_token
    return ec2_resp("DescribeInstances", ctx, inner)


def ec2_change_state(op, h, ctx, p):
    st = h.st
    ids = ec2_ids(p, True)
    action = "ec2:" + op
    h.authorize(ctx, action, [st.instance_arn(ctx.region, i) for i in ids])
    with st.lock:
        found = ec2_find(h, ctx, ids)
        changes = []
        for inst in found:
            prev = inst["state"]
            if op == "StopInstances":
                if prev in ("stopped", "stopping"):
                    cur = prev
                elif prev == "running":
                    cur = "stopping"
                else:
                    raise AwsError(400, "IncorrectInstanceState", "The instance '%s' is not in "
                                   "a state from which it can be stopped." % inst["id"])
            else:
                if prev in ("running", "pending"):
                    cur = prev
                elif prev == "stopped":
                    cur = "pending"
                else:
                    raise AwsError(400, "IncorrectInstanceState", "The instance '%s' is not in "
                                   "a state from which it can be started." % inst["id"])
            changes.append((inst, prev, cur))
        for inst, prev, cur in changes:
            if cur != prev:
                inst["state"] = cur
                inst["_polls_left"] = st.transition_polls
                if st.transition_polls <= 0:
                    inst["_polls_left"] = 0
        items = "".join(
            "<item><instanceId>%s</instanceId>%s%s</item>" % (
                x(inst["id"]), state_xml("currentState", cur), state_xml("previousState", prev))
            for inst, prev, cur in changes)
    return ec2_resp(op, ctx, "<instancesSet>%s</instancesSet>" % items)


def ec2_reboot(h, ctx, p):
    st = h.st
    ids = ec2_ids(p, True)
    h.authorize(ctx, "ec2:RebootInstances", [st.instance_arn(ctx.region, i) for i in ids])
    with st.lock:
        for inst in ec2_find(h, ctx, ids):
            if inst["state"] != "running":
                raise AwsError(400, "IncorrectInstanceState",
                               "The instance '%s' is not in the 'running' state." % inst["id"])
    return ec2_resp("RebootInstances", ctx, "<return>true</return>")


def ec2_modify_attribute(h, ctx, p):
    st = h.st
    iid = p.get("InstanceId")
    if not iid:
        raise AwsError(400, "MissingParameter", "The request must contain the parameter "
                       "InstanceId")
    if not INSTANCE_ID_RE.match(iid):
        raise AwsError(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"" % iid[:64])
    new_type = p.get("InstanceType.Value")
    if new_type is None and p.get("Attribute") == "instanceType":
        new_type = p.get("Value")
    if new_type is None:
        raise AwsError(400, "InvalidParameterCombination", "The stand-in supports only "
                       "InstanceType.Value (or Attribute=instanceType&Value=...).")
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[0-9a-z]+", new_type):
        raise AwsError(400, "InvalidInstanceAttributeValue", "Value (%s) for parameter "
                       "instanceType is invalid. Invalid instance type." % new_type[:32])
    h.authorize(ctx, "ec2:ModifyInstanceAttribute", [st.instance_arn(ctx.region, iid)])
    with st.lock:
        inst = ec2_find(h, ctx, [iid])[0]
        if inst["state"] != "stopped":
            raise AwsError(400, "IncorrectInstanceState",
                           "The instance '%s' is not in the 'stopped' state." % iid)
        inst["type"] = new_type
    return ec2_resp("ModifyInstanceAttribute", ctx, "<return>true</return>")


# ---- Auto Scaling ---------------------------------------------------------------------------

def asg_describe(h, ctx, p):
    st = h.st
    h.authorize(ctx, "autoscaling:DescribeAutoScalingGroups", ["*"])
    names = numbered(p, "AutoScalingGroupNames.member")
    try:
        max_records = int(p.get("MaxRecords", "50"))
        offset = int(p["NextToken"]) if p.get("NextToken") else 0
    except ValueError:
        raise AwsError(400, "InvalidNextToken", "The token is invalid.")
    if not 1 <= max_records <= 100:
        raise AwsError(400, "ValidationError", "MaxRecords must be between 1 and 100.")
    with st.lock:
        groups = [g for g in st.groups if g["region"] == ctx.region and
                  (not names or g["name"] in names)]
        page = groups[offset:offset + max_records]
        members = []
        for g in page:
            insts = "".join(
                "<member><InstanceId>%s</InstanceId><AvailabilityZone>%sa</AvailabilityZone>"
                "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"
                "<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>" % (x(i), x(g["region"]))
                for i in g["instances"])
            members.append(
                "<member><AutoScalingGroupName>%s</AutoScalingGroupName><AutoScalingGroupARN>%s"
                "</AutoScalingGroupARN><MinSize>%d</MinSize><MaxSize>%d</MaxSize>"
                "<DesiredCapacity>%d</DesiredCapacity><DefaultCooldown>300</DefaultCooldown>"
                "<AvailabilityZones><member>%sa</member></AvailabilityZones>"
                "<HealthCheckType>EC2</HealthCheckType><HealthCheckGracePeriod>300"
                "</HealthCheckGracePeriod><CreatedTime>%s</CreatedTime><Instances>%s</Instances>"
                "<Tags/></member>" % (
                    x(g["name"]), x(st.group_arn(g)), g["min"], g["max"], g["desired"],
                    x(g["region"]), iso_ms(st.started - 86400), insts))
        token = ("<NextToken>%d</NextToken>" % (offset + max_records)
                 if offset + max_records < len(groups) else "")
    return 200, "text/xml", (
        "<DescribeAutoScalingGroupsResponse xmlns=\"%s\"><DescribeAutoScalingGroupsResult>"
        "<AutoScalingGroups>%s</AutoScalingGroups>%s</DescribeAutoScalingGroupsResult>"
        "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
        "</DescribeAutoScalingGroupsResponse>" % (ASG_NS, "".join(members), token,
                                                   ctx.request_id))


def asg_set_desired(h, ctx, p):
    st = h.st
    name = p.get("AutoScalingGroupName")
    if not name or "DesiredCapacity" not in p:
        raise AwsError(400, "ValidationError", "AutoScalingGroupName and DesiredCapacity are "
                       "required.")
    try:
        desired = int(p["DesiredCapacity"])
    except ValueError:
        raise AwsError(400, "ValidationError", "Invalid DesiredCapacity '%s'." %
                       p["DesiredCapacity"][:16])
    with st.lock:
        g = next((g for g in st.groups if g["name"] == name and g["region"] == ctx.region), None)
    if g is None:
        h.authorize(ctx, "autoscaling:SetDesiredCapacity",
                    ["arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s" % (
                        ctx.region, st.account, name)])
        raise AwsError(400, "ValidationError", "AutoScalingGroup name not found - "
                       "AutoScalingGroup '%s' not found" % name[:255])
    h.authorize(ctx, "autoscaling:SetDesiredCapacity", [st.group_arn(g)])
    with st.lock:
        if desired > g["max"]:
            raise AwsError(400, "ValidationError", "New SetDesiredCapacity value %d is above max "
                           "value %d for the AutoScalingGroup." % (desired, g["max"]))
        if desired < g["min"]:
            raise AwsError(400, "ValidationError", "New SetDesiredCapacity value %d is below min "
                           "value %d for the AutoScalingGroup." % (desired, g["min"]))
        g["desired"] = desired
    return 200, "text/xml", (
        "<SetDesiredCapacityResponse xmlns=\"%s\"><ResponseMetadata><RequestId>%s</RequestId>"
        "</ResponseMetadata></SetDesiredCapacityResponse>" % (ASG_NS, ctx.request_id))


# ---- WAFv2 ----------------------------------------------------------------------------------

def waf_lookup(h, ctx, p, action):
    st = h.st
    if not isinstance(p, dict):
        raise AwsError(400, "SerializationException", "The request body must be a JSON object.")
    for k in ("Name", "Scope", "Id"):
        if not isinstance(p.get(k), str) or not p.get(k):
            raise AwsError(400, "WAFInvalidParameterException",
                           "Error reason: The parameter is missing or invalid., field: %s" %
                           k.upper())
    if p["Scope"] not in ("REGIONAL", "CLOUDFRONT"):
        raise AwsError(400, "WAFInvalidParameterException",
                       "Error reason: The scope is not valid., field: SCOPE_VALUE, parameter: %s"
                       % p["Scope"][:32])
    arn = st.ipset_arn({"scope": p["Scope"], "name": p["Name"], "id": p["Id"]}, ctx.region)
    h.authorize(ctx, action, [arn])
    with st.lock:
        s = next((s for s in st.ip_sets if s["name"] == p["Name"] and s["id"] == p["Id"] and
                  s["scope"] == p["Scope"] and
                  (s["scope"] == "CLOUDFRONT" or s["region"] == ctx.region)), None)
    if s is None:
        raise AwsError(400, "WAFNonexistentItemException",
                       "AWS WAF couldn't perform the operation because your resource doesn't "
                       "exist.")
    return s


def waf_json(obj):
    return 200, "application/x-amz-json-1.1", json.dumps(obj)


def waf_get_ipset(h, ctx, p):
    st = h.st
    s = waf_lookup(h, ctx, p, "wafv2:GetIPSet")
    with st.lock:
        return waf_json({"IPSet": {"Name": s["name"], "Id": s["id"], "ARN": st.ipset_arn(s),
                                   "Description": s["description"],
                                   "IPAddressVersion": s["version"],
                                   "Addresses": list(s["addresses"])},
                         "LockToken": s["lock_token"]})


def waf_update_ipset(h, ctx, p):
    st = h.st
    s = waf_lookup(h, ctx, p, "wafv2:UpdateIPSet")
    addrs = p.get("Addresses")
    if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs):
        raise AwsError(400, "WAFInvalidParameterException",
                       "Error reason: The parameter is missing or invalid., field: ADDRESSES")
    if len(addrs) > 10000:
        raise AwsError(400, "WAFLimitsExceededException",
                       "AWS WAF couldn't perform the operation because you exceeded your "
                       "resource limit.")
    for a in addrs:
        try:
            net = ipaddress.ip_network(a, strict=True)
            if "/" not in a:
                raise ValueError
        except ValueError:
            raise AwsError(400, "WAFInvalidParameterException",
                           "Error reason: The parameter contains formatting that isn't valid., "
                           "field: IP_ADDRESS, parameter: %s" % a[:64])
        if (net.version == 4) != (s["version"] == "IPV4"):
            raise AwsError(400, "WAFInvalidParameterException",
                           "Error reason: The IP address version does not match the IP set., "
                           "field: IP_ADDRESS_VERSION, parameter: %s" % a[:64])
    token = p.get("LockToken")
    if not isinstance(token, str) or not token:
        raise AwsError(400, "WAFInvalidParameterException",
                       "Error reason: The parameter is missing or invalid., field: LOCK_TOKEN")
    with st.lock:
        if token != s["lock_token"]:
            raise AwsError(400, "WAFOptimisticLockException",
                           "AWS WAF couldn't save your changes because someone changed the "
                           "resource after you started to edit it. Reapply your changes.")
        s["addresses"] = list(addrs)
        if "Description" in p and isinstance(p["Description"], str):
            s["description"] = p["Description"]
        s["lock_token"] = str(uuid.uuid4())
        return waf_json({"NextLockToken": s["lock_token"]})


# ---- CloudWatch -----------------------------------------------------------------------------

def cw_describe_alarms(h, ctx, p):
    st = h.st
    h.authorize(ctx, "cloudwatch:DescribeAlarms", ["*"])
    state = p.get("StateValue")
    if state is not None and state not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
        raise AwsError(400, "ValidationError", "1 validation error detected: Value '%s' at "
                       "'stateValue' failed to satisfy constraint: Member must satisfy enum "
                       "value set: [INSUFFICIENT_DATA, ALARM, OK]" % state[:32])
    types = numbered(p, "AlarmTypes.member")
    names = numbered(p, "AlarmNames.member")
    prefix = p.get("AlarmNamePrefix")
    try:
        max_records = int(p.get("MaxRecords", "50"))
        offset = int(p["NextToken"]) if p.get("NextToken") else 0
    except ValueError:
        raise AwsError(400, "InvalidNextToken", "The service couldn't process your request "
                       "because the NextToken is invalid.")
    if not 1 <= max_records <= 100:
        raise AwsError(400, "ValidationError", "MaxRecords must be between 1 and 100.")
    include_metric = not types or "MetricAlarm" in types
    with st.lock:
        alarms = [a for a in st.alarms if include_metric and
                  a.get("region", ctx.region) == ctx.region and
                  (state is None or a.get("state") == state) and
                  (not names or a["name"] in names) and
                  (prefix is None or a["name"].startswith(prefix))]
        page = alarms[offset:offset + max_records]
        members = "".join(
            "<member><AlarmName>%s</AlarmName><AlarmArn>arn:aws:cloudwatch:%s:%s:alarm:%s"
            "</AlarmArn><StateValue>%s</StateValue><StateReason>%s</StateReason>"
            "<MetricName>%s</MetricName><Namespace>%s</Namespace><StateUpdatedTimestamp>%s"
            "</StateUpdatedTimestamp><ActionsEnabled>true</ActionsEnabled></member>" % (
                x(a["name"]), x(ctx.region), st.account, x(a["name"]), x(a.get("state", "OK")),
                x(a.get("reason", "")), x(a.get("metric", "")), x(a.get("namespace", "")),
                iso_ms(st.started - 600))
            for a in page)
        token = ("<NextToken>%d</NextToken>" % (offset + max_records)
                 if offset + max_records < len(alarms) else "")
    return 200, "text/xml", (
        "<DescribeAlarmsResponse xmlns=\"%s\"><DescribeAlarmsResult><MetricAlarms>%s"
        "</MetricAlarms><CompositeAlarms/>%s</DescribeAlarmsResult><ResponseMetadata><RequestId>"
        "%s</RequestId></ResponseMetadata></DescribeAlarmsResponse>" % (
            CW_NS, members, token, ctx.request_id))


SERVICES = {
    "sts": {"AssumeRole": sts_assume_role, "GetCallerIdentity": sts_get_caller_identity,
            "DecodeAuthorizationMessage": sts_decode_authorization_message},
    "ec2": {
        "DescribeInstances": ec2_describe_instances,
        "StartInstances": lambda h, c, p: ec2_change_state("StartInstances", h, c, p),
        "StopInstances": lambda h, c, p: ec2_change_state("StopInstances", h, c, p),
        "RebootInstances": ec2_reboot,
        "ModifyInstanceAttribute": ec2_modify_attribute,
    },
    "autoscaling": {"DescribeAutoScalingGroups": asg_describe,
                    "SetDesiredCapacity": asg_set_desired},
    "wafv2": {"GetIPSet": waf_get_ipset, "UpdateIPSet": waf_update_ipset},
    "monitoring": {"DescribeAlarms": cw_describe_alarms},
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        traceback.print_exc()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record")
    args = ap.parse_args(argv)
    with open(args.state, encoding="utf-8") as f:
        state = json.load(f)
    server = Server(("127.0.0.1", 0), Handler)
    server.standin = Standin(state, args.record)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    sys.stderr.write("aws-standin: botocore %s, listening on 127.0.0.1:%d\n" % (
        botocore.__version__, server.server_address[1]))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
