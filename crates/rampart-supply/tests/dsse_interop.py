"""The other side of the DSSE interop test: securesystemslib, an independent
DSSE implementation, verifies our envelopes and signs envelopes for us.

  dsse_interop.py verify ENVELOPE PUBLIC_PEM   exit 0 if it verifies, 1 if not
  dsse_interop.py sign ecdsa|ed25519 OUTDIR    writes envelope.json, public.pem

Exit 2 means a package is missing.
"""

import json
import sys

HINT = "install with: PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install 'securesystemslib[crypto]'"

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner, SSlibKey
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


def sign(algorithm, out_dir):
    if algorithm == "ecdsa":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
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
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with open(f"{out_dir}/public.pem", "wb") as f:
        f.write(pem)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3]))
    sys.exit(sign(sys.argv[2], sys.argv[3]))
