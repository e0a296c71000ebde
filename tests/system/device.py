"""A device and its MP, made only of PyJWT and cryptography (not our proto):
keys, RFC 7638 thumbprints, proofs of possession, and token verification
against the served JWKS."""

import base64
import hashlib
import json
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "urn:sitetoken:PS1"

# Devices follow the server's debug clock (Server.shift_clock sets this).
CLOCK = {"offset": 0}


def now():
    return int(time.time()) + CLOCK["offset"]
AUDIENCE = "urn:sitetoken:gateway"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_key(alg):
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(alg)


def public_jwk(key):
    pub = key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return json.loads(OKPAlgorithm.to_jwk(pub))
    if isinstance(pub, ec.EllipticCurvePublicKey):
        # RFC 7518 6.2.1.2: x and y are the full 32 bytes. PyJWT 2.6's to_jwk
        # drops leading zero bytes (1 key in 128), which we rightly refuse.
        nums = pub.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
                "y": b64u(nums.y.to_bytes(32, "big"))}
    return json.loads(RSAAlgorithm.to_jwk(pub))


def thumbprint(jwk):
    required = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    canon = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64u(hashlib.sha256(canon).digest())


class Device:
    def __init__(self, alg="EdDSA", issuer=ISSUER, hardware_id=None, name=None):
        self.alg = alg
        self.key = new_key(alg)
        self.jwk = public_jwk(self.key)
        self.jkt = thumbprint(self.jwk)
        self.issuer = issuer
        self.hardware_id = hardware_id or "hw-" + uuid.uuid4().hex[:12]
        self.name = name or "laptop-" + uuid.uuid4().hex[:6]
        self.token = None

    def proof(self, act, token=None, iat=None, jti=None, aud=None, typ="sitetoken-proof+jwt",
              jwk=None, key=None, alg=None, extra=None):
        claims = {"aud": aud or self.issuer, "iat": now() if iat is None else iat,
                  "jti": jti or uuid.uuid4().hex, "act": act}
        if token is not None:
            claims["ath"] = b64u(hashlib.sha256(token.encode()).digest())
        if extra:
            claims.update(extra)
        headers = {"typ": typ, "jwk": jwk or self.jwk}
        return jwt.encode(claims, key or self.key, algorithm=alg or self.alg, headers=headers)

    def register_body(self, **kw):
        return {"hardware_id": self.hardware_id, "name": self.name,
                "proof": self.proof("register", **kw)}

    def exchange_body(self, bulk_token, **kw):
        return {"bulk_token": bulk_token, "hardware_id": self.hardware_id, "name": self.name,
                "proof": self.proof("exchange", **kw)}

    def token_body(self, act, token=None, **kw):
        token = token or self.token
        return {"token": token, "proof": self.proof(act, token=token, **kw)}


class MP:
    """Talks to sitetokend as a management point with its API key."""

    def __init__(self, server, api_key):
        self.server = server
        self.api_key = api_key

    def post(self, path, body, key=None, **kw):
        headers = {"Authorization": "Bearer " + (key or self.api_key)}
        return requests.post(self.server.url(path), json=body, headers=headers, timeout=30, **kw)

    def register(self, device, **kw):
        r = self.post("/v1/registrations", device.register_body(**kw))
        if r.status_code == 201:
            device.token = r.json()["token"]
        return r

    def exchange(self, device, bulk_token, **kw):
        r = self.post("/v1/exchanges", device.exchange_body(bulk_token, **kw))
        if r.status_code == 201:
            device.token = r.json()["token"]
        return r

    def renew(self, device, **kw):
        r = self.post("/v1/renewals", device.token_body("renew", **kw))
        if r.status_code == 200:
            device.token = r.json()["token"]
        return r

    def access(self, device, **kw):
        return self.post("/v1/access-tokens", device.token_body("access", **kw))

    def introspect(self, token):
        return self.post("/v1/introspect", {"token": token})


def jwks(server):
    r = server.get("/v1/keys")
    assert r.status_code == 200, r.text
    return r.json()


def verify_with_pyjwt(server, token, typ, audience=None, issuer=ISSUER):
    """Verifies one of our tokens with PyJWT against the served JWKS, the
    algorithm taken from the key, never from the token. The audience is the
    contract's for the kind: the gateways for access tokens, the issuer for
    bulk and client tokens (DESIGN.md, "The tokens")."""
    if audience is None:
        audience = AUDIENCE if typ == "sitetoken-access+jwt" else issuer
    header = jwt.get_unverified_header(token)
    assert header["typ"] == typ
    keys = {k["kid"]: k for k in jwks(server)["keys"]}
    assert header["kid"] in keys, "token kid not in the JWKS"
    k = keys[header["kid"]]
    pk = jwt.PyJWK(k)
    return jwt.decode(token, pk.key, algorithms=[k["alg"]], audience=audience, issuer=issuer,
                      leeway=abs(CLOCK["offset"]), options={"require": ["exp", "iat", "nbf", "jti", "iss", "aud"]})


def registered(mp, **kw):
    """A new Device(**kw) registered through mp (201 asserted), with its
    device id and first token id (d.id, d.jti)."""
    d = Device(**kw)
    r = mp.register(d)
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    return d
