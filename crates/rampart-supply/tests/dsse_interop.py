"""The other side of the DSSE interop test: securesystemslib, an independent
DSSE implementation, verifies our envelopes and signs envelopes for us.

  dsse_interop.py verify ENVELOPE PUBLIC_PEM   exit 0 if it verifies, 1 if not
  dsse_interop.py sign ecdsa|ed25519 OUTDIR    writes envelope.json, public.pem
  dsse_interop.py key ecdsa|ed25519 pkcs8|cosign PASSWORD OUTDIR
      writes private.pem encrypted under PASSWORD (PKCS#8 PBES2 by
      `cryptography`, or cosign's scrypt + NaCl secretbox format by PyNaCl)
      and public.pem

Exit 2 means a package is missing.
"""

import base64
import hashlib
import json
import os
import sys

HINT = "install with: PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install 'securesystemslib[crypto]' pynacl"

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner, SSlibKey
    import nacl.secret
except ImportError as error:
    print(f"{error}; {HINT}", file=sys.stderr)
    sys.exit(2)

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def verify(envelope_path, pem_path):
    with open(envelope_path, encoding="utf-8") as f:
        envelope = Envelope.from_dict(json.load(f))
    with open(pem_path, "rb") as f:
        public = serialization.load_pem_public_key(f.read())
    # securesystemslib matches signatures to keys by keyid; ours is the
    # SPKI digest, which it does not compute, so the key takes that id.
    keyids = list(envelope.signatures)
    keys = [SSlibKey.from_crypto(public, keyid=keyid) for keyid in keyids]
    try:
        envelope.verify(keys, 1)
    except Exception as error:  # VerificationError and friends
        print(f"not verified: {error}", file=sys.stderr)
        return 1
    statement = json.loads(envelope.payload)
    if envelope.payload_type != PAYLOAD_TYPE or statement.get("_type") != "https://in-toto.io/Statement/v1":
        print("verified, but not an in-toto statement", file=sys.stderr)
        return 1
    print(statement["predicateType"])
    return 0


def new_key(algorithm):
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def write_public(private, out_dir):
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with open(f"{out_dir}/public.pem", "wb") as f:
        f.write(pem)


def cosign_pem(private, password):
    """The format go-securesystemslib's `encrypted` package writes for cosign."""
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(32)
    n, r, p = 32768, 8, 1
    key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    ciphertext = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext
    b64 = lambda data: base64.b64encode(data).decode()
    body = json.dumps({
        "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
        "ciphertext": b64(ciphertext),
    }).encode()
    lines = [b64(body)[i:i + 64] for i in range(0, len(b64(body)), 64)]
    label = "ENCRYPTED SIGSTORE PRIVATE KEY"
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode()


def key(algorithm, key_format, password, out_dir):
    private = new_key(algorithm)
    password = password.encode()
    if key_format == "cosign":
        pem = cosign_pem(private, password)
    else:
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    with open(f"{out_dir}/private.pem", "wb") as f:
        f.write(pem)
    write_public(private, out_dir)
    return 0


def sign(algorithm, out_dir):
    private = new_key(algorithm)
    signer = CryptoSigner(private)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"runDetails": {"builder": {"id": "https://example.com/python"}}},
    }
    envelope = Envelope(json.dumps(statement).encode(), PAYLOAD_TYPE, {})
    envelope.sign(signer)
    with open(f"{out_dir}/envelope.json", "w", encoding="utf-8") as f:
        json.dump(envelope.to_dict(), f)
    write_public(private, out_dir)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "key":
        sys.exit(key(*sys.argv[2:6]))
    sys.exit(sign(sys.argv[2], sys.argv[3]))
