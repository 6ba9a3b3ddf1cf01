"""How an agent reaches its broker: ``mqtt://`` and ``mqtts://`` URLs, and the client they make.

A broker URL names everything a process needs to connect, so one ``--broker`` option serves a
local Mosquitto and a clustered broker on other machines alike::

    mqtt://r7:PASSWORD@127.0.0.1:1883
    mqtts://r7:PASSWORD@broker.example:8883?ca=/etc/council/ca.pem
    mqtts://r7:PASSWORD@broker.example?ca=ca.pem&cert=r7.pem&key=r7.key
    mqtts://r7:PASSWORD@10.0.0.5:8883?insecure=true

TLS options (``mqtts://`` only): ``ca`` (CA bundle; the system trust store when absent),
``cert`` and ``key`` (client certificate and its key; ``key`` defaults to the ``cert`` file),
``insecure`` (``true``/``false``: skip certificate and host-name checks — testing only).
User names and passwords may be percent-encoded. ``str(url)`` hides the password.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import aiomqtt

from council.live.topics import PRESENCE_OFFLINE, CouncilTopics

MQTT_PORT: Final = 1883
MQTTS_PORT: Final = 8883
#: Keep-alive the broker uses to notice a dead agent and publish its last will (≈ 1.5 × this).
KEEPALIVE_S_DEFAULT: Final = 10

_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})
_TLS_PARAMETERS: Final = ("ca", "cert", "key", "insecure")


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used, with the reason in the message."""


@dataclass(frozen=True)
class TlsOptions:
    """How to check the broker (``ca_file``, ``insecure``) and prove who we are (cert, key)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context; files are read now, so a missing one fails here, clearly."""
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file is not None:
                context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:
            raise BrokerUrlError(f"cannot load TLS files for the broker: {error}") from error
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is, who we are there, and whether to speak TLS (``tls`` not ``None``)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsOptions | None = None

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        """Parse ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://…[?tls options]``."""
        if not text.strip():
            raise BrokerUrlError("empty broker URL; expected mqtt://user:password@host:port")
        parts = urlsplit(text.strip())
        if parts.scheme not in ("mqtt", "mqtts"):
            shown = f"{parts.scheme!r}" if parts.scheme else "none"
            raise BrokerUrlError(
                f"broker URL {_redact(text)!r} has scheme {shown}; use mqtt:// or mqtts://"
            )
        if parts.path not in ("", "/") or parts.fragment:
            raise BrokerUrlError(
                f"broker URL {_redact(text)!r} has a path or fragment; only host and port count"
            )
        if not parts.hostname:
            raise BrokerUrlError(f"broker URL {_redact(text)!r} names no host")
        try:
            port = parts.port
        except ValueError:
            raise BrokerUrlError(
                f"broker URL {_redact(text)!r} has a port that is not a number in 1-65535"
            ) from None
        if port == 0:
            raise BrokerUrlError(f"broker URL {_redact(text)!r} has port 0")
        if parts.password is not None and not parts.username:
            raise BrokerUrlError(f"broker URL {_redact(text)!r} has a password but no user name")
        secure = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=port or (MQTTS_PORT if secure else MQTT_PORT),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            tls=_tls_options(parts.query, secure, _redact(text)),
        )

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls is not None else "mqtt"

    def with_credentials(self, username: str, password: str) -> BrokerUrl:
        return replace(self, username=username, password=password)

    def render(self, *, reveal_password: bool = False) -> str:
        """The URL as text; the password shows only when asked (for a child's environment)."""
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                secret = quote(self.password, safe="") if reveal_password else "***"
                userinfo += f":{secret}"
            userinfo += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{userinfo}{host}:{self.port}{self._query()}"

    def __str__(self) -> str:
        return self.render()

    def _query(self) -> str:
        if self.tls is None:
            return ""
        pairs = [
            ("ca", self.tls.ca_file),
            ("cert", self.tls.cert_file),
            ("key", self.tls.key_file),
        ]
        items = [f"{name}={quote(str(path))}" for name, path in pairs if path is not None]
        if self.tls.insecure:
            items.append("insecure=true")
        return "?" + "&".join(items) if items else ""

    def client(
        self,
        *,
        identifier: str | None = None,
        will: aiomqtt.Will | None = None,
        keepalive_s: int = KEEPALIVE_S_DEFAULT,
        **options: Any,
    ) -> aiomqtt.Client:
        """An aiomqtt client for this broker (not yet connected: use ``async with``).

        ``options`` go to ``aiomqtt.Client`` unchanged (``timeout``, ``max_inflight_messages``,
        ``max_queued_incoming_messages``, …).
        """
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            will=will,
            keepalive=keepalive_s,
            tls_context=self.tls.ssl_context() if self.tls is not None else None,
            **options,
        )


def presence_will(topics: CouncilTopics, principal: str) -> aiomqtt.Will:
    """The last will that marks ``principal`` offline, retained, when its connection dies."""
    return aiomqtt.Will(topics.presence(principal), PRESENCE_OFFLINE, qos=1, retain=True)


def _tls_options(query: str, secure: bool, shown: str) -> TlsOptions | None:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise BrokerUrlError(f"broker URL {shown!r} has a malformed query") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in _TLS_PARAMETERS:
            known = ", ".join(_TLS_PARAMETERS)
            raise BrokerUrlError(f"broker URL {shown!r}: unknown option {name!r}; known: {known}")
        if name in values:
            raise BrokerUrlError(f"broker URL {shown!r} gives {name!r} twice")
        if not value:
            raise BrokerUrlError(f"broker URL {shown!r} gives {name!r} no value")
        values[name] = value
    if not secure:
        if values:
            raise BrokerUrlError(
                f"broker URL {shown!r}: TLS options need the mqtts:// scheme, not mqtt://"
            )
        return None
    if "key" in values and "cert" not in values:
        raise BrokerUrlError(f"broker URL {shown!r} gives a client key but no client cert")
    return TlsOptions(
        ca_file=Path(values["ca"]) if "ca" in values else None,
        cert_file=Path(values["cert"]) if "cert" in values else None,
        key_file=Path(values["key"]) if "key" in values else None,
        insecure=_flag(values.get("insecure", "false"), shown),
    )


def _flag(word: str, shown: str) -> bool:
    if word.lower() in _TRUE_WORDS:
        return True
    if word.lower() in _FALSE_WORDS:
        return False
    raise BrokerUrlError(f"broker URL {shown!r}: insecure={word!r} is not true or false")


def _redact(text: str) -> str:
    """The URL text with any password replaced, safe to put in an error message."""
    scheme, separator, rest = text.strip().partition("://")
    if not separator:
        return text.strip()
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return text.strip()
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"
