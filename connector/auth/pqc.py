"""Post-quantum primitives behind the sealed token store, and how a backend is chosen.

The token store needs two post-quantum operations, expressed by :class:`PQCBackend`:

* ML-KEM-768 (FIPS 203): key generation from a 64-byte seed (``d || z``), encapsulation
  to a 1,184-byte encapsulation key, decapsulation of a 1,088-byte ciphertext into a
  32-byte shared secret;
* ML-DSA-65 (FIPS 204): key generation from a 32-byte seed (``xi``), signing with the
  context string :data:`MLDSA_CONTEXT`, verification of a 3,309-byte signature against
  a 1,952-byte public key.

Keys are passed around as their FIPS seeds and every value on the wire uses the standard
FIPS 203/204 encoding, so a file sealed by one backend opens with the other.

Backends
--------
``cryptography`` (default)
    :class:`CryptographyBackend`, using ``cryptography.hazmat.primitives.asymmetric.mlkem``
    and ``.mldsa`` (cryptography 47 or newer built with ML-KEM/ML-DSA support).
``oqs`` (optional)
    :class:`OqsBackend`, using liboqs-python (``pip install 'zohocrm-connector[oqs]'``).
    It is considered *only* when the environment variable ``ZOHOCRM_PQC_BACKEND=oqs`` is
    set, because importing ``oqs`` without the liboqs C library makes liboqs-python try to
    clone and build liboqs (and ``sys.exit`` if that fails). Even then it is used only if
    the import succeeds (every exception, ``SystemExit`` included, is caught) and a
    self-test passes: keygen + encaps + decaps, sign + verify, and, when the
    ``cryptography`` backend is available, identical public keys from the same seeds and
    ciphertexts/signatures accepted across both. Otherwise the default backend is used and
    a warning is logged. liboqs-python (0.16) cannot derive an ML-DSA key from its 32-byte
    seed, so unless a newer release can, ``OqsBackend`` signs through ``cryptography`` and
    uses liboqs for ML-KEM and for verification.

X25519, HKDF, AES-GCM and HMAC are classical and always come from ``cryptography``/stdlib.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Any, Protocol

from connector.errors import AuthError

try:  # cryptography < 47, or a build without ML-KEM/ML-DSA, must not break `import connector.auth`
    from cryptography.hazmat.primitives.asymmetric import mldsa as _mldsa
    from cryptography.hazmat.primitives.asymmetric import mlkem as _mlkem
except ImportError:  # pragma: no cover - depends on the installed cryptography
    _mldsa = None  # type: ignore[assignment]
    _mlkem = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

BACKEND_ENV_VAR = "ZOHOCRM_PQC_BACKEND"

MLKEM768_SEED_LEN = 64
MLKEM768_PUBLIC_KEY_LEN = 1184
MLKEM768_CIPHERTEXT_LEN = 1088
MLKEM_SHARED_SECRET_LEN = 32
MLDSA65_SEED_LEN = 32
MLDSA65_PUBLIC_KEY_LEN = 1952
MLDSA65_SIGNATURE_LEN = 3309
# FIPS 204 context string: a signature made for the token store cannot be replayed as a
# signature for anything else signed with the same key, and vice versa.
MLDSA_CONTEXT = b"zohocrm-connector/token-store/v1"

_OQS_KEM_NAME = "ML-KEM-768"
_OQS_SIG_NAME = "ML-DSA-65"


class PQCBackend(Protocol):
    """ML-KEM-768 and ML-DSA-65 over bytes: seeds in, FIPS 203/204 encodings out."""

    name: str

    def kem_keygen(self) -> tuple[bytes, bytes]:
        """Return ``(64-byte seed, encapsulation key)``."""
        ...

    def kem_public_key(self, seed: bytes) -> bytes: ...

    def kem_encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        """Return ``(ciphertext, shared_secret)``."""
        ...

    def kem_decaps(self, seed: bytes, ciphertext: bytes) -> bytes: ...

    def sig_keygen(self) -> tuple[bytes, bytes]:
        """Return ``(32-byte seed, public key)``."""
        ...

    def sig_public_key(self, seed: bytes) -> bytes: ...

    def sig_sign(self, seed: bytes, message: bytes, context: bytes = MLDSA_CONTEXT) -> bytes: ...

    def sig_verify(self, public_key: bytes, message: bytes, signature: bytes, context: bytes = MLDSA_CONTEXT) -> bool:
        """True only for a valid signature; never raises for a bad one. ``context``: FIPS 204's
        context string, so a signature made for one purpose never verifies for another."""
        ...


class CryptographyBackend:
    """The default backend: pyca/cryptography's ML-KEM and ML-DSA."""

    name = "cryptography"

    @staticmethod
    def available() -> bool:
        if _mlkem is None or _mldsa is None:
            return False
        try:  # the classes exist even when the linked library lacks the algorithm
            _mlkem.MLKEM768PrivateKey.generate()
            _mldsa.MLDSA65PrivateKey.generate()
        except Exception:
            return False
        return True

    def kem_keygen(self) -> tuple[bytes, bytes]:
        seed = os.urandom(MLKEM768_SEED_LEN)
        return seed, self.kem_public_key(seed)

    def kem_public_key(self, seed: bytes) -> bytes:
        return _mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()

    def kem_encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        shared_secret, ciphertext = _mlkem.MLKEM768PublicKey.from_public_bytes(public_key).encapsulate()
        return ciphertext, shared_secret

    def kem_decaps(self, seed: bytes, ciphertext: bytes) -> bytes:
        return _mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(ciphertext)

    def sig_keygen(self) -> tuple[bytes, bytes]:
        seed = os.urandom(MLDSA65_SEED_LEN)
        return seed, self.sig_public_key(seed)

    def sig_public_key(self, seed: bytes) -> bytes:
        return _mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()

    def sig_sign(self, seed: bytes, message: bytes, context: bytes = MLDSA_CONTEXT) -> bytes:
        return _mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).sign(message, context)

    def sig_verify(self, public_key: bytes, message: bytes, signature: bytes, context: bytes = MLDSA_CONTEXT) -> bool:
        try:
            _mldsa.MLDSA65PublicKey.from_public_bytes(public_key).verify(signature, message, context)
        except Exception:  # InvalidSignature, or ValueError for a malformed key/signature
            return False
        return True


