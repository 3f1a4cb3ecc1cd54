#!/usr/bin/env python3
"""Verify tokens issued by ddf-jwt with PyJWT and pyca/cryptography.

This is the independent implementation of the round-trip test: it shares no
code with ddf-jwt or jsonwebtoken. Usage: python3 verify_issued.py DIR

DIR holds `jwks.json` (the published JWK Set) and `cases.json`, a list of
objects with `name`, `alg`, `token`, `expect` ("valid" or "invalid"),
`issuer`, `audience` and, for HS256, `secret_jwk`. For each case the script
prints `PASS name` when the outcome matches `expect`, else `FAIL name: why`,
and exits with status 1 if any case failed.
"""

import json
import os
import sys

import jwt

REQUIRED = ["exp", "iat", "nbf", "iss", "sub", "aud", "jti"]


def key_for(case, jwks, header):
    if case["alg"] == "HS256":
        return jwt.PyJWK(case["secret_jwk"], algorithm="HS256").key
    matches = [key for key in jwks["keys"] if key["kid"] == header.get("kid")]
    if len(matches) != 1:
        raise LookupError(f"kid {header.get('kid')!r} is not in the JWKS exactly once")
    jwk = matches[0]
    if jwk.get("use") != "sig" or jwk.get("alg") != case["alg"]:
        raise ValueError("the published JWK does not allow this algorithm")
    return jwt.PyJWK(jwk).key


def verify(case, jwks):
    header = jwt.get_unverified_header(case["token"])
    if header.get("alg") != case["alg"] or header.get("typ") != "at+jwt":
        raise ValueError(f"unexpected header {header}")
    claims = jwt.decode(
        case["token"],
        key=key_for(case, jwks, header),
        algorithms=[case["alg"]],
        audience=case["audience"],
        issuer=case["issuer"],
        options={"require": REQUIRED},
    )
    if len(claims["jti"]) != 22:
        raise ValueError("jti is not 128 bits in base64url")
    return claims


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "jwks.json"), encoding="utf-8") as handle:
        jwks = json.load(handle)
    with open(os.path.join(directory, "cases.json"), encoding="utf-8") as handle:
        cases = json.load(handle)

    failed = 0
    for case in cases:
        try:
            claims = verify(case, jwks)
            outcome, detail = "valid", f"sub={claims['sub']}"
        except Exception as error:  # any rejection counts as "invalid"
            outcome, detail = "invalid", type(error).__name__
        if outcome == case["expect"]:
            print(f"PASS {case['name']}")
        else:
            failed += 1
            print(f"FAIL {case['name']}: expected {case['expect']}, got {outcome} ({detail})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
