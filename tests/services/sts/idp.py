"""A small identity provider for the federation tests: OIDC over HTTPS on loopback, and SAML minting.

``OidcIdp`` serves a discovery document and a JWKS over HTTPS with a freshly
made self-signed certificate (the test registers its SHA-1 thumbprint in IAM,
as a private IdP is registered in AWS) and mints RS256 ID tokens.
``SamlIdp`` holds a key and self-signed certificate, writes its metadata
document for CreateSAMLProvider and signs SAML responses with signxml.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import SignatureConstructionMethod

AWS_SAML_ENDPOINT = "https://signin.aws.amazon.com/saml"


def self_signed(common_name: str = "127.0.0.1") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key and a self-signed certificate valid for loopback (IP 127.0.0.1 and localhost)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def pem(cert: x509.Certificate) -> bytes:
    """The certificate in PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def thumbprint(cert: x509.Certificate) -> str:
    """IAM's thumbprint: SHA-1 of the DER certificate, hex."""
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# --- OIDC -------------------------------------------------------------------------------------------


class OidcIdp:
    """An OIDC issuer on https://127.0.0.1:<port>/<path> with rotating RSA signing keys."""

    def __init__(self) -> None:
        self.tls_key, self.cert = self_signed()
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid = self.add_key()
        self.path = f"idp-{uuid.uuid4().hex[:8]}"
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.socket = self._tls_context().wrap_socket(self._server.socket, server_side=True)
        self.issuer = f"https://127.0.0.1:{self._server.server_address[1]}/{self.path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def provider_name(self) -> str:
        """The IAM provider's name and condition-key prefix: the issuer without https://."""
        return self.issuer.removeprefix("https://")

    def add_key(self) -> str:
        """A new signing key (published at once); returns its kid."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def mint(self, claims: dict[str, Any] | None = None, *, kid: str | None = None, key: Any = None,
             lifetime: int = 600, now: dt.datetime | None = None, **overrides: Any) -> str:
        """A signed ID token: iss, aud, sub, iat, exp by default; ``overrides`` replace or drop (None) claims.

        ``now`` should be the server's clock (tests may have moved it ahead of real time).
        """
        now = int((now or dt.datetime.now(dt.UTC)).timestamp())
        body: dict[str, Any] = {"iss": self.issuer, "aud": "rampart-client", "sub": "alice",
                                "iat": now, "exp": now + lifetime, **(claims or {})}
        for name, value in overrides.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        kid = kid or self.kid
        return jwt.encode(body, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def stop(self) -> None:
        """Shut the HTTPS server down."""
        self._server.shutdown()
        self._server.server_close()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
            cert_file.write_bytes(pem(self.cert))
            key_file.write_bytes(self.tls_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ))
            context.load_cert_chain(cert_file, key_file)
        return context

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.requests.append(self.path)
                if self.path == f"/{idp.path}/.well-known/openid-configuration":
                    body = {"issuer": idp.issuer, "jwks_uri": f"{idp.issuer}/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == f"/{idp.path}/jwks":
                    body = idp.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


# --- SAML -------------------------------------------------------------------------------------------

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SamlIdp:
    """A SAML IdP: its metadata document and signed responses for AWS."""

    def __init__(self, entity_id: str | None = None) -> None:
        self.key, self.cert = self_signed("saml-idp.test")
        self.entity_id = entity_id or f"https://idp.test/{uuid.uuid4().hex[:8]}"

    def metadata(self) -> str:
        """An EntityDescriptor with an IDPSSODescriptor holding the signing certificate."""
        body = "".join(pem(self.cert).decode().splitlines()[1:-1])
        return (
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{self.entity_id}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
            f"<ds:X509Certificate>{body}</ds:X509Certificate>"
            "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            'Location="https://idp.test/sso"/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def response_xml(
        self,
        roles: list[str],
        *,
        session_name: str | None = "alice",
        subject: str = "alice@example.com",
        audience: str = AWS_SAML_ENDPOINT,
        recipient: str = AWS_SAML_ENDPOINT,
        lifetime: int = 300,
        now: dt.datetime | None = None,
        attributes: dict[str, list[str]] | None = None,
        issuer: str | None = None,
    ) -> etree._Element:
        """An unsigned Response element with one Assertion (attributes: name -> values)."""
        now = now or dt.datetime.now(dt.UTC)
        until = _iso(now + dt.timedelta(seconds=lifetime))
        nsmap = {"samlp": SAMLP, "saml": SAML}
        response = etree.Element(f"{{{SAMLP}}}Response", nsmap=nsmap, ID="_" + uuid.uuid4().hex,
                                 Version="2.0", IssueInstant=_iso(now), Destination=recipient)
        etree.SubElement(response, f"{{{SAML}}}Issuer").text = issuer or self.entity_id
        status = etree.SubElement(response, f"{{{SAMLP}}}Status")
        etree.SubElement(status, f"{{{SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:Success")
        assertion = etree.SubElement(response, f"{{{SAML}}}Assertion", ID="_" + uuid.uuid4().hex,
                                     Version="2.0", IssueInstant=_iso(now))
        etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = issuer or self.entity_id
        subject_el = etree.SubElement(assertion, f"{{{SAML}}}Subject")
        name_id = etree.SubElement(subject_el, f"{{{SAML}}}NameID",
                                   Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
        name_id.text = subject
        confirmation = etree.SubElement(subject_el, f"{{{SAML}}}SubjectConfirmation",
                                        Method="urn:oasis:names:tc:SAML:2.0:cm:bearer")
        etree.SubElement(confirmation, f"{{{SAML}}}SubjectConfirmationData", NotOnOrAfter=until, Recipient=recipient)
        conditions = etree.SubElement(assertion, f"{{{SAML}}}Conditions",
                                      NotBefore=_iso(now - dt.timedelta(seconds=5)), NotOnOrAfter=until)
        restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
        etree.SubElement(restriction, f"{{{SAML}}}Audience").text = audience
        authn = etree.SubElement(assertion, f"{{{SAML}}}AuthnStatement", AuthnInstant=_iso(now))
        context = etree.SubElement(authn, f"{{{SAML}}}AuthnContext")
        etree.SubElement(context, f"{{{SAML}}}AuthnContextClassRef").text = (
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        )
        values: dict[str, list[str]] = {"https://aws.amazon.com/SAML/Attributes/Role": roles}
        if session_name is not None:
            values["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] = [session_name]
        values.update(attributes or {})
        statement = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
        for name, items in values.items():
            attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
            for item in items:
                etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = item
        return response

    def sign(self, response: etree._Element, *, what: str = "assertion", key: Any = None,
             cert: x509.Certificate | None = None) -> etree._Element:
        """Sign the Assertion (in place) or the whole Response with an enveloped signature."""
        signer = XMLSigner(method=SignatureConstructionMethod.enveloped)
        signer.namespaces = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
        key_pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        cert_pem = pem(cert or self.cert)
        if what == "response":
            return signer.sign(response, key=key_pem, cert=cert_pem, reference_uri=response.get("ID"))
        assertion = response.find(f"{{{SAML}}}Assertion")
        signed = signer.sign(assertion, key=key_pem, cert=cert_pem, reference_uri=assertion.get("ID"))
        response.replace(assertion, signed)
        return response


def encode(element: etree._Element) -> str:
    """The base64 SAMLResponse of an element."""
    return base64.b64encode(etree.tostring(element)).decode()
