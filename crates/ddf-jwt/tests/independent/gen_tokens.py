#!/usr/bin/env python3
"""Signs one JWT per algorithm with PyJWT and `cryptography`, an
implementation independent of ddf-jwt, and writes the tokens with a JWKS of
the throwaway public keys (and the HMAC secrets) to
tests/fixtures/independent/tokens.json.

The Rust tests read only that file, so they need no Python. Regenerate with:

    pip install pyjwt cryptography
    python3 crates/ddf-jwt/tests/independent/gen_tokens.py

Every run makes new keys; the keys are test-only and never used elsewhere.
"""

import base64
import json
import os
import secrets
import sys

import cryptography
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

NOW = 1_750_000_000
ISSUER = "https://independent.example.test"
AUDIENCE = "orders-api"
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "independent", "tokens.json")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(alg: str) -> dict:
    return {
        "iss": ISSUER,
        "aud": [AUDIENCE, "account"],
        "sub": f"user-{alg.lower()}",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 300,
        "scope": "openid orders:read",
        "roles": ["reader"],
    }


def public_jwk(public_key, algorithm_class, kid: str, alg: str) -> dict:
    jwk = json.loads(algorithm_class.to_jwk(public_key))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def main() -> int:
    keys = []
    tokens = []
    hmac_secrets = {}
    pems = {}

    def pem(public_key) -> str:
        return public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pems["RS256"] = pem(rsa_key.public_key())
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]:
        kid = f"py-{alg.lower()}"
        keys.append(public_jwk(rsa_key.public_key(), RSAAlgorithm, kid, alg))
        tokens.append({"alg": alg, "kid": kid, "token": jwt.encode(claims(alg), rsa_key, alg, headers={"kid": kid})})

    for alg, curve in [("ES256", ec.SECP256R1()), ("ES384", ec.SECP384R1())]:
        key = ec.generate_private_key(curve)
        pems[alg] = pem(key.public_key())
        kid = f"py-{alg.lower()}"
        keys.append(public_jwk(key.public_key(), ECAlgorithm, kid, alg))
        tokens.append({"alg": alg, "kid": kid, "token": jwt.encode(claims(alg), key, alg, headers={"kid": kid})})

    ed_key = ed25519.Ed25519PrivateKey.generate()
    pems["EdDSA"] = pem(ed_key.public_key())
    keys.append(public_jwk(ed_key.public_key(), OKPAlgorithm, "py-eddsa", "EdDSA"))
    tokens.append({"alg": "EdDSA", "kid": "py-eddsa", "token": jwt.encode(claims("EdDSA"), ed_key, "EdDSA", headers={"kid": "py-eddsa"})})

    for alg, size in [("HS256", 32), ("HS384", 48), ("HS512", 64)]:
        secret = secrets.token_bytes(size)
        kid = f"py-{alg.lower()}"
        hmac_secrets[kid] = b64url(secret)
        tokens.append({"alg": alg, "kid": kid, "token": jwt.encode(claims(alg), secret, alg, headers={"kid": kid})})

    document = {
        "generator": f"PyJWT {jwt.__version__}, cryptography {cryptography.__version__}",
        "now": NOW,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": {"keys": keys},
        "hmac_secrets": hmac_secrets,
        "public_key_pems": pems,
        "tokens": tokens,
    }
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    print(f"wrote {len(tokens)} tokens to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
