//! Cipher suites (RFC 9420 §5.1, §17.1) and the algorithms each one names.

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// An MLS cipher suite identifier as it appears on the wire.
///
/// Any `u16` decodes (capability lists carry GREASE and suites we do not
/// implement); [`CipherSuite::algorithms`] says whether we can run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CipherSuite(pub u16);

#[allow(missing_docs)]
impl CipherSuite {
    pub const MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519: Self = Self(1);
    pub const MLS_128_DHKEMP256_AES128GCM_SHA256_P256: Self = Self(2);
    pub const MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_ED25519: Self = Self(3);
    pub const MLS_256_DHKEMX448_AES256GCM_SHA512_ED448: Self = Self(4);
    pub const MLS_256_DHKEMP521_AES256GCM_SHA512_P521: Self = Self(5);
    pub const MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_ED448: Self = Self(6);
    pub const MLS_256_DHKEMP384_AES256GCM_SHA384_P384: Self = Self(7);
}

/// Hash function and KDF (HKDF over it) of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

/// AEAD of a suite (RFC 9180 §7.3 identifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AeadAlgorithm {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

/// HPKE KEM of a suite (RFC 9180 §7.1 identifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum KemAlgorithm {
    DhKemP256,
    DhKemP384,
    DhKemP521,
    DhKemX25519,
    DhKemX448,
}

/// Signature scheme of a suite (RFC 8446 SignatureScheme names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SignatureAlgorithm {
    Ed25519,
    Ed448,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    EcdsaP521Sha512,
}

/// The algorithms a cipher suite names, and the sizes MLS derives from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms {
    /// The suite.
    pub suite: CipherSuite,
    /// HPKE KEM.
    pub kem: KemAlgorithm,
    /// Hash, and HKDF over it.
    pub hash: HashAlgorithm,
    /// AEAD, for MLS and for HPKE.
    pub aead: AeadAlgorithm,
    /// Signature scheme.
    pub signature: SignatureAlgorithm,
}

impl KemAlgorithm {
    /// RFC 9180 KEM identifier.
    pub fn id(self) -> u16 {
        match self {
            Self::DhKemP256 => 0x0010,
            Self::DhKemP384 => 0x0011,
            Self::DhKemP521 => 0x0012,
            Self::DhKemX25519 => 0x0020,
            Self::DhKemX448 => 0x0021,
        }
    }

    /// `Npk`, the length of an encoded public key (RFC 9180 §7.1).
    pub fn public_key_len(self) -> usize {
        match self {
            Self::DhKemP256 => 65,
            Self::DhKemP384 => 97,
            Self::DhKemP521 => 133,
            Self::DhKemX25519 => 32,
            Self::DhKemX448 => 56,
        }
    }
}

impl HashAlgorithm {
    /// Output length of the hash, `Nh` in RFC 9420 §5.
    #[allow(clippy::len_without_is_empty)] // a digest size, not a container: never empty
    pub fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

impl AeadAlgorithm {
    /// Key length `Nk`.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }
    /// Nonce length `Nn`.
    pub fn nonce_len(self) -> usize {
        12
    }
    /// Tag length.
    pub fn tag_len(self) -> usize {
        16
    }
}

impl CipherSuite {
    /// The algorithms of a suite registered in RFC 9420 §17.1, or `None` for
    /// any other value.
    pub fn algorithms(self) -> Option<Algorithms> {
        use AeadAlgorithm as A;
        use HashAlgorithm as H;
        use KemAlgorithm as K;
        use SignatureAlgorithm as S;
        let (kem, hash, aead, signature) = match self.0 {
            1 => (K::DhKemX25519, H::Sha256, A::Aes128Gcm, S::Ed25519),
            2 => (K::DhKemP256, H::Sha256, A::Aes128Gcm, S::EcdsaP256Sha256),
            3 => (K::DhKemX25519, H::Sha256, A::ChaCha20Poly1305, S::Ed25519),
            4 => (K::DhKemX448, H::Sha512, A::Aes256Gcm, S::Ed448),
            5 => (K::DhKemP521, H::Sha512, A::Aes256Gcm, S::EcdsaP521Sha512),
            6 => (K::DhKemX448, H::Sha512, A::ChaCha20Poly1305, S::Ed448),
            7 => (K::DhKemP384, H::Sha384, A::Aes256Gcm, S::EcdsaP384Sha384),
            _ => return None,
        };
        Some(Algorithms { suite: self, kem, hash, aead, signature })
    }
}

impl Encode for CipherSuite {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for CipherSuite {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}