class OqsBackend:
    """liboqs-python; see the module docstring for when it is selected."""

    name = "oqs"

    def __init__(self, oqs: ModuleType, signer: PQCBackend | None) -> None:
        self._oqs = oqs
        # liboqs-python has no ML-DSA keygen from a seed; `signer` covers seed -> key.
        self._sig_from_seed = hasattr(oqs.Signature, "generate_keypair_seed")
        self._signer = signer

    def _kem(self) -> Any:
        return self._oqs.KeyEncapsulation(_OQS_KEM_NAME)

    def _seed_signer(self) -> PQCBackend:
        if self._signer is None:
            raise AuthError(
                "liboqs-python cannot derive an ML-DSA-65 key from its seed and the cryptography "
                "backend is unavailable",
                hint="pip install --upgrade cryptography",
            )
        return self._signer

    def kem_keygen(self) -> tuple[bytes, bytes]:
        seed = os.urandom(MLKEM768_SEED_LEN)
        return seed, self.kem_public_key(seed)

    def kem_public_key(self, seed: bytes) -> bytes:
        with self._kem() as kem:
            return bytes(kem.generate_keypair_seed(seed))

    def kem_encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        with self._kem() as kem:
            ciphertext, shared_secret = kem.encap_secret(public_key)  # liboqs order: (ct, ss)
            return bytes(ciphertext), bytes(shared_secret)

    def kem_decaps(self, seed: bytes, ciphertext: bytes) -> bytes:
        with self._kem() as kem:
            kem.generate_keypair_seed(seed)
            return bytes(kem.decap_secret(ciphertext))

    def sig_keygen(self) -> tuple[bytes, bytes]:
        seed = os.urandom(MLDSA65_SEED_LEN)
        return seed, self.sig_public_key(seed)

    def sig_public_key(self, seed: bytes) -> bytes:
        if not self._sig_from_seed:
            return self._seed_signer().sig_public_key(seed)
        with self._oqs.Signature(_OQS_SIG_NAME) as sig:
            return bytes(sig.generate_keypair_seed(seed))

    def sig_sign(self, seed: bytes, message: bytes, context: bytes = MLDSA_CONTEXT) -> bytes:
        if not self._sig_from_seed:
            return self._seed_signer().sig_sign(seed, message, context)
        with self._oqs.Signature(_OQS_SIG_NAME) as sig:
            sig.generate_keypair_seed(seed)
            return bytes(sig.sign_with_ctx_str(message, context))

    def sig_verify(self, public_key: bytes, message: bytes, signature: bytes, context: bytes = MLDSA_CONTEXT) -> bool:
        try:
            with self._oqs.Signature(_OQS_SIG_NAME) as sig:
                return bool(sig.verify_with_ctx_str(message, signature, context, public_key))
        except Exception:
            return False


