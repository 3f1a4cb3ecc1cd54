#!/usr/bin/env python3
"""Regenerate the seed inputs in fuzz/seeds/<target>/ from the test fixtures.

The seeds are small files committed to git; libFuzzer starts from them
instead of from nothing. Run from anywhere: python3 fuzz/make-seeds.py.
`policy_parse` seeds are hand-written and left alone.
"""

import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
MAX_SEED_BYTES = 8192


def write(target, name, data):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)


def reset(target):
    shutil.rmtree(SEEDS / target, ignore_errors=True)


def jwks_seeds():
    reset("jwks_parse")
    sources = sorted((ROOT / "crates/ddf-jwt/tests/fixtures/corpus/jwks").glob("*.json"))
    issue = ROOT / "crates/ddf-jwt/tests/fixtures/issue"
    for path in sources:
        data = path.read_bytes()
        if len(data) <= MAX_SEED_BYTES:
            write("jwks_parse", path.name, data)
    # Single JWKs from the issuing fixtures, wrapped as one-key sets.
    for path in sorted(issue.glob("*.jwk.json")):
        jwk = json.loads(path.read_text())
        write("jwks_parse", "set_" + path.name, json.dumps({"keys": [jwk]}))
    for name, text in {
        "empty_keys.json": '{"keys":[]}',
        "null_keys.json": '{"keys":null}',
        "null_entry.json": '{"keys":[null]}',
        "string_keys.json": '{"keys":"x"}',
        "nested.json": '{"keys":[[[[[[[[[[]]]]]]]]]]}',
    }.items():
        write("jwks_parse", name, text)


def corpus_tokens():
    tokens = []
    for path in sorted((ROOT / "crates/ddf-jwt/tests/fixtures/corpus/tokens").glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        stack = [document]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, str) and value.count(".") == 2 and value.startswith("eyJ"):
                tokens.append(value)
    return sorted(set(tokens))


def jwt_seeds():
    # Edit scripts over the target's valid token: a position byte, then the
    # bytes written from there.
    reset("jwt_validate")
    write("jwt_validate", "unchanged", b"\x00")
    write("jwt_validate", "alg_none_header", b"\x00eyJhbGciOiJub25lIn0")
    write("jwt_validate", "dot_flood", b"\x10" + b"." * 256)
    write("jwt_validate", "padding", b"\x30==")
    write("jwt_validate", "truncate_signature", b"\xff" + b"A")
    for index, token in enumerate(corpus_tokens()[:12]):
        if len(token) < MAX_SEED_BYTES:
            write("jwt_validate", f"corpus_token_{index:02}", b"\x00" + token.encode())


def apikey_seeds():
    reset("apikey_header")
    for name, value in {
        "stored_key": "00112233445566778899aabbccddeeff",
        "one_nibble_off": "00112233445566778899aabbccddeefe",
        "short_31": "00112233445566778899aabbccddeef",
        "long_33": "00112233445566778899aabbccddeeff0",
        "upper_case": "00112233445566778899AABBCCDDEEFF",
        "prefix_0x": "0x00112233445566778899aabbccddee",
        "spaces": " 00112233445566778899aabbccddeeff ",
        "nul": "00112233445566778899aabbccdd\x00eff",
    }.items():
        write("apikey_header", name, value)


def credential_seeds():
    # Selector byte, a query-string line, then `name:value` header lines;
    # the first byte of a name picks the header (see the target).
    reset("credential_headers")
    cases = json.loads(
        (ROOT / "crates/ddf-tower/tests/fixtures/authorization_header_cases.json").read_text()
    )["cases"]
    for case in cases:
        header = case.get("authorization_header")
        if isinstance(header, str) and len(header) < MAX_SEED_BYTES:
            write("credential_headers", f"authorization_{case['id']}", b"\x00\n\x00:" + header.encode())
    write("credential_headers", "api_key", b"\x02\n\x01:00112233445566778899aabbccddeeff")
    write("credential_headers", "two_api_keys", b"\x02\n\x01:0011\n\x01:2233")
    write("credential_headers", "cookie", b"\x04\n\x02:a=b; ddf_session=\"abcDEF123\"; c=d")
    write("credential_headers", "two_cookies", b"\x04\n\x02:ddf_session=a\n\x02:ddf_session=b")
    write("credential_headers", "query_token", b"\x00access_token=abc\n\x00:Bearer abc")
    write("credential_headers", "encoded_query", b"\x00%61ccess_token=abc")
    write("credential_headers", "bearer_and_key", b"\x03\n\x00:Bearer abc\n\x01:0011")
    write("credential_headers", "bearer_glued", b"\x01\n\x00:Bearerabc")


def session_seeds():
    reset("session_payload")
    session = {
        "principal": {
            "subject": "user-7",
            "method": "jwt",
            "issuer": "https://sso.example.test/realms/demo",
            "roles": ["user"],
            "attributes": {"tenant": "t1"},
        },
        "data": {"cart": "3"},
        "created_ms": 1700000000000,
        "last_seen_ms": 1700000000000,
        "idle_expires_ms": 1700003600000,
        "absolute_expires_ms": 1700043200000,
    }
    write("session_payload", "plaintext_session", b"\x01" + json.dumps(session).encode())
    write("session_payload", "plaintext_inconsistent",
          b"\x01" + json.dumps({**session, "created_ms": 1800000000000}).encode())
    write("session_payload", "plaintext_unknown_field",
          b"\x01" + json.dumps({**session, "admin": True}).encode())
    # Mode 0: storage-key length, storage key, then version 1, key id length
    # 4, key id `fuzz`, a 12-byte nonce and a 16-byte tag.
    sealed = b"\x01\x04fuzz" + bytes(12) + bytes(16)
    write("session_payload", "sealed_shape", b"\x00\x03key" + sealed)
    write("session_payload", "sealed_unknown_key", b"\x00\x00\x01\x04nope" + bytes(28))


if __name__ == "__main__":
    jwks_seeds()
    jwt_seeds()
    apikey_seeds()
    credential_seeds()
    session_seeds()
    for directory in sorted(SEEDS.iterdir()):
        files = list(directory.iterdir())
        size = sum(path.stat().st_size for path in files)
        print(f"{directory.name}: {len(files)} seeds, {size} bytes")
