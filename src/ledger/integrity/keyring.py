"""The checkpoint signing key and every public key ever used, kept outside the database.

The signing key comes from ``LEDGER_SIGNING_KEY`` (PEM text) or the file at
``LEDGER_SIGNING_KEY_PATH`` (default ``.ledger/signing-key.pem``), created on first run for
the embedded default. Public keys live beside it in ``public-keys/<key id>.pem``: rotating
the signing key keeps the old public key there, so old checkpoints stay verifiable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ledger.integrity.checkpoint import SigningKey, key_id_for
from ledger.settings import Settings


def _load_public(path: Path) -> Ed25519PublicKey:
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


@dataclass
class Keyring:
    signing: SigningKey
    public_dir: Path

    @classmethod
    def load(cls, settings: Settings) -> Keyring:
        env = os.environ.get("LEDGER_SIGNING_KEY")
        signing = (
            SigningKey.from_env_value(env)
            if env
            else SigningKey.load_or_create(settings.signing_key_path)
        )
        ring = cls(signing, settings.signing_key_path.parent / "public-keys")
        ring.remember(signing)
        return ring

    def remember(self, key: SigningKey) -> None:
        self.public_dir.mkdir(parents=True, exist_ok=True)
        path = self.public_dir / f"{key.key_id}.pem"
        if not path.exists():
            path.write_text(key.public_pem())

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys = {
            key_id_for(k): k
            for k in (_load_public(p) for p in sorted(self.public_dir.glob("*.pem")))
        }
        keys[self.signing.key_id] = self.signing.public_key
        return keys

    def public_pems(self) -> dict[str, str]:
        pems = {p.stem: p.read_text() for p in sorted(self.public_dir.glob("*.pem"))}
        pems[self.signing.key_id] = self.signing.public_pem()
        return pems

    @staticmethod
    def rotate(settings: Settings) -> tuple[str, str]:
        """Replace the signing key file with a new key; the old public key is kept.
        Returns (old key id, new key id)."""
        path = settings.signing_key_path
        old = SigningKey.load_or_create(path)
        ring = Keyring(old, path.parent / "public-keys")
        ring.remember(old)
        new = SigningKey.generate()
        retired = path.with_suffix(f".{old.key_id}.retired")
        path.rename(retired)
        new.save(path)
        ring.remember(new)
        retired.unlink()  # the old private key must not sign again; its public key remains
        return old.key_id, new.key_id