def self_test(backend: PQCBackend, reference: PQCBackend | None = None) -> bool:
    """Round-trip both algorithms; with ``reference``, also prove the encodings agree."""
    try:
        kem_seed, kem_pk = backend.kem_keygen()
        ciphertext, secret = backend.kem_encaps(kem_pk)
        kem_ok = (
            len(kem_pk) == MLKEM768_PUBLIC_KEY_LEN
            and len(ciphertext) == MLKEM768_CIPHERTEXT_LEN
            and len(secret) == MLKEM_SHARED_SECRET_LEN
            and backend.kem_decaps(kem_seed, ciphertext) == secret
        )
        sig_seed, sig_pk = backend.sig_keygen()
        message = b"zohocrm token store self-test"
        signature = backend.sig_sign(sig_seed, message)
        sig_ok = (
            len(sig_pk) == MLDSA65_PUBLIC_KEY_LEN
            and len(signature) == MLDSA65_SIGNATURE_LEN
            and backend.sig_verify(sig_pk, message, signature)
            and not backend.sig_verify(sig_pk, message + b"!", signature)
        )
        if not (kem_ok and sig_ok):
            return False
        if reference is None:
            return True
        ref_ciphertext, ref_secret = reference.kem_encaps(kem_pk)
        return (
            reference.kem_public_key(kem_seed) == kem_pk
            and backend.kem_decaps(kem_seed, ref_ciphertext) == ref_secret
            and reference.kem_decaps(kem_seed, ciphertext) == secret
            and reference.sig_public_key(sig_seed) == sig_pk
            and reference.sig_verify(sig_pk, message, signature)
            and backend.sig_verify(sig_pk, message, reference.sig_sign(sig_seed, message))
        )
    except Exception:
        return False


def _import_oqs() -> ModuleType | None:
    try:
        return importlib.import_module("oqs")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # liboqs-python calls sys.exit() when liboqs cannot be loaded
        logger.warning("%s=oqs, but liboqs-python could not be imported (%s: %s); using cryptography",
                       BACKEND_ENV_VAR, type(exc).__name__, exc)
        return None


_selected: dict[str, PQCBackend] = {}


def reset_backend_cache() -> None:
    """Forget the selected backend (tests change the environment variable)."""
    _selected.clear()


def select_backend() -> PQCBackend:
    """The backend to use, per ``ZOHOCRM_PQC_BACKEND`` (``cryptography`` when unset)."""
    choice = os.environ.get(BACKEND_ENV_VAR, "").strip().lower() or "cryptography"
    if choice in _selected:
        return _selected[choice]
    if choice not in ("cryptography", "oqs"):
        raise AuthError(
            f"{BACKEND_ENV_VAR}={choice!r} is not a post-quantum backend; expected 'cryptography' or 'oqs'",
            hint=f"unset {BACKEND_ENV_VAR} to use the default",
        )
    default = CryptographyBackend() if CryptographyBackend.available() else None
    backend: PQCBackend | None = default
    if choice == "oqs":
        oqs = _import_oqs()
        if oqs is not None:
            candidate = OqsBackend(oqs, default)
            if self_test(candidate, default):
                backend = candidate
            else:
                logger.warning("%s=oqs, but the liboqs self-test failed; using cryptography", BACKEND_ENV_VAR)
    if backend is None:
        raise AuthError(
            "the sealed token store needs ML-KEM-768 and ML-DSA-65, and this cryptography build has neither",
            hint="pip install --upgrade 'cryptography>=47', or install 'zohocrm-connector[oqs]' "
            f"and set {BACKEND_ENV_VAR}=oqs",
        )
    _selected[choice] = backend
    return backend
